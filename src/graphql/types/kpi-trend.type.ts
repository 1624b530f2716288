import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { KpiRatio } from './kpi.type';

@InputType({ description: 'A partner\'s non-member customers in one calendar month (docs/kpis.md, "Member lift").' })
export class NonMemberReportInput {
  @Field(() => ID, {
    nullable: true,
    description: 'The reporting partner: a partner token reports for itself (leave it out or name itself); an operator names it.',
  })
  partnerId?: string | null;
  @Field({ description: 'YYYY-MM (UTC), not after the current month.' }) month!: string;
  @Field({ description: 'Non-member customers who bought in the month: a whole number, more than 0 when purchases is.' })
  customers!: string;
  @Field({ description: 'Their purchases in the month: a whole number.' }) purchases!: string;
  @Field({ description: 'The basket totals of those purchases, minor units: a whole number (0 when purchases is 0).' })
  spend!: string;
}

@ObjectType({ description: 'A non-member report as recorded; it supersedes earlier reports of its partner and month from reportedAt.' })
export class NonMemberReport {
  @Field(() => ID) partnerId!: string;
  @Field({ description: 'YYYY-MM' }) month!: string;
  @Field(() => AmountScalar) customers!: string;
  @Field(() => AmountScalar) purchases!: string;
  @Field(() => AmountScalar, { description: 'Minor units.' }) spend!: string;
  @Field(() => Date) reportedAt!: Date;
  @Field({ description: 'Who reported it: partner:ID or operator:subject.' }) reportedBy!: string;
  @Field(() => Int, { description: 'How many reports its partner and month have had, this one included.' }) version!: number;
}

@ObjectType({
  description: 'Customers, their purchases and spend, and the purchases and spend per customer (docs/kpis.md, "Member lift").',
})
export class KpiLiftFigures {
  @Field(() => AmountScalar, {
    description: 'Members: the active members (over a period: summed over its months). Non-members: the customers reported.',
  })
  customers!: string;
  @Field(() => AmountScalar) purchases!: string;
  @Field(() => AmountScalar, { description: 'Minor units.' }) spend!: string;
  @Field(() => KpiRatio, { description: 'purchases / customers' }) purchasesPerCustomer!: KpiRatio;
  @Field(() => KpiRatio, { description: 'spend / customers, minor units' }) spendPerCustomer!: KpiRatio;
}

@ObjectType({ description: "Members' purchases and spend per member against the non-members' per customer, in one month." })
export class KpiMemberLiftMonth {
  @Field({ description: 'YYYY-MM' }) month!: string;
  @Field(() => Int, { description: 'Partners whose report for the month is used (a partner: 0 or 1).' }) partnersReported!: number;
  @Field(() => Date, { nullable: true, description: 'When the latest report used was recorded; null: none.' })
  reportedAt!: Date | null;
  @Field(() => KpiLiftFigures, {
    description: "A partner: its members' figures there. The coalition: the members' figures at the partners that reported for the month.",
  })
  members!: KpiLiftFigures;
  @Field(() => KpiLiftFigures, { nullable: true, description: 'What was reported (summed over the partners); null: no report.' })
  nonMembers!: KpiLiftFigures | null;
  @Field(() => KpiRatio, {
    nullable: true,
    description: '(members − non-members) / non-members, purchases per customer: (Pm × Cn − Pn × Am) / (Pn × Am); null: no report.',
  })
  purchaseLift!: KpiRatio | null;
  @Field(() => KpiRatio, {
    nullable: true,
    description: '(members − non-members) / non-members, spend per customer: (Sm × Cn − Sn × Am) / (Sn × Am); null: no report.',
  })
  spendLift!: KpiRatio | null;
}

@ObjectType({ description: 'The lift over the months of the period that have a report, their figures summed (per customer-month).' })
export class KpiMemberLiftPeriod {
  @Field(() => Int, { description: 'Months of the period with a report.' }) monthsReported!: number;
  @Field(() => KpiLiftFigures) members!: KpiLiftFigures;
  @Field(() => KpiLiftFigures, { nullable: true, description: 'null: no month has a report.' }) nonMembers!: KpiLiftFigures | null;
  @Field(() => KpiRatio, { nullable: true }) purchaseLift!: KpiRatio | null;
  @Field(() => KpiRatio, { nullable: true }) spendLift!: KpiRatio | null;
}

@ObjectType({ description: 'Member lift against partner-reported non-member customers, as of a time (docs/kpis.md).' })
export class KpiMemberLift {
  @Field(() => ID, { nullable: true, description: 'null: the coalition.' }) partnerId!: string | null;
  @Field({ description: 'YYYY-MM' }) from!: string;
  @Field({ description: 'YYYY-MM (the last month counted: at most the month of asOf).' }) to!: string;
  @Field(() => Date) asOf!: Date;
  @Field(() => String, { nullable: true, description: 'Days before this (YYYY-MM-DD) were read from the rollup.' })
  rollupCompleteBefore!: string | null;
  @Field(() => [KpiMemberLiftMonth], { description: 'Each month of the period, in order.' }) months!: KpiMemberLiftMonth[];
  @Field(() => KpiMemberLiftPeriod) period!: KpiMemberLiftPeriod;
}

@ObjectType({ description: "The scope's CP in one month: what was issued and what left, and what was outstanding at its end (points)." })
export class KpiLiabilityMonth {
  @Field({ description: 'YYYY-MM' }) month!: string;
  @Field(() => AmountScalar, {
    description: 'CP created: issues, grants, bonuses, campaign and stamp-card points, exchanges in (not transfers).',
  })
  issued!: string;
  @Field(() => AmountScalar, { description: 'CP consumed at partners: redeemed or exchanged out, less refunded redemptions.' })
  redeemed!: string;
  @Field(() => AmountScalar, { description: 'CP that expired.' }) expired!: string;
  @Field(() => AmountScalar, { description: 'CP taken back by refunds of issues and returned purchases.' }) reversed!: string;
  @Field(() => AmountScalar, { description: 'CP outstanding at outstandingAt (what liabilityByIssuer answered then).' })
  outstanding!: string;
  @Field(() => Date, { description: "The month's end, or asOf for the month of asOf." }) outstandingAt!: Date;
  @Field(() => KpiRatio, { description: 'expired / (expired + redeemed), in the month.' }) breakageRate!: KpiRatio;
  @Field(() => KpiRatio, {
    description: 'expired / (expired + redeemed), everything up to outstandingAt (what breakageToDate answered then).',
  })
  breakageToDate!: KpiRatio;
}

@ObjectType({ description: 'The liability and breakage trend of the CP a partner issued (the coalition: all CP), as of a time.' })
export class KpiLiability {
  @Field(() => ID, { nullable: true, description: 'null: the coalition.' }) partnerId!: string | null;
  @Field({ description: 'YYYY-MM' }) from!: string;
  @Field({ description: 'YYYY-MM (the last month counted: at most the month of asOf).' }) to!: string;
  @Field(() => Date) asOf!: Date;
  @Field(() => AmountScalar, { description: 'CP outstanding when the period began.' }) openingOutstanding!: string;
  @Field(() => [KpiLiabilityMonth], { description: 'Each month of the period, in order.' }) months!: KpiLiabilityMonth[];
}
