import 'reflect-metadata';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import pino, { type Logger } from 'pino';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AuthService } from './auth/auth.service';
import { processTime, systemClock, type Clock } from './common/clock';
import { settlesWithin } from './common/deadline';
import type { Config } from './config/config';
import { limits } from './config/limits';
import { openHubDataSource } from './db/app-role';
import { refuseTestClockMembers } from './members/test-clocks';
import { urlOf } from './db/data-source';
import { openReadDataSource } from './db/read-data-source';
import { createLoaders, type RequestContext } from './graphql/context';
import { InstructionResolver } from './graphql/resolvers/instruction.resolver';
import { JournalEntryResolver, PostingResolver } from './graphql/resolvers/ledger.resolver';
import { MemberResolver } from './graphql/resolvers/member.resolver';
import { ExplainService } from './members/explain/explain.service';
import { PartnerResolver } from './graphql/resolvers/partner.resolver';
import { buildHubSchema } from './graphql/schema';
// After the schema module: resolvers register their Member fields in the order schema.ts imports them (the SDL's order).
import { BalanceExplanationResolver, MemberExplainResolver } from './graphql/resolvers/explain.resolver';
import { EntityReferences } from './graphql/entity-references';
import { HubMetrics } from './common/metrics';
import { currentRequestId, requestAwareLogger } from './http/request-id';
import { RateLimits } from './common/rate-limits';
import { createHttpServer } from './http/server';
import { HttpDrain } from './http/drain';
import { Probes } from './http/probes';
import { Explorer, type ExplorerHeaders } from './http/explorer';
import { ConsoleSite } from './http/console';
import { packageRoot } from './cli/package-info';
import { outcomePlugin } from './graphql/outcome-plugin';
import { costPlugin } from './graphql/cost-plugin';
import { availabilityPlugin, formatHubError, orUnavailable } from './graphql/errors-plugin';
import { inputGuardPlugin } from './graphql/input-guard';
import { supportedOperationRule } from './graphql/validation-rules';
import { DatabaseOutage } from './db/availability';
import { HubKeys } from './hub-keys/hub-keys';
import { InstructionService } from './instructions/instruction.service';
import { ReceiptStore } from './instructions/receipt-store';
import { IntegrityService } from './ledger/integrity.service';
import { ExpiryService } from './operations/expire';
import { ExchangeService } from './operations/exchange';
import { CombinedBalanceService } from './exchange/combined-balance.service';
import { ExchangeResolver } from './graphql/resolvers/exchange.resolver';
import { LedgerQueryService } from './ledger/ledger-query.service';
import { MemberQueryService } from './members/member-query.service';
import { MemberSummaryService } from './members/member-summary';
import { PartnerQueryService } from './partners/partner-query.service';
import { PartnerService } from './partners/partner.service';
import { TierService } from './members/tiers';
import { ContractService } from './partners/contract.service';
import { PartnerContractResolver, PartnerUnitResolver } from './graphql/resolvers/contract.resolver';
import { SettlementPeriodResolver, StatementResolver } from './graphql/resolvers/settlement.resolver';
import { PeriodCalendar } from './settlement/calendar';
import { FinanceQueryService } from './settlement/finance-query.service';
import { ReconciliationService } from './settlement/reconciliation.service';
import { SettlementService } from './settlement/settlement.service';
import { StatementService } from './settlement/statement.service';
import { DisputeService } from './operations/dispute';
import { LiabilityService } from './settlement/liability.service';
import { FundingService } from './settlement/funding.service';
import { FundingResolver } from './graphql/resolvers/funding.resolver';
import { LiabilityResolver } from './graphql/resolvers/liability.resolver';
import { KpiResolver } from './graphql/resolvers/kpi.resolver';
import { CampaignResultsService } from './kpis/campaign-results';
import { KpiTrendResolver } from './graphql/resolvers/kpi-trend.resolver';
import { KpiService } from './kpis/kpi.service';
import { LiabilityTrendService } from './kpis/liability-trend';
import { MemberLiftService } from './kpis/member-lift';
import { observeJob } from './common/jobs';
import { HubKeyResolver } from './graphql/resolvers/hub-key.resolver';
import { EventResolver } from './graphql/resolvers/event.resolver';
import { EventFeedService } from './events/event-feed.service';
import { JobQueue, type JobHandler } from './jobs/queue';
import { ensureScheduled, recurringTasks } from './jobs/recurring';
import { scheduledJobs, type ScheduledJobs } from './jobs/scheduled-jobs';
import { WebhookEndpointService, DELIVER_WEBHOOK_TASK } from './events/webhook-endpoints';
import { DISPATCH_BATCH, DISPATCH_WEBHOOKS_TASK, WebhookDeliveryService } from './events/webhook-delivery';
import { WebhookDeliveryResolver, WebhookEndpointResolver } from './graphql/resolvers/webhook.resolver';
import { MemberTestClockResolver, TestClockResolver } from './graphql/resolvers/test-clock.resolver';
import { GrantResolver, MemberReferralResolver } from './graphql/resolvers/grant.resolver';
import { GrantService } from './grants/grant.service';
import { ReferralService } from './referrals/referral.service';
import { TestClockService } from './jobs/test-clocks.service';
// Persisted operations and safelists (docs/security.md, "Persisted operations").
import { PersistedOperationService } from './partners/persisted-operations.service';
import { PersistedOperationResolver } from './graphql/resolvers/persisted-operation.resolver';
import { MemberEntitlementResolver, RewardResolver } from './graphql/resolvers/reward.resolver';
import { RewardCatalogue } from './rewards/catalogue';
import { EntitlementQueries } from './rewards/entitlements';
import { MemberRedemptions } from './rewards/redemption';
import { persistedOperationStore, safelistPlugin } from './graphql/persisted-operations';
import { EngineConfigService } from './engine/engine-config.service';
import type { PurchaseListener } from './engine/purchase-listeners';
import { referralPurchaseListener } from './referrals/referrals';
import { EngineResolver } from './graphql/resolvers/engine.resolver';
import { StampCardService } from './engine/stamps/stamp-cards';
import { MemberStampCardResolver, StampCardResolver } from './graphql/resolvers/stamp-card.resolver';

