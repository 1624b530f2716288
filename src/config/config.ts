import { z } from 'zod';
import { parseTiers, type TierRule } from './tiers';
import type { RateLimitSettings } from '../common/rate-limits';

/**
 * The hub's configuration, from the environment, validated once at start-up.
 * A bad value stops the process with a message naming the variable.
 */
const jwkSchema = z.object({ kty: z.string(), kid: z.string().min(1) }).passthrough();

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  /** The running hub's connection (role coalition_hub_app); default: derived from DATABASE_URL. DATABASE_URL migrates. */
  APP_DATABASE_URL: z.string().url().optional(),
  /** A streaming replica of DATABASE_URL's database that member reads go to (docs/scaling.md); unset = everything on the primary. */
  DATABASE_READ_URL: z.string().url().optional(),
  /** Connections each hub process may open for requests (and as many on DATABASE_READ_URL): N processes open up to N times it. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  /** Where the embedded PostgreSQL keeps its data when DATABASE_URL is not set. */
  DATA_DIR: z.string().default('.data'),
  HUB_ID: z.string().min(1).max(128).default('coalition-hub'),
  /** Settlement currency of new contracts (ISO 4217). */
  DEFAULT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('EUR'),
  /** Issuer of operator and finance tokens. */
  OPERATOR_ISSUER: z.string().min(1).default('coalition-operator'),
  /** Public JWKS (JSON) whose keys sign operator and finance tokens. */
  OPERATOR_JWKS: z.string().optional(),
  /** The hub's private signing key as a JWK (JSON). Without it a key is generated once and kept in the database. */
  HUB_SIGNING_JWK: z.string().optional(),
  /** How often a running hub reads its active signing key again, so that `hub-key rotate` needs no restart. */
  HUB_KEY_REFRESH_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** How long an idle keep-alive connection stays open: longer than a load balancer's idle timeout (docs/operations.md). */
  HTTP_KEEP_ALIVE_SECONDS: z.coerce.number().int().min(1).max(290).default(65),
  INTROSPECTION: z.enum(['true', 'false']).default('true'),
  /** Coalition tiers by CP earned in the window: Name:threshold, the lowest at 0. */
  TIERS: z.string().default('Base:0,Silver:1000,Gold:5000'),
  TIER_WINDOW_DAYS: z.coerce.number().int().min(1).max(3660).default(365),
  /** How long an exchange quote may be executed. */
  QUOTE_LIFETIME_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  /** How often the server runs the expiry job; 0 turns the schedule off (npm run expire still works). */
  EXPIRY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(3600),
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Balance rows per partner/hub counter-account: more rows, less contention for a busy partner. */
  LEDGER_COUNTER_SHARDS: z.coerce.number().int().min(1).max(64).default(8),
  /** CP issues and redemptions in one database statement each (docs/ledger.md, "One statement per instruction"); `off` sends them through the TypeScript operations. */
  LEDGER_ONE_STATEMENT: z.enum(['on', 'off']).default('on'),
  /** Settlement periods: one calendar hour, day, week or month in SETTLEMENT_TIME_ZONE, closed by the scheduled job at its end. */
  SETTLEMENT_PERIOD: z.enum(['hour', 'day', 'week', 'month']).default('day'),
  SETTLEMENT_TIME_ZONE: z.string().min(1).default('UTC'),
  /** How often the server checks whether the open period is due to close; 0 turns the schedule off. */
  SETTLEMENT_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** How often the server closes pending holds past their expiry (hold.expired); 0 turns the job off (expired holds still hold nothing). */
  HOLD_EXPIRY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** How often the server announces lots whose return window has passed (points.vested); 0 turns the job off (they vest all the same). */
  VESTING_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** How often the hub closes reward entitlements left unused past their expiry, refunding per policy (docs/rewards.md); 0 turns the job off. */
  REWARD_EXPIRY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  KPI_REFRESH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Signed instructions a partner may send per second (0 = no limit), and how many more a spike may add per 10 s. */
  RATE_LIMIT_PARTNER_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(500),
  RATE_LIMIT_PARTNER_BURST: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /** GraphQL requests one client address may send per second (0 = no limit), and the extra allowed in a spike per 10 s. */
  RATE_LIMIT_IP_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  RATE_LIMIT_IP_BURST: z.coerce.number().int().min(0).max(1_000_000).default(2000),
  /** On SIGTERM/SIGINT, how long requests in flight and scheduled jobs may take to finish before they are cut. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(20),
  /** Jobs one process runs at once (webhook deliveries wait for their receiver while they run). */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** Lets webhook endpoints point at loopback, private and link-local addresses (tests, the demo); off in production: SSRF. */
  WEBHOOK_ALLOW_PRIVATE_URLS: z.enum(['true', 'false']).default('false'),
  /** How long one webhook attempt may take (connect, send, answer) before it counts as failed. */
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(120).default(10),
  /** Delays before each retry of a failed delivery, seconds, comma-separated; after the last, the delivery is dead. */
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z.string().default('5,30,120,600,1800,3600,7200,14400,28800,43200,43200,43200'),
  /** How often each hub process wakes the webhook dispatcher (which turns committed events into deliveries); 0 turns it off. */
  WEBHOOK_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** GraphiQL for browsers on GET /graphql (README, "Explore the API"); unset: on, except off when NODE_ENV=production. */
  EXPLORER: z.enum(['on', 'off']).optional(),
  CONSOLE: z.enum(['on', 'off']).default('on'),
  // --- Sandbox and test clocks (docs/sandbox.md) ---
  /** `production` marks a production hub: it refuses SANDBOX=true. Any other value (or none) is not production. */
  NODE_ENV: z.string().optional(),
  /** A sandbox hub lets operators create test clocks and attach members to them; never in production. */
  SANDBOX: z.enum(['true', 'false']).default('false'),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  appDatabaseUrl: string | undefined;
  /** Member reads go here when set (as the app role, read-only); writes, reports and settlement stay on the primary. */
  databaseReadUrl: string | undefined;
  databasePoolSize: number;
  dataDir: string;
  hubId: string;
  defaultCurrency: string;
  operatorIssuer: string;
  operatorJwks: { keys: Record<string, unknown>[] };
  hubSigningJwk: Record<string, unknown> | undefined;
  hubKeyRefreshSeconds: number;
  httpKeepAliveSeconds: number;
  introspection: boolean;
  logLevel: string;
  counterShards: number;
  oneStatementMovements: boolean;
  metricsToken: string | undefined;
  expiryIntervalSeconds: number;
  quoteLifetimeSeconds: number;
  tiers: TierRule[];
  tierWindowDays: number;
  settlementPeriod: 'hour' | 'day' | 'week' | 'month';
  settlementTimeZone: string;
  settlementIntervalSeconds: number;
  holdExpiryIntervalSeconds: number;
  vestingIntervalSeconds: number;
  rewardExpiryIntervalSeconds: number;
  /** Seconds between refreshes of the KPI rollups (docs/kpis.md); 0: not in this process. */
  kpiRefreshIntervalSeconds: number;
  rateLimits: RateLimitSettings;
  shutdownGraceSeconds: number;
  webhooks: WebhookSettings;
  jobConcurrency: number;
  /** Serve the GraphiQL explorer (EXPLORER; by default not in production). */
  explorer: boolean;
  /** Serve the consoles' web app under /console (CONSOLE; on unless `off`; docs/consoles.md). */
  console: boolean;
  /** NODE_ENV=production. */
  production: boolean;
  /** Test clocks are available (docs/sandbox.md); never true when `production` is. */
  sandbox: boolean;
}

