import { createUnionType } from 'type-graphql';
import {
  AmountExceedsHold,
  EntryNotFound,
  PointsAlreadySpent,
  ReversalExceedsRemaining,
  TransferNotAllowed,
  UnknownAsset,
  HoldClosed,
  HoldExpired,
  HoldNotFound,
  InsufficientBalance,
  instructionRejections,
  InvalidAmount,
  InvalidInput,
  InvalidPartnerKey,
  MemberLinkConflict,
  MemberLinkingNotAllowed,
  NotFound,
  PartnerAlreadyExists,
  UnknownMember,
  StatementNotFound,
  StatementDigestMismatch,
  StatementStatusConflict,
  DisputeNotFound,
  DisputeAlreadyResolved,
  FundingLimitExceeded,
  failuresOf,
  UnknownReferralCode,
  SelfReferral,
  CircularReferral,
  ReferralCapReached,
  ReferralNotEligible,
  UnknownCategory,
  PurchaseNotFound,
  ReturnExceedsPurchase,
  CampaignBudgetExhausted,
  ScopeNotAllowed,
  UnknownPartner,
} from './error-result.type';
import { KpiCampaignConnection, Kpis, KpiSettings } from './kpi.type';
import { KpiLiability, KpiMemberLift, NonMemberReport } from './kpi-trend.type';
import { ExchangeRate, PartnerContract, PartnerUnit } from './contract.type';
import { StampCard } from './stamp-card.type';
import { Partner, PersistedOperation } from './partner.type';
import {
  AcknowledgementReceipt,
  DisputeReceipt,
  EnrollReceipt,
  HoldReceipt,
  IssueReceipt,
  RedeemReceipt,
  ReversalReceipt,
  TransferReceipt,
  ActivityReceipt,
} from './receipt.type';
import { StatementDispute } from './settlement.type';
import { Campaign, EarnCategories, EarnRule } from './engine.type';

/** The failures each result can carry, listed once and used both for the union and for mapping. */
export const enrollFailures = failuresOf('enroll', [
  ...instructionRejections,
  MemberLinkConflict,
  MemberLinkingNotAllowed,
  UnknownReferralCode,
  SelfReferral,
  CircularReferral,
  ReferralCapReached,
  ReferralNotEligible,
]);
export const issueFailures = failuresOf('issue', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  UnknownAsset,
  FundingLimitExceeded,
]);
export const redeemFailures = failuresOf('redeem', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  InsufficientBalance,
  UnknownAsset,
]);
export const authorizeFailures = failuresOf('authorize', redeemFailures);
export const captureFailures = failuresOf('capture', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  InsufficientBalance,
  HoldNotFound,
  HoldClosed,
  HoldExpired,
  AmountExceedsHold,
]);
export const voidFailures = failuresOf('void', [...instructionRejections, HoldNotFound, HoldClosed, HoldExpired]);
export const transferFailures = failuresOf('transfer', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  InsufficientBalance,
  TransferNotAllowed,
]);
export const reverseFailures = failuresOf('reverse', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  EntryNotFound,
  ReversalExceedsRemaining,
  PointsAlreadySpent,
]);
export const acknowledgeFailures = failuresOf('acknowledge', [
  ...instructionRejections,
  StatementNotFound,
  StatementDigestMismatch,
  StatementStatusConflict,
]);
export const disputeFailures = failuresOf('dispute', acknowledgeFailures);
export const resolveFailures = failuresOf('resolve', [DisputeNotFound, DisputeAlreadyResolved, InvalidInput]);
export const AcknowledgeResult = createUnionType({
  name: 'AcknowledgeResult',
  types: () => [AcknowledgementReceipt, ...acknowledgeFailures] as const,
});
export const DisputeResult = createUnionType({ name: 'DisputeResult', types: () => [DisputeReceipt, ...disputeFailures] as const });
export const ResolveDisputeResult = createUnionType({
  name: 'ResolveDisputeResult',
  types: () => [StatementDispute, ...resolveFailures] as const,
});
export const partnerFailures = failuresOf('partner', [PartnerAlreadyExists, InvalidPartnerKey, InvalidInput, NotFound]);

