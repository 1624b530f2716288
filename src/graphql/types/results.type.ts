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
} from './error-result.type';
import { ExchangeRate, PartnerContract, PartnerUnit } from './contract.type';
import { Partner } from './partner.type';
import {
  AcknowledgementReceipt,
  DisputeReceipt,
  EnrollReceipt,
  HoldReceipt,
  IssueReceipt,
  RedeemReceipt,
  ReversalReceipt,
  TransferReceipt,
} from './receipt.type';
import { StatementDispute } from './settlement.type';

/** The failures each result can carry, listed once and used both for the union and for mapping. */
export const enrollFailures = [...instructionRejections, MemberLinkConflict, MemberLinkingNotAllowed] as const;
export const issueFailures = [...instructionRejections, InvalidAmount, UnknownMember, UnknownAsset, FundingLimitExceeded] as const;
export const redeemFailures = [...instructionRejections, InvalidAmount, UnknownMember, InsufficientBalance, UnknownAsset] as const;
export const authorizeFailures = redeemFailures;
export const captureFailures = [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  InsufficientBalance,
  HoldNotFound,
  HoldClosed,
  HoldExpired,
  AmountExceedsHold,
] as const;
export const voidFailures = [...instructionRejections, HoldNotFound, HoldClosed, HoldExpired] as const;
export const transferFailures = [...instructionRejections, InvalidAmount, UnknownMember, InsufficientBalance, TransferNotAllowed] as const;
export const reverseFailures = [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  EntryNotFound,
  ReversalExceedsRemaining,
  PointsAlreadySpent,
] as const;
export const acknowledgeFailures = [...instructionRejections, StatementNotFound, StatementDigestMismatch, StatementStatusConflict] as const;
export const disputeFailures = acknowledgeFailures;
export const resolveFailures = [DisputeNotFound, DisputeAlreadyResolved, InvalidInput] as const;
export const AcknowledgeResult = createUnionType({
  name: 'AcknowledgeResult',
  types: () => [AcknowledgementReceipt, ...acknowledgeFailures] as const,
});
export const DisputeResult = createUnionType({ name: 'DisputeResult', types: () => [DisputeReceipt, ...disputeFailures] as const });
export const ResolveDisputeResult = createUnionType({
  name: 'ResolveDisputeResult',
  types: () => [StatementDispute, ...resolveFailures] as const,
});
export const partnerFailures = [PartnerAlreadyExists, InvalidPartnerKey, InvalidInput, NotFound] as const;

export const EnrollResult = createUnionType({ name: 'EnrollResult', types: () => [EnrollReceipt, ...enrollFailures] as const });
export const IssueResult = createUnionType({ name: 'IssueResult', types: () => [IssueReceipt, ...issueFailures] as const });
export const RedeemResult = createUnionType({ name: 'RedeemResult', types: () => [RedeemReceipt, ...redeemFailures] as const });
export const AuthorizeResult = createUnionType({ name: 'AuthorizeResult', types: () => [HoldReceipt, ...authorizeFailures] as const });
export const CaptureResult = createUnionType({ name: 'CaptureResult', types: () => [RedeemReceipt, ...captureFailures] as const });
export const VoidResult = createUnionType({ name: 'VoidResult', types: () => [HoldReceipt, ...voidFailures] as const });
export const TransferResult = createUnionType({ name: 'TransferResult', types: () => [TransferReceipt, ...transferFailures] as const });
export const ReverseResult = createUnionType({ name: 'ReverseResult', types: () => [ReversalReceipt, ...reverseFailures] as const });
export const PartnerResult = createUnionType({ name: 'PartnerResult', types: () => [Partner, ...partnerFailures] as const });

export const settingFailures = [NotFound, InvalidInput] as const;
export const ContractResult = createUnionType({ name: 'ContractResult', types: () => [PartnerContract, ...settingFailures] as const });
export const UnitResult = createUnionType({ name: 'UnitResult', types: () => [PartnerUnit, ...settingFailures] as const });
export const ExchangeRateResult = createUnionType({ name: 'ExchangeRateResult', types: () => [ExchangeRate, ...settingFailures] as const });
