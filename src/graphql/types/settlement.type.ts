import { ArgsType, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';

export enum PeriodStatusEnum {
  open = 'open',
  closing = 'closing',
  closed = 'closed',
}
registerEnumType(PeriodStatusEnum, {
  name: 'SettlementPeriodStatus',
  description: 'open: takes entries. closing: cut off, figures being computed. closed: figures stored, never changes.',
});

export enum StatementStatusEnum {
  issued = 'issued',
  acknowledged = 'acknowledged',
  disputed = 'disputed',
  resolved = 'resolved',
}
registerEnumType(StatementStatusEnum, { name: 'StatementStatus', description: 'issued → acknowledged | disputed → resolved.' });

export enum StatementFormatEnum {
  JSON = 'JSON',
  CSV = 'CSV',
}
registerEnumType(StatementFormatEnum, { name: 'StatementFormat' });

@ObjectType({ description: 'A settlement period. Entries belong to the period open when they were recorded.' })
export class SettlementPeriod {
  @Field(() => ID) id!: string;
  @Field() startsAt!: Date;
  @Field({ description: 'When the scheduled job closes it (finance may close it earlier).' }) endsAt!: Date;
  @Field(() => PeriodStatusEnum) status!: PeriodStatusEnum;
  @Field(() => Date, { nullable: true, description: 'When it stopped taking entries.' }) cutoffAt!: Date | null;
  @Field(() => Date, { nullable: true }) closedAt!: Date | null;
  @Field(() => String, { nullable: true }) closedBy!: string | null;
}

@ObjectType({ description: 'One kind of line in a position: how many lines, the CP they are about and their money.' })
export class PositionFigure {
  @Field(() => Int) lines!: number;
  @Field(() => AmountScalar) points!: bigint;
  @Field(() => AmountScalar, { description: 'Minor units; positive: the partner owes the hub.' }) moneyMinor!: bigint;
}

@ObjectType({ description: "A partner's position in a closed period, at the prices stored on each entry." })
export class PartnerPosition {
  @Field(() => ID) partnerId!: string;
  @Field(() => PositionFigure, { description: 'CP issued at the partner.' }) issued!: PositionFigure;
  @Field(() => PositionFigure, { description: "The partner's points exchanged into CP." }) exchangedIn!: PositionFigure;
  @Field(() => PositionFigure, { description: 'CP redeemed at the partner.' }) redeemed!: PositionFigure;
  @Field(() => PositionFigure, { description: "CP exchanged out into the partner's points." }) exchangedOut!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Refunds of issues (money: the funded value taken back).' }) issueReversals!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Refunds of redemptions.' }) redeemReversals!: PositionFigure;
  @Field(() => PositionFigure, { description: "The partner's expired points; money: its breakage share." }) breakage!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Dispute adjustments.' }) adjustments!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Prepaid partners: issue money already paid from the prepaid balance (not settled again).' })
  prefunded!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Catalogue rewards redeemed at this partner, at its declared cost (docs/rewards.md).' })
  rewards!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Unused reward entitlements refunded: their cost given back.' })
  rewardRefunds!: PositionFigure;
  @Field(() => PositionFigure, { description: 'CP the partner granted with a reason (op grant), at its issue price.' })
  granted!: PositionFigure;
  @Field(() => PositionFigure, { description: 'Referral bonuses the partner paid as the programme’s payer, at its issue price.' })
  referralBonuses!: PositionFigure;
  @Field(() => PositionFigure, {
    description: 'CP campaigns created at the partner as their funder, at its issue price (docs/loyalty-engine.md).',
  })
  campaign!: PositionFigure;
  @Field(() => AmountScalar, { description: 'Net position in minor units: positive, the partner owes the hub; negative, the hub owes it.' })
  netMinor!: bigint;
}

@ObjectType({ description: "Issuer's points consumed (redeemed or exchanged out) at consumer, net of refunds." })
export class SettlementObligation {
  @Field(() => ID) issuer!: string;
  @Field(() => ID) consumer!: string;
  @Field(() => AmountScalar) points!: bigint;
  @Field(() => AmountScalar, { description: 'Their funded value: what the issuer paid in for them, in minor units.' }) fundedMinor!: bigint;
}

