import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Viewer } from '../common/viewer';
import type { FundingService, FundingStatus } from '../settlement/funding.service';
import type { Clock } from '../common/clock';
import { tierFor, type MemberTier, type TierService } from '../members/tiers';
import type { MemberSummaryService, SummaryPart, SummaryRequest, SummaryValue, WalletsSummary } from '../members/member-summary';
import type { Account } from '../ledger/types';
import type { Connection, LedgerQueryService, LotScope, PostingRow } from '../ledger/ledger-query.service';
import type { MemberEntity, PartnerKeyEntity } from '../db/entities';
import type { PartnerQueryService } from '../partners/partner-query.service';
import type {
  AttemptsRequest,
  DeliveriesRequest,
  DeliveryAttemptRow,
  WebhookDeliveryRow,
  WebhookEndpointService,
} from '../events/webhook-endpoints';
import type { TestClockService } from '../jobs/test-clocks.service';
import type { TestClockRow } from '../members/test-clocks';
import type { ContractPageRow, ContractRow, ContractService, HistoryRequest, RateRow, UnitRow } from '../partners/contract.service';
import type { OperationPageRequest, PersistedOperationService, RegisteredOperation } from '../partners/persisted-operations.service';
import type { ExplainRequest, ExplainService } from '../members/explain/explain.service';
import type { BalanceSummary, ExplainLine } from '../members/explain/phrasing';
import type { MemberCardsRequest, MemberStampCardRow, StampCardService } from '../engine/stamps/stamp-cards';

export interface LoaderSources {
  ledger: LedgerQueryService;
  /** The ledger reads under Member (on DATABASE_READ_URL when set; docs/scaling.md); default: `ledger`. */
  memberLedger?: LedgerQueryService;
  partners: PartnerQueryService;
  contracts: ContractService;
  tiers: TierService;
  clock: Clock;
  memberSummaries: MemberSummaryService;
  funding: FundingService;
  webhooks: WebhookEndpointService;
  /** Sandbox test clocks (docs/sandbox.md); in a hub that is not a sandbox they answer null and 0. */
  testClocks?: TestClockService;
  /** Operations registered on partners' safelists (docs/security.md, "Persisted operations"). */
  persistedOperations: PersistedOperationService;
  /** Explain a balance (docs/explain.md); on DATABASE_READ_URL when set, as the other member reads. */
  explain: ExplainService;
  /** Members' stamp cards (docs/stamp-cards.md). */
  stampCards: StampCardService;
}