export interface Hub {
  url: string;
  dataSource: DataSource;
  /** Where member reads go: a pool on DATABASE_READ_URL when it is set, else `dataSource` itself. */
  readDataSource: DataSource;
  services: {
    partners: PartnerService;
    contracts: ContractService;
    instructions: InstructionService;
    integrity: IntegrityService;
    expiry: ExpiryService;
    settlement: SettlementService;
    statements: StatementService;
    reconciliation: ReconciliationService;
  };
  /** The recurring jobs on the queue (each run is callable directly too, as the tests do). */
  jobs: ScheduledJobs;
  hubKeys: HubKeys;
  logger: Logger;
  probes: Probes;
  /**
   * Stops gracefully: readiness fails, no new connection is accepted, requests in flight and a
   * scheduled job in progress finish (each within SHUTDOWN_GRACE_SECONDS), then the pool closes.
   */
  close(): Promise<void>;
}

export interface HubOptions {
  clock?: Clock;
  logger?: Logger;
  /** What the explorer's header editor starts with, for a browser on this machine (the demo: its operator token). */
  explorerHeaders?: ExplorerHeaders;
  /** Features that follow purchase activities, in their transaction (docs/loyalty-engine.md, "Purchase listeners"). */
  purchaseListeners?: readonly PurchaseListener[];
}