@ObjectType({ description: 'Pay this much (minor units): a transfer after multilateral netting. HUB is the hub.' })
export class SettlementTransfer {
  @Field(() => Int) position!: number;
  @Field() payer!: string;
  @Field() payee!: string;
  @Field(() => AmountScalar) amountMinor!: bigint;
}

@ObjectType({ description: 'The pair view: what A owes Q and Q owes A in funded value, and the net of the two.' })
export class BilateralPosition {
  @Field(() => ID) partyA!: string;
  @Field(() => ID) partyB!: string;
  @Field(() => AmountScalar) aToBMinor!: bigint;
  @Field(() => AmountScalar) bToAMinor!: bigint;
  @Field(() => AmountScalar, { description: 'Positive: A owes B.' }) netMinor!: bigint;
}

@ObjectType({ description: "The hub's side of a closed period and the netting figures." })
export class SettlementSummary {
  @Field() currency!: string;
  @Field(() => AmountScalar) entries!: bigint;
  @Field(() => AmountScalar, { description: 'Funded value of points consumed less what the hub paid for them.' }) spreadMinor!: bigint;
  @Field(() => AmountScalar, { description: 'Funded value of expired points less issuers’ breakage shares.' }) breakageKeptMinor!: bigint;
  @Field(() => AmountScalar) adjustmentsMinor!: bigint;
  @Field(() => AmountScalar, { description: 'Spread + breakage kept + adjustments.' }) revenueMinor!: bigint;
  @Field(() => AmountScalar) fundedCreatedMinor!: bigint;
  @Field(() => AmountScalar) fundedReleasedMinor!: bigint;
  @Field(() => AmountScalar, { description: 'Change in funded liability: money held for points still outstanding.' })
  liabilityChangeMinor!: bigint;
  @Field(() => AmountScalar, {
    description: 'Issue money prepaid partners paid in advance: Σ net positions + this = revenue + liability change.',
  })
  prefundedMinor!: bigint;
  @Field(() => AmountScalar, { description: 'What would move with every line paid separately.' }) grossMinor!: bigint;
  @Field(() => AmountScalar, { description: 'What moves after netting.' }) netMinor!: bigint;
  @Field(() => Float, { description: '1 − net / gross (0 when nothing moves).' }) nettingEfficiency!: number;
}

@ObjectType({ description: 'A line of a statement: one money figure tied to one journal entry.' })
export class StatementLineType {
  @Field(() => AmountScalar) line!: string;
  @Field(() => ID) entry!: string;
  @Field(() => AmountScalar) seq!: string;
  @Field() recordedAt!: string;
  @Field() kind!: string;
  @Field(() => AmountScalar) points!: string;
  @Field(() => String, { nullable: true }) price!: string | null;
  @Field(() => AmountScalar) moneyMinor!: string;
  @Field(() => String, { nullable: true }) orderRef!: string | null;
  @Field(() => String, { nullable: true }) reference!: string | null;
}

@ObjectType({ description: "A partner's statement for a closed period, signed by the hub over the digest of its canonical form." })
export class Statement {
  @Field(() => ID) id!: string;
  @Field(() => ID) periodId!: string;
  @Field(() => ID) partnerId!: string;
  @Field() currency!: string;
  @Field(() => AmountScalar) lineCount!: bigint;
  @Field(() => AmountScalar) netMinor!: bigint;
  @Field({ description: 'SHA-256 (hex) of the canonical statement (see the partner SDK: statementDigest).' }) digest!: string;
  @Field({ description: 'The hub-signed JWS (typ coalition-statement+jwt) over the digest.' }) jws!: string;
  @Field() issuedAt!: Date;
  @Field(() => StatementStatusEnum) status!: StatementStatusEnum;
  @Field(() => String, { nullable: true, description: "The partner's JWS acknowledging the digest." }) acknowledgementJws!: string | null;
  @Field(() => Date, { nullable: true }) acknowledgedAt!: Date | null;
}

export const SettlementPeriodConnection = connectionOf(SettlementPeriod, 'SettlementPeriod');
export const PartnerPositionConnection = connectionOf(PartnerPosition, 'PartnerPosition');
export const SettlementObligationConnection = connectionOf(SettlementObligation, 'SettlementObligation');
export const SettlementTransferConnection = connectionOf(SettlementTransfer, 'SettlementTransfer');
export const BilateralPositionConnection = connectionOf(BilateralPosition, 'BilateralPosition');
export const StatementConnection = connectionOf(Statement, 'Statement');
export const StatementLineConnection = connectionOf(StatementLineType, 'StatementLine');

