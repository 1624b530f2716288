import { LedgerFoundation1732350000000 } from './1732350000000-ledger-foundation';
import { ContractsAndRates1732360000000 } from './1732360000000-contracts-and-rates';
import { Expiry1732370000000 } from './1732370000000-expiry';
import { Holds1732380000000 } from './1732380000000-holds';
import { Reversals1732390000000 } from './1732390000000-reversals';
import { Transfers1732400000000 } from './1732400000000-transfers';
import { Exchange1732410000000 } from './1732410000000-exchange';
import { PendingPoints1732420000000 } from './1732420000000-pending-points';
import { Tiers1732430000000 } from './1732430000000-tiers';
import { Spendable1732440000000 } from './1732440000000-spendable';
import { Settlement1732450000000 } from './1732450000000-settlement';
import { Funding1732460000000 } from './1732460000000-funding';
import { HubKeyRotation1732470000000 } from './1732470000000-hub-key-rotation';
import { LeastPrivilege1732470001000 } from './1732470001000-least-privilege';
import { RateLimits1732480000000 } from './1732480000000-rate-limits';
import { SettlementTransfers1732490000000 } from './1732490000000-settlement-transfers';
import { Events1732500000000 } from './1732500000000-events';
import { Webhooks1732540000000 } from './1732540000000-webhooks';
import { HoldExpiryAndVesting1732550000000 } from './1732550000000-hold-expiry-and-vesting';
import { MemberEarnedDays1732620000000 } from './1732620000000-member-earned-days';
import { WebhookEndpointStart1732690000000 } from './1732690000000-webhook-endpoint-start';
import { TestClocks1732700000000 } from './1732700000000-test-clocks';
import { PersistedOperations1732710000000 } from './1732710000000-persisted-operations';
import { MovementFunction1732730000000 } from './1732730000000-movement-function';
import { RewardsCatalogue1732760000000 } from './1732760000000-rewards-catalogue';
import { GrantsAndReferrals1732770000000 } from './1732770000000-grants-and-referrals';
import { LoyaltyEngine1732750000000 } from './1732750000000-loyalty-engine';
import { StampCards1732790000000 } from './1732790000000-stamp-cards';
import { CampaignUsageShards1732820000000 } from './1732820000000-campaign-usage-shards';
import { EngineEvents1732830000000 } from './1732830000000-engine-events';
import { BatchOutcomes1732870000000 } from './1732870000000-batch-outcomes';
import { InstructionReceipts1732870001000 } from './1732870001000-instruction-receipts';
import { KpiRollups1732800000000 } from './1732800000000-kpi-rollups';
import { CampaignHoldout1732860000000 } from './1732860000000-campaign-holdout';
import { KpiFigureBases1732840000000 } from './1732840000000-kpi-figure-bases';
import { KpiNonMemberReports1732850000000 } from './1732850000000-kpi-non-member-reports';

/** Every migration in order. Never edit one that has landed: add a new one. */
export const migrations = [
  LedgerFoundation1732350000000,
  ContractsAndRates1732360000000,
  Expiry1732370000000,
  Holds1732380000000,
  Reversals1732390000000,
  Transfers1732400000000,
  Exchange1732410000000,
  PendingPoints1732420000000,
  Tiers1732430000000,
  Spendable1732440000000,
  Settlement1732450000000,
  Funding1732460000000,
  HubKeyRotation1732470000000,
  LeastPrivilege1732470001000,
  RateLimits1732480000000,
  SettlementTransfers1732490000000,
  Events1732500000000,
  Webhooks1732540000000,
  HoldExpiryAndVesting1732550000000,
  MemberEarnedDays1732620000000,
  WebhookEndpointStart1732690000000,
  TestClocks1732700000000,
  PersistedOperations1732710000000,
  MovementFunction1732730000000,
  RewardsCatalogue1732760000000,
  GrantsAndReferrals1732770000000,
  LoyaltyEngine1732750000000,
  StampCards1732790000000,
  CampaignUsageShards1732820000000,
  EngineEvents1732830000000,
  KpiRollups1732800000000,
  KpiFigureBases1732840000000,
  KpiNonMemberReports1732850000000,
  CampaignHoldout1732860000000,
  BatchOutcomes1732870000000,
  InstructionReceipts1732870001000,
];