/** Per-request batching: every field a list can fan out to goes through one of these. */
export function createLoaders({
  ledger,
  memberLedger = ledger,
  partners,
  contracts,
  tiers,
  funding,
  webhooks,
  memberSummaries,
  testClocks,
  persistedOperations,
  explain,
  stampCards,
}: LoaderSources) {
  // A member's balances, wallets and tier amount: every such field of a request in one statement.
  const summary = new DataLoader<SummaryRequest, SummaryValue, string>((requests) => memberSummaries.summaries(requests), {
    cacheKeyFn: ({ memberId, part }) => `${memberId}|${part}`,
  });
  const amount = (memberId: string, part: 'balance' | 'spendable' | 'earned') => summary.load({ memberId, part }) as Promise<bigint>;
  return {
    /**
     * The member a partner's reference names (null when it is not enrolled there), read in one statement
     * with the summary parts the request will ask of it: those are primed, so its fields need no statement.
     */
    memberByRef: async (partnerId: string, memberRef: string, parts: readonly SummaryPart[]): Promise<MemberEntity | null> => {
      const found = await memberSummaries.memberByRef(partnerId, memberRef, parts);
      if (!found) return null;
      for (const [part, value] of found.parts) summary.prime({ memberId: found.member.id, part }, value);
      return found.member;
    },
    webhookDeliveries: new DataLoader<DeliveriesRequest, Connection<WebhookDeliveryRow>, string>(
      (requests) => webhooks.deliveryPages(requests),
      {
        cacheKeyFn: ({ endpointId, status, page }) => `${endpointId}|${status ?? ''}|${page.first}|${page.after ?? ''}`,
      },
    ),
    webhookAttempts: new DataLoader<AttemptsRequest, Connection<DeliveryAttemptRow>, string>(
      (requests) => webhooks.attemptPages(requests),
      {
        cacheKeyFn: ({ deliveryId, page }) => `${deliveryId}|${page.first}|${page.after ?? ''}`,
      },
    ),
    funding: new DataLoader<string, FundingStatus | null>((partnerIds) => funding.status(partnerIds)),
    currentContract: new DataLoader<string, ContractRow | null>((partnerIds) => contracts.currentContracts(partnerIds)),
    contractHistory: new DataLoader<HistoryRequest, Connection<ContractPageRow>, string>((requests) => contracts.historyPages(requests), {
      cacheKeyFn: ({ partnerId, page }) => `${partnerId}|${page.first}|${page.after ?? ''}`,
    }),
    unit: new DataLoader<string, UnitRow | null>((partnerIds) => contracts.units(partnerIds)),
    currentRate: new DataLoader<string, RateRow | null>((assets) => contracts.currentRates(assets)),
    walletBalance: { load: (memberId: string) => amount(memberId, 'balance') },
    spendable: { load: (memberId: string) => amount(memberId, 'spendable') },
    memberWallets: { load: (memberId: string) => summary.load({ memberId, part: 'wallets' }) as Promise<WalletsSummary> },
    pending: new DataLoader<LotScope, bigint, string>((scopes) => memberLedger.pendingBalances(scopes), {
      cacheKeyFn: (scope) => `${scope.memberId}|${scope.issuerPartnerId ?? ''}`,
    }),
    postingsByEntry: new DataLoader<string, PostingRow[]>((entryIds) => ledger.postingsByEntry(entryIds)),
    account: new DataLoader<string, Account>((ids) => ledger.accounts(ids)),
    tier: {
      load: async (memberId: string): Promise<MemberTier> => tierFor(tiers.rules, await amount(memberId, 'earned'), tiers.windowDays),
    },
    partnerKeys: new DataLoader<string, PartnerKeyEntity[]>((partnerIds) => partners.keysByPartner(partnerIds)),
    memberTestClock: new DataLoader<string, TestClockRow | null>(async (memberIds) =>
      testClocks ? testClocks.ofMembers(memberIds) : memberIds.map(() => null),
    ),
    testClockMembers: new DataLoader<string, number>(async (clockIds) =>
      testClocks ? testClocks.memberCounts(clockIds) : clockIds.map(() => 0),
    ),
    persistedOperations: new DataLoader<OperationPageRequest, Connection<RegisteredOperation>, string>(
      (requests) => persistedOperations.operationPages(requests),
      { cacheKeyFn: ({ partnerId, page }) => `${partnerId}|${page.first}|${page.after ?? ''}` },
    ),
    explainLines: new DataLoader<ExplainRequest, Connection<ExplainLine>, string>((requests) => explain.linePages(requests), {
      cacheKeyFn: ({ memberId, identifiersOf, page }) => `${memberId}|${identifiersOf}|${page.first}|${page.after ?? ''}`,
    }),
    explainSummary: new DataLoader<string, BalanceSummary>((memberIds) => explain.summaries(memberIds)),
    memberStampCards: new DataLoader<MemberCardsRequest, Connection<MemberStampCardRow>, string>(
      (requests) => stampCards.memberCardPages(requests),
      { cacheKeyFn: ({ memberId, partnerId, page }) => `${memberId}|${partnerId ?? ''}|${page.first}|${page.after ?? ''}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface RequestContext {
  viewer: Viewer;
  loaders: Loaders;
  /** Filled in while the request runs, read by the HTTP layer for its log line. */
  telemetry: { outcome?: string };
  /** The HTTP request's id (x-request-id), also on every log line written while it runs. */
  requestId: string;
  /** The hub's logger; its lines carry the request id. */
  logger: Logger;
}
