import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Client } from 'pg';
import pino, { type Logger } from 'pino';
import { generatePartnerKey, PartnerClient, signAccessToken, type PartnerAlgorithm, type PartnerKey } from '@coalition-hub/partner-sdk';
import { startHub, type Hub, type HubOptions } from '../../src/app';
import type { Clock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/config';
import type { ExplorerHeaders } from '../../src/http/explorer';
import { createTestDatabase, dropTestDatabase } from './database';

export const HUB_ID = 'coalition-hub-test';
export const OPERATOR_ISSUER = 'coalition-operator';

/** A movable clock for tests of expiry and time windows. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface GraphqlResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface TestPartner {
  id: string;
  key: PartnerKey;
  client: PartnerClient;
}

/**
 * A running hub on its own fresh database (real migrations, real PostgreSQL), an operator key,
 * and helpers to register partners that then talk to the hub through the real partner SDK.
 */
export class TestHub {
  private constructor(
    public hub: Hub,
    readonly databaseName: string,
    private readonly operatorKey: { kid: string; alg: 'EdDSA'; privateKey: CryptoKey },
    readonly clock: TestClock,
    /** The environment the hub was started with, and its database (as the migrating owner). */
    private readonly started: { env: Record<string, string>; databaseUrl: string; logger: Logger },
  ) {}

  /**
   * `databaseUrl`: a database the test made itself (e.g. on a server of its own, as the owner);
   * the hub migrates it and stop() leaves it to the test. Default: a fresh clone of the template.
   */
  static async start(
    options: {
      logger?: Logger;
      env?: Record<string, string>;
      databaseUrl?: string;
      explorerHeaders?: ExplorerHeaders;
      purchaseListeners?: HubOptions['purchaseListeners'];
    } = {},
  ): Promise<TestHub> {
    const database = options.databaseUrl ? { name: '', url: options.databaseUrl } : await createTestDatabase();
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = 'operator-test';
    const env: Record<string, string> = {
      PORT: '0',
      HUB_ID,
      OPERATOR_ISSUER,
      OPERATOR_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' }] }),
      LOG_LEVEL: 'silent',
      // Tests run expiry themselves (runExpiry), at the times they choose.
      EXPIRY_INTERVAL_SECONDS: '0',
      // …and close settlement periods themselves.
      SETTLEMENT_INTERVAL_SECONDS: '0',
      // …and the hold-expiry and vesting jobs (hub.jobs.holdExpiry.run(), hub.jobs.vesting.run()).
      HOLD_EXPIRY_INTERVAL_SECONDS: '0',
      VESTING_INTERVAL_SECONDS: '0',
      // …and the reward-expiry job (hub.jobs.rewardExpiry.run()).
      REWARD_EXPIRY_INTERVAL_SECONDS: '0',
      // …and the KPI refresh (refreshKpis, or hub.jobs.kpiRefresh.run()).
      KPI_REFRESH_INTERVAL_SECONDS: '0',
      // …and webhook dispatch is off unless a test turns it on (its queries would mix with theirs).
      WEBHOOK_DISPATCH_INTERVAL_MS: '0',
      ...options.env,
    };
    const clock = new TestClock();
    const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const hub = await startHub(loadConfig(env), database.url, {
      clock,
      logger,
      explorerHeaders: options.explorerHeaders,
      purchaseListeners: options.purchaseListeners,
    });
    return new TestHub(hub, database.name, { kid, alg: 'EdDSA', privateKey }, clock, { env, databaseUrl: database.url, logger });
  }

  /** The database's URL as its owner (what the CLI and migrations use). */
  get databaseUrl(): string {
    return this.started.databaseUrl;
  }

  /**
   * Plain SQL as the database's owner (what a psql session of the operator could do), around the
   * hub, which itself runs as a role with far fewer rights.
   */
  async ownerQuery<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.started.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /**
   * Waits until the events feed shows every event stored: it holds an event back while any older
   * writing transaction on the server is still open (docs/events.md), and other test files share the server.
   */
  async feedCaughtUp(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [row] = await this.ownerQuery<{ held: number }>(
        'SELECT count(*)::int AS held FROM event WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())',
      );
      if (row!.held === 0) return;
      if (Date.now() > deadline) throw new Error(`${row!.held} events still held back after 20 s`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  /** Stops the hub and starts it again on the same database, with `env` changed; a new port. */
  async restart(env: Record<string, string> = {}): Promise<void> {
    if (!this.closed) await this.hub.close();
    this.closed = true;
    this.started.env = { ...this.started.env, ...env };
    this.hub = await startHub(loadConfig(this.started.env), this.started.databaseUrl, { clock: this.clock, logger: this.started.logger });
    this.closed = false;
  }

  /**
   * A second hub on the same database and clock (as a second process of one deployment would be),
   * with `env` changed; the caller closes it (before stop()).
   */
  startAnother(env: Record<string, string> = {}): Promise<Hub> {
    return startHub(loadConfig({ ...this.started.env, ...env }), this.started.databaseUrl, {
      clock: this.clock,
      logger: this.started.logger,
    });
  }

  /** True while a restart that failed left no hub running. */
  private closed = false;

  get url(): string {
    return this.hub.url;
  }

  /** Signed on the hub's clock, so it stays valid after a test moves that clock. */
  operatorToken(scope: 'operator' | 'finance' = 'operator'): Promise<string> {
    return signAccessToken({
      issuer: OPERATOR_ISSUER,
      subject: 'test-operator',
      scope,
      audience: HUB_ID,
      key: this.operatorKey,
      now: this.clock.now(),
    });
  }

  /** A query or mutation with a finance (or operator) token that must succeed: GraphQL errors throw. */
  async asStaff<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown> = {},
    scope: 'operator' | 'finance' = 'finance',
  ): Promise<T> {
    const response = await this.graphql<T>(query, variables, await this.operatorToken(scope));
    if (response.errors) throw new Error(JSON.stringify(response.errors));
    return response.data!;
  }

  /** A member token signed by `partner` on the hub's clock. */
  memberToken(partner: TestPartner, memberRef: string): Promise<string> {
    return signAccessToken({
      issuer: partner.id,
      subject: memberRef,
      scope: 'member',
      audience: HUB_ID,
      key: partner.key,
      now: this.clock.now(),
    });
  }

  async graphql<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphqlResponse<T>> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: GraphqlResponse['errors'] };
    return { status: response.status, ...body };
  }

  /**
   * Registers a partner through the operator API and returns an SDK client signing as it. Test
   * partners may link members by hash unless told otherwise.
   */
  async registerPartner(id: string, alg: PartnerAlgorithm = 'EdDSA', options: { canLinkMembers?: boolean } = {}): Promise<TestPartner> {
    const key = await generatePartnerKey(alg);
    const result = await this.graphql(
      `mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename ... on Partner { id } ... on ErrorResult { errorCode message } } }`,
      { input: { id, name: `${id} Ltd`, publicJwks: [key.publicJwk], canLinkMembers: options.canLinkMembers ?? true } },
      await this.operatorToken(),
    );
    if (result.data?.registerPartner?.__typename !== 'Partner') throw new Error(`could not register ${id}: ${JSON.stringify(result)}`);
    return { id, key, client: this.clientFor(id, key) };
  }

  clientFor(partnerId: string, key: PartnerKey): PartnerClient {
    return new PartnerClient({ baseUrl: this.url, hubId: HUB_ID, partnerId, key });
  }

  /** Invariants 1 and 2 of docs/ledger.md, as finance would run them. */
  async integrity(): Promise<{ ok: boolean; differences: unknown[] }> {
    const result = await this.graphql(
      '{ ledgerIntegrity { ok differences { check subject expected actual } } }',
      {},
      await this.operatorToken('finance'),
    );
    return result.data?.ledgerIntegrity;
  }

  /** Every e2e file ends here: the ledger must balance, then the database goes. */
  async stop(): Promise<void> {
    try {
      const report = await this.integrity();
      if (!report.ok) throw new Error(`ledger integrity failed: ${JSON.stringify(report.differences)}`);
    } finally {
      await this.hub.close();
      if (this.databaseName) await dropTestDatabase(this.databaseName);
    }
  }
}