export const EnrollResult = createUnionType({ name: 'EnrollResult', types: () => [EnrollReceipt, ...enrollFailures] as const });
export const IssueResult = createUnionType({ name: 'IssueResult', types: () => [IssueReceipt, ...issueFailures] as const });
export const RedeemResult = createUnionType({ name: 'RedeemResult', types: () => [RedeemReceipt, ...redeemFailures] as const });
export const AuthorizeResult = createUnionType({ name: 'AuthorizeResult', types: () => [HoldReceipt, ...authorizeFailures] as const });
export const CaptureResult = createUnionType({ name: 'CaptureResult', types: () => [RedeemReceipt, ...captureFailures] as const });
export const VoidResult = createUnionType({ name: 'VoidResult', types: () => [HoldReceipt, ...voidFailures] as const });
export const TransferResult = createUnionType({ name: 'TransferResult', types: () => [TransferReceipt, ...transferFailures] as const });
export const ReverseResult = createUnionType({ name: 'ReverseResult', types: () => [ReversalReceipt, ...reverseFailures] as const });
export const PartnerResult = createUnionType({ name: 'PartnerResult', types: () => [Partner, ...partnerFailures] as const });

export const settingFailures = failuresOf('setting', [NotFound, InvalidInput]);
export const ContractResult = createUnionType({ name: 'ContractResult', types: () => [PartnerContract, ...settingFailures] as const });
export const UnitResult = createUnionType({ name: 'UnitResult', types: () => [PartnerUnit, ...settingFailures] as const });
export const ExchangeRateResult = createUnionType({ name: 'ExchangeRateResult', types: () => [ExchangeRate, ...settingFailures] as const });
export const PersistedOperationResult = createUnionType({
  name: 'PersistedOperationResult',
  types: () => [PersistedOperation, ...settingFailures] as const,
});

export const activityFailures = failuresOf('activity', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  UnknownCategory,
  PurchaseNotFound,
  ReturnExceedsPurchase,
  CampaignBudgetExhausted,
  FundingLimitExceeded,
  PointsAlreadySpent,
]);
export const ActivityResult = createUnionType({ name: 'ActivityResult', types: () => [ActivityReceipt, ...activityFailures] as const });

export const EarnRuleResult = createUnionType({ name: 'EarnRuleResult', types: () => [EarnRule, ...settingFailures] as const });
export const EarnCategoriesResult = createUnionType({
  name: 'EarnCategoriesResult',
  types: () => [EarnCategories, ...settingFailures] as const,
});
export const CampaignResult = createUnionType({ name: 'CampaignResult', types: () => [Campaign, ...settingFailures] as const });
export const StampCardResult = createUnionType({ name: 'StampCardResult', types: () => [StampCard, ...settingFailures] as const });

export const kpisFailures = failuresOf('kpis', [InvalidInput, UnknownPartner, ScopeNotAllowed]);
export const KpisResult = createUnionType({ name: 'KpisResult', types: () => [Kpis, ...kpisFailures] as const });
export const KpiSettingsResult = createUnionType({ name: 'KpiSettingsResult', types: () => [KpiSettings, ...settingFailures] as const });
export const KpiCampaignsResult = createUnionType({
  name: 'KpiCampaignsResult',
  types: () => [KpiCampaignConnection, ...kpisFailures] as const,
});
export const KpiMemberLiftResult = createUnionType({ name: 'KpiMemberLiftResult', types: () => [KpiMemberLift, ...kpisFailures] as const });
export const KpiLiabilityResult = createUnionType({ name: 'KpiLiabilityResult', types: () => [KpiLiability, ...kpisFailures] as const });
export const nonMemberReportFailures = failuresOf('nonMemberReport', [InvalidInput, UnknownPartner, ScopeNotAllowed]);
export const NonMemberReportResult = createUnionType({
  name: 'NonMemberReportResult',
  types: () => [NonMemberReport, ...nonMemberReportFailures] as const,
});