/** The composition root: database → services → schema → HTTP server. */
export async function startHub(config: Config, databaseUrl: string, options: HubOptions = {}): Promise<Hub> {
  const clock = options.clock ?? systemClock;
  // Every line written while a request runs carries its reqId, whichever logger was given.
  const logger = requestAwareLogger(options.logger ?? pino({ level: config.logLevel, base: { service: 'coalition-hub' } }));
  // Migrations run as the owner of `databaseUrl`; the hub itself runs as the least-privileged app role.
  const dataSource = await openHubDataSource(databaseUrl, config.appDatabaseUrl, config.databasePoolSize);
  let readDataSource = dataSource;
  const stopOnFailure: Array<() => Promise<void>> = [];
  try {
    // A database whose members live on test clocks is a sandbox's (docs/sandbox.md): only a sandbox hub runs on it.
    if (!config.sandbox) await refuseTestClockMembers(dataSource);
    // Member reads (docs/scaling.md, "Read replicas"): the replica's pool is opened as it is, no migration, no role set-up.
    if (config.databaseReadUrl)
      readDataSource = await openReadDataSource(config.databaseReadUrl, config.appDatabaseUrl, config.databasePoolSize, {
        onRetry: (reason) => logger.warn({ reason }, 'DATABASE_READ_URL: waiting for the replica to replay the hub role and database'),
      });
    const hubKeys = await HubKeys.load(dataSource, config.hubId, clock, config.hubSigningJwk, {
      refreshSeconds: config.hubKeyRefreshSeconds,
      onRefreshError: (error) => logger.warn({ err: error }, 'hub key refresh failed: signing with the key read last'),
    });
    const tiers = new TierService(config.tiers, config.tierWindowDays);
    const contracts = new ContractService(
      dataSource,
      clock,
      config.defaultCurrency,
      config.tiers.map((tier) => tier.name),
    );
    // Partners' keys are kept in memory; every hub process on the database drops them on each change (LISTEN/NOTIFY).
    const partners = new PartnerService(dataSource, contracts, { listenUrl: urlOf(dataSource), logger });
    await partners.start();
    stopOnFailure.push(() => partners.close());
    const persistedOperations = new PersistedOperationService(dataSource, partners);
    const partnerQueries = new PartnerQueryService(dataSource);
    const metrics = new HubMetrics();
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    metrics.observePool(() => pool);
    const rateLimits = new RateLimits(pool, config.rateLimits);
    const partnerRateLimit = async (partnerId: string, count = 1) => {
      const retryAfterSeconds = await rateLimits.partner(partnerId, count);
      if (retryAfterSeconds !== undefined) {
        metrics.limited('partner');
        logger.warn({ scope: 'partner', partnerId, retryAfterSeconds }, 'rate limited');
      }
      return retryAfterSeconds;
    };
    const receipts = config.oneStatementMovements
      ? new ReceiptStore(dataSource, (error, count) =>
          logger.warn({ err: error, count }, 'receipts not stored: they are signed again when asked for'),
        )
      : undefined;
    const stampCards = new StampCardService(dataSource, clock);
    const instructions = new InstructionService(
      dataSource,
      partners,
      hubKeys,
      clock,
      config.counterShards,
      contracts,
      tiers,
      partnerRateLimit,
      config.sandbox,
      receipts,
      // Stamp cards count purchases (docs/stamp-cards.md), a referee's first purchase pays the referral bonuses; then any listeners the caller adds.
      [stampCards.listener(), referralPurchaseListener, ...(options.purchaseListeners ?? [])],
    );
    const ledger = new LedgerQueryService(dataSource, clock);
    // Everything under Member (balance, available, pending, tier, lots, history, combinedBalance), whoever asks.
    const memberLedger = readDataSource === dataSource ? ledger : new LedgerQueryService(readDataSource, clock);
    const integrity = new IntegrityService(dataSource, clock);
    const expiry = new ExpiryService(dataSource, contracts, clock, config.counterShards);
    const testClocks = new TestClockService(dataSource, clock, config.sandbox, expiry);
    const exchange = new ExchangeService(dataSource, contracts, hubKeys, clock, config.counterShards, config.quoteLifetimeSeconds);
    const combined = new CombinedBalanceService();
    // Member reads (docs/scaling.md): on the replica when DATABASE_READ_URL is set.
    const memberSummaries = new MemberSummaryService(readDataSource, tiers, clock, config.sandbox);
    const auth = new AuthService(config, partners, clock);
    const statements = new StatementService(dataSource, hubKeys, clock, config.hubId);
    const settlement = new SettlementService(
      dataSource,
      clock,
      new PeriodCalendar(config.settlementPeriod, config.settlementTimeZone),
      config.defaultCurrency,
      statements,
      config.counterShards,
    );
    await settlement.alignSchedule();
    const finance = new FinanceQueryService(dataSource);
    const funding = new FundingService(dataSource, contracts, clock, config.counterShards);
    const reconciliation = new ReconciliationService(dataSource, finance, statements);
    const webhooks = new WebhookEndpointService(dataSource, config.webhooks.allowPrivateUrls);
    const webhookDelivery = new WebhookDeliveryService(dataSource, hubKeys, config.webhooks, metrics);
    const memberQueries = new MemberQueryService(readDataSource);
    const explain = new ExplainService(readDataSource, clock);
    const entitlements = new EntitlementQueries(dataSource);
    const referrals = new ReferralService(dataSource, clock);
    // Members' stamp cards are member reads: on the replica when there is one.
    const memberStampCards = readDataSource === dataSource ? stampCards : new StampCardService(readDataSource, clock);
    const jobs = scheduledJobs({
      dataSource,
      clock,
      expiry,
      settlement,
      intervals: {
        expiry: config.expiryIntervalSeconds,
        settlementClose: config.settlementIntervalSeconds,
        holdExpiry: config.holdExpiryIntervalSeconds,
        vesting: config.vestingIntervalSeconds,
        rewardExpiry: config.rewardExpiryIntervalSeconds,
        kpiRefresh: config.kpiRefreshIntervalSeconds,
      },
      counterShards: config.counterShards,
      onKpiRefresh: (run) => metrics.kpiRefreshed(run.completeBefore),
    });
    // refreshKpis runs the job's work by hand, counted like a run of the job.
    const refreshKpisNow = () =>
      observeJob(
        metrics,
        jobs.kpiRefresh.metric,
        () => jobs.kpiRefresh.run(),
        (run) => jobs.kpiRefresh.report(run),
      );
    const schema = await buildHubSchema(
      [
        new InstructionResolver(instructions, ledger),
        new MemberResolver(memberQueries, memberLedger, tiers),
        new JournalEntryResolver(ledger, integrity, expiry),
        new PostingResolver(),
        new PartnerResolver(partners, partnerQueries),
        new PartnerContractResolver(contracts),
        new PartnerUnitResolver(),
        new ExchangeResolver(exchange, combined),
        new SettlementPeriodResolver(settlement, finance, reconciliation),
        new FundingResolver(funding),
        new LiabilityResolver(new LiabilityService(dataSource), clock, config.settlementTimeZone),
        new StatementResolver(finance, statements, new DisputeService(dataSource, clock, config.counterShards)),
        new HubKeyResolver(hubKeys),
        new EventResolver(new EventFeedService(dataSource)),
        new WebhookEndpointResolver(webhooks),
        new WebhookDeliveryResolver(),
        new TestClockResolver(testClocks),
        new MemberTestClockResolver(),
        new PersistedOperationResolver(persistedOperations),
        new MemberExplainResolver(),
        new BalanceExplanationResolver(),
        new RewardResolver(
          new RewardCatalogue(dataSource, clock, tiers, config.defaultCurrency),
          new MemberRedemptions(dataSource, clock, tiers, config.counterShards),
          entitlements,
          instructions,
        ),
        new MemberEntitlementResolver(entitlements),
        new GrantResolver(instructions, new GrantService(dataSource, clock), referrals),
        new MemberReferralResolver(referrals),
        new EngineResolver(new EngineConfigService(dataSource, clock)),
        new StampCardResolver(stampCards),
        new KpiResolver(
          new KpiService(readDataSource, metrics, dataSource, { rules: config.tiers, windowDays: config.tierWindowDays }),
          new CampaignResultsService(readDataSource),
          dataSource,
          clock,
          refreshKpisNow,
        ),
        new KpiTrendResolver(
          new MemberLiftService(dataSource, readDataSource, metrics),
          new LiabilityTrendService(readDataSource, metrics),
          clock,
        ),
        new MemberStampCardResolver(),
      ],
      // Federation (docs/federation.md): other subgraphs reach members and partners as their direct queries do.
      new EntityReferences(memberQueries, partnerQueries).resolvers(),
      { publicSdl: config.introspection },
    );
    const outage = new DatabaseOutage(logger, () => metrics.databaseUnavailable());
    outage.watch(dataSource);
    // Depth, aliases and directives from graphql-armor (validation rules). Its cost limit and token
    // limit stay off: costPlugin is the one cost limit (it sees page sizes from variables and
    // defaults), and Apollo's parseOptions.maxTokens limits tokens while parsing, once.
    const armor = new ApolloArmor({
      maxDepth: { n: limits.queryDepthMax },
      costLimit: { enabled: false },
      maxAliases: { n: limits.queryAliasesMax },
      maxTokens: { enabled: false },
      maxDirectives: { n: 10 },
      blockFieldSuggestion: { enabled: !config.introspection },
    }).protect();
    const apollo = new ApolloServer<RequestContext>({
      schema,
      introspection: config.introspection,
      // Plain GET queries (GraphQL-over-HTTP). Apollo's CSRF check guards cookie sessions; this hub
      // authenticates by bearer header or by a signed instruction only, which a cross-site page cannot send.
      csrfPrevention: false,
      // The hub stops itself (close() below): Apollo's own handler would re-send the signal and kill requests in flight.
      stopOnTerminationSignals: false,
      ...armor,
      parseOptions: { maxTokens: limits.queryTokensMax },
      // Documents by id: only the safelists' (the SDK's and registered ones); nothing is learnt from requests.
      persistedQueries: { cache: persistedOperationStore(persistedOperations) },
      validationRules: [...armor.validationRules, supportedOperationRule],
      plugins: [
        ...armor.plugins,
        safelistPlugin(persistedOperations, metrics, outage),
        inputGuardPlugin(),
        costPlugin(limits.queryCostMax),
        availabilityPlugin(outage),
        ApolloServerPluginLandingPageDisabled(),
        // Apollo turns on federated inline tracing for a subgraph; its traces (timings, errors) are not for every caller.
        ApolloServerPluginInlineTraceDisabled(),
        outcomePlugin(metrics),
      ],
      formatError: formatHubError(logger),
    });
    await apollo.start();
    const probes = new Probes(dataSource, readDataSource === dataSource ? undefined : readDataSource);
    const server = createHttpServer({
      apollo,
      dataSource,
      probes,
      logger,
      metrics,
      metricsToken: config.metricsToken,
      rateLimits,
      explorer: config.explorer ? new Explorer(options.explorerHeaders) : undefined,
      console: config.console ? new ConsoleSite(join(packageRoot(), 'dist', 'console')) : undefined,
      jwks: () => hubKeys.jwks(),
      persistedDocument: (id) => persistedOperations.builtInDocument(id),
      createContext: async (authorization, telemetry) => ({
        viewer: await orUnavailable(() => auth.authenticate(authorization), outage),
        loaders: createLoaders({
          ledger,
          memberLedger,
          partners: partnerQueries,
          contracts,
          tiers,
          clock,
          funding,
          webhooks,
          memberSummaries,
          testClocks,
          persistedOperations,
          explain,
          stampCards: memberStampCards,
        }),
        telemetry,
        requestId: currentRequestId() ?? 'none',
        logger,
      }),
    });
    // Node closes a keep-alive connection idle for 5 s by default: a client (or a load balancer) that sends on it
    // just then gets a connection reset. Idle connections stay open longer than a balancer's usual 60 s instead, and
    // the headers of a request on one may take a second more (Node's advice: headersTimeout above keepAliveTimeout).
    server.keepAliveTimeout = config.httpKeepAliveSeconds * 1000;
    server.headersTimeout = config.httpKeepAliveSeconds * 1000 + 1000;
    const drain = new HttpDrain(server);
    metrics.observeRequestsInFlight(() => drain.requestsInFlight);
    await new Promise<void>((done) => server.listen(config.port, config.host, done));
    const recurring = [jobs.expiry, jobs.settlementClose, jobs.holdExpiry, jobs.vesting, jobs.rewardExpiry, jobs.kpiRefresh];
    // Every task the job queue runs in this process, by name (docs/operations.md, "Jobs").
    const tasks: Record<string, JobHandler> = {
      ...recurringTasks(recurring, logger, metrics),
      // Committed events → deliveries; a full batch means more are waiting: go on at once.
      [DISPATCH_WEBHOOKS_TASK]: async (_payload, helpers) => {
        if ((await webhookDelivery.dispatch()) === DISPATCH_BATCH)
          await helpers.addJob(DISPATCH_WEBHOOKS_TASK, {}, { jobKey: DISPATCH_WEBHOOKS_TASK, jobKeyMode: 'replace' });
      },
      [DELIVER_WEBHOOK_TASK]: async (payload) => webhookDelivery.deliver(String((payload as { deliveryId: string }).deliveryId)),
    };
    const queue = await JobQueue.start({ connectionString: urlOf(dataSource), tasks, logger, concurrency: config.jobConcurrency });
    // Each process wakes the dispatcher on its own timer; the job key keeps one such job queued for all of them.
    const dispatchWaker =
      config.webhooks.dispatchIntervalMs > 0
        ? setInterval(() => {
            queue
              .add(DISPATCH_WEBHOOKS_TASK, {}, { jobKey: DISPATCH_WEBHOOKS_TASK, jobKeyMode: 'preserve_run_at' })
              .catch((error: unknown) => logger.warn({ err: error }, 'could not wake the webhook dispatcher'));
          }, config.webhooks.dispatchIntervalMs).unref()
        : undefined;
    await ensureScheduled(queue, recurring).catch(async (error: unknown) => {
      clearInterval(dispatchWaker);
      await queue.stop();
      throw error;
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://${config.host}:${port}`,
      dataSource,
      readDataSource,
      services: { partners, contracts, instructions, integrity, expiry, settlement, statements, reconciliation },
      jobs,
      hubKeys,
      logger,
      probes,
      async close() {
        probes.startDraining();
        clearInterval(dispatchWaker);
        // One deadline for requests and jobs together, so a stop takes the grace period, not twice it.
        const deadline = processTime.ms() + config.shutdownGraceSeconds * 1000;
        // The queue takes no new job and resolves once the jobs running here have finished: the pool closes after it.
        const running = queue.stop();
        const { cut } = await drain.drain(Math.max(0, deadline - processTime.ms()));
        if (cut > 0)
          logger.warn({ cut, graceSeconds: config.shutdownGraceSeconds }, 'requests still running at the end of the grace period were cut');
        if (!(await settlesWithin(running, Math.max(0, deadline - processTime.ms()))))
          logger.warn('a scheduled job was still running at the end of the grace period: its transaction is rolled back');
        await receipts?.flush();
        hubKeys.close();
        await partners.close();
        await apollo.stop();
        // A request cut at the deadline may still hold a connection in a query; the pool does not wait for it long.
        if (!(await settlesWithin(dataSource.destroy(), 5000)))
          logger.warn('the database pool did not close within 5 s: its connections end with the process');
        if (readDataSource !== dataSource && !(await settlesWithin(readDataSource.destroy(), 5000)))
          logger.warn('the read pool did not close within 5 s: its connections end with the process');
      },
    };
  } catch (error) {
    for (const stop of stopOnFailure) await stop();
    if (readDataSource !== dataSource) await readDataSource.destroy().catch(() => undefined);
    await dataSource.destroy();
    throw error;
  }
}