export interface WebhookSettings {
  allowPrivateUrls: boolean;
  timeoutMs: number;
  /** Delay before retry n (n = 1, 2, …), ms; the delivery is dead once they are used up. */
  retryScheduleMs: number[];
  dispatchIntervalMs: number;
}

/** `5,30,120` → [5000, 30000, 120000]; an empty schedule means no retry. */
function parseRetrySchedule(text: string): number[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const delays = parts.map(Number);
  if (delays.some((delay) => !Number.isFinite(delay) || delay < 0 || delay > 7 * 86_400)) {
    throw new Error('invalid configuration: WEBHOOK_RETRY_SCHEDULE_SECONDS is a comma-separated list of seconds (0 to 604800)');
  }
  return delays.map((delay) => Math.round(delay * 1000));
}

function parseJson(name: string, text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`invalid configuration: ${name} is not valid JSON`);
  }
}

/** A JSON-valued variable, checked against its shape; errors name the variable. */
function parseShape<T>(name: string, schema: z.ZodType<T>, text: string | undefined): T {
  const parsed = schema.safeParse(parseJson(name, text));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${[name, ...issue.path].join('.')}: ${issue.message}`);
  throw new Error(`invalid configuration: ${problems.join('; ')}`);
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" (e.g. `DATABASE_URL= npm start` picks the embedded database).
  const given = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  const operatorJwks = parseShape('OPERATOR_JWKS', z.object({ keys: z.array(jwkSchema) }).default({ keys: [] }), env.OPERATOR_JWKS);
  // A token names its key by kid: two keys with one kid would make one of them refuse every token it signed.
  const kids = operatorJwks.keys.map((key) => String(key.kid));
  const repeated = kids.find((kid, index) => kids.indexOf(kid) !== index);
  if (repeated !== undefined)
    throw new Error(`invalid configuration: OPERATOR_JWKS has two keys with kid ${repeated}: give each key its own kid`);
  const production = env.NODE_ENV === 'production';
  const sandbox = env.SANDBOX === 'true';
  if (sandbox && production)
    throw new Error('invalid configuration: SANDBOX=true is refused when NODE_ENV=production (test clocks move members through time)');
  const hubSigningJwk = parseShape(
    'HUB_SIGNING_JWK',
    jwkSchema
      .extend({ d: z.string().min(1, 'the hub signs with it: give the private JWK (with "d")') })
      .passthrough()
      .optional(),
    env.HUB_SIGNING_JWK,
  );
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    appDatabaseUrl: env.APP_DATABASE_URL,
    databaseReadUrl: env.DATABASE_READ_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    dataDir: env.DATA_DIR,
    hubId: env.HUB_ID,
    defaultCurrency: env.DEFAULT_CURRENCY,
    operatorIssuer: env.OPERATOR_ISSUER,
    operatorJwks,
    hubSigningJwk,
    hubKeyRefreshSeconds: env.HUB_KEY_REFRESH_SECONDS,
    httpKeepAliveSeconds: env.HTTP_KEEP_ALIVE_SECONDS,
    introspection: env.INTROSPECTION === 'true',
    logLevel: env.LOG_LEVEL,
    counterShards: env.LEDGER_COUNTER_SHARDS,
    oneStatementMovements: env.LEDGER_ONE_STATEMENT === 'on',
    metricsToken: env.METRICS_TOKEN,
    expiryIntervalSeconds: env.EXPIRY_INTERVAL_SECONDS,
    quoteLifetimeSeconds: env.QUOTE_LIFETIME_SECONDS,
    tiers: parseTiers(env.TIERS),
    tierWindowDays: env.TIER_WINDOW_DAYS,
    settlementPeriod: env.SETTLEMENT_PERIOD,
    settlementTimeZone: env.SETTLEMENT_TIME_ZONE,
    settlementIntervalSeconds: env.SETTLEMENT_INTERVAL_SECONDS,
    holdExpiryIntervalSeconds: env.HOLD_EXPIRY_INTERVAL_SECONDS,
    vestingIntervalSeconds: env.VESTING_INTERVAL_SECONDS,
    rewardExpiryIntervalSeconds: env.REWARD_EXPIRY_INTERVAL_SECONDS,
    kpiRefreshIntervalSeconds: env.KPI_REFRESH_INTERVAL_SECONDS,
    rateLimits: {
      partner: { perSecond: env.RATE_LIMIT_PARTNER_PER_SECOND, burst: env.RATE_LIMIT_PARTNER_BURST },
      address: { perSecond: env.RATE_LIMIT_IP_PER_SECOND, burst: env.RATE_LIMIT_IP_BURST },
    },
    shutdownGraceSeconds: env.SHUTDOWN_GRACE_SECONDS,
    jobConcurrency: env.JOB_CONCURRENCY,
    explorer: env.EXPLORER === undefined ? !production : env.EXPLORER === 'on',
    console: env.CONSOLE === 'on',
    production,
    sandbox,
    webhooks: {
      allowPrivateUrls: env.WEBHOOK_ALLOW_PRIVATE_URLS === 'true',
      timeoutMs: Math.round(env.WEBHOOK_TIMEOUT_SECONDS * 1000),
      retryScheduleMs: parseRetrySchedule(env.WEBHOOK_RETRY_SCHEDULE_SECONDS),
      dispatchIntervalMs: env.WEBHOOK_DISPATCH_INTERVAL_MS,
    },
  };
}