@ObjectType({ description: 'One check of the reconciliation and whether it held.' })
export class ReconciliationCheck {
  @Field() name!: string;
  @Field() ok!: boolean;
  @Field({ description: 'The figures compared.' }) detail!: string;
}

@ObjectType({ description: 'The reconciliation of a closed period: each check, and every difference found.' })
export class Reconciliation {
  @Field(() => ID) periodId!: string;
  @Field() ok!: boolean;
  @Field(() => [ReconciliationCheck]) checks!: ReconciliationCheck[];
  @Field(() => [String], { description: 'Empty when everything agrees.' }) differences!: string[];
}

@ArgsType()
export class StatementFilterArgs {
  @Field(() => ID, { nullable: true }) periodId?: string | null;
  @Field(() => ID, { nullable: true }) partnerId?: string | null;
  @Field(() => StatementStatusEnum, { nullable: true }) status?: StatementStatusEnum | null;
}

export enum DisputeStatusEnum {
  open = 'open',
  resolved = 'resolved',
}
registerEnumType(DisputeStatusEnum, { name: 'DisputeStatus' });

@ObjectType({ description: 'Lines of a statement a partner disputed, and how finance resolved it.' })
export class StatementDispute {
  @Field(() => ID) id!: string;
  @Field(() => ID) statementId!: string;
  @Field(() => ID) partnerId!: string;
  @Field({ description: 'The jti of the partner’s signed dispute instruction.' }) jti!: string;
  @Field(() => [AmountScalar]) lines!: string[];
  @Field() reason!: string;
  @Field() openedAt!: Date;
  @Field(() => DisputeStatusEnum) status!: DisputeStatusEnum;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => String, { nullable: true }) resolvedBy!: string | null;
  @Field(() => String, { nullable: true }) resolutionNote!: string | null;
  @Field(() => ID, { nullable: true, description: 'The adjustment entry (in the period open at the time), if money moved.' })
  adjustmentEntryId!: string | null;
}

export const StatementDisputeConnection = connectionOf(StatementDispute, 'StatementDispute');

@ObjectType({ description: "Outstanding CP of one issuer: what is owed if every point were redeemed, at the issuer's funded price." })
export class IssuerLiability {
  @Field(() => ID) issuerPartnerId!: string;
  @Field(() => AmountScalar) points!: bigint;
  @Field(() => AmountScalar, { description: 'Of which still inside a return window.' }) pendingPoints!: bigint;
  @Field(() => AmountScalar, { description: 'Of which past expiry, taken by the next expiry run.' }) expiredUnsweptPoints!: bigint;
  @Field(() => AmountScalar) fundedMinor!: bigint;
}

@ObjectType({ description: 'Outstanding CP of one issuer expiring in one month (in the settlement time zone).' })
export class ExpiryBucket {
  @Field({ description: 'YYYY-MM' }) month!: string;
  @Field(() => ID) issuerPartnerId!: string;
  @Field(() => AmountScalar) points!: bigint;
  @Field(() => AmountScalar) fundedMinor!: bigint;
  @Field(() => AmountScalar, { description: "Expected to expire unredeemed, at the issuer's breakage rate so far (rounded down)." })
  projectedBreakagePoints!: bigint;
}
export const ExpiryBucketConnection = connectionOf(ExpiryBucket, 'ExpiryBucket');

@ObjectType({ description: 'Breakage of one issuer so far.' })
export class BreakageToDate {
  @Field(() => ID) issuerPartnerId!: string;
  @Field(() => AmountScalar) expiredPoints!: bigint;
  @Field(() => AmountScalar, { description: "The issuer's breakage share paid in closed periods, minor units." }) sharePaidMinor!: bigint;
  @Field({ description: 'expired / (expired + consumed at partners), 6 decimal places.' }) breakageRate!: string;
}

@ObjectType({ description: 'An account balance as it stood at a moment, recomputed from postings.' })
export class AccountBalanceAsOf {
  @Field(() => ID) accountId!: string;
  @Field() ownerKind!: string;
  @Field() ownerId!: string;
  @Field() asset!: string;
  @Field() kind!: string;
  @Field(() => AmountScalar) balance!: bigint;
}
