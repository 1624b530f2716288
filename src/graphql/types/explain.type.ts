import { Field, ID, ObjectType } from 'type-graphql';
import type { Page } from '../../ledger/ledger-query.service';
import type { EntryType } from '../../ledger/entry-types';
import { AmountScalar } from '../scalars';
import { EntryTypeEnum } from './ledger.type';

@ObjectType({ description: 'A lot an explained entry moved in the member’s CP wallet.' })
export class BalanceLineLot {
  @Field(() => ID) lotId!: string;
  @Field({ description: 'credited (the entry made this lot), taken (it took points out of it) or returned (it gave points back).' })
  role!: string;
  @Field() issuerPartnerId!: string;
  @Field() issuerName!: string;
  @Field(() => AmountScalar, { description: 'What this entry moved in or out of the lot (positive).' }) amount!: bigint;
  @Field(() => AmountScalar, { description: 'What is left in the lot now.' }) remaining!: bigint;
  @Field() issuedAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => Date, { nullable: true }) vestsAt!: Date | null;
}

@ObjectType({ description: 'A rule or campaign that contributed to an entry, as the loyalty engine recorded it.' })
export class BalanceContribution {
  @Field(() => String, { nullable: true, description: 'rule or campaign (as recorded).' }) source!: string | null;
  @Field() name!: string;
  @Field(() => String, { nullable: true }) version!: string | null;
  @Field(() => String, { nullable: true, description: 'The points it contributed, as recorded.' }) points!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@ObjectType({ description: 'A change to one of the member’s wallets made by an entry.' })
export class BalanceMovement {
  @Field() asset!: string;
  @Field(() => AmountScalar, { description: 'Signed: positive into the wallet.' }) amount!: bigint;
}

@ObjectType({ description: 'One journal entry of the member, in words and as fields (docs/explain.md).' })
export class BalanceLine {
  @Field(() => ID) entryId!: string;
  @Field(() => EntryTypeEnum) type!: EntryType;
  @Field({
    description:
      'What happened, in plain words: deterministic (UTC dates, thousands separators), e.g. "+120 CP from Coffee Corp on 3 Nov 2026 (order A-17), expires 3 Nov 2028".',
  })
  sentence!: string;
  @Field(() => AmountScalar, {
    description:
      'The entry’s effect on the CP balance, signed ("0" for a move of a partner’s own unit only). Over all lines they add up to the balance.',
  })
  amount!: bigint;
  @Field(() => [BalanceMovement], { description: 'What it did to each of the member’s wallets (CP and partner units).' })
  movements!: BalanceMovement[];
  @Field() partnerId!: string;
  @Field() partnerName!: string;
  @Field() occurredAt!: Date;
  @Field() recordedAt!: Date;
  @Field(() => String, { nullable: true, description: 'Shown for entries of the partner that signed the member token only.' })
  orderRef!: string | null;
  @Field(() => Date, { nullable: true, description: 'The earliest expiry of the lots this entry credited.' }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When points this entry credited vest (issued pending).' }) vestsAt!: Date | null;
  @Field(() => ID, { nullable: true }) reversesEntryId!: string | null;
  @Field(() => [BalanceLineLot], { description: 'Lots credited, taken from or given back to, with their issuer and dates.' })
  lots!: BalanceLineLot[];
  @Field(() => [BalanceContribution], { description: 'The rules and campaigns behind the points, when the entry recorded them.' })
  contributions!: BalanceContribution[];
}

@ObjectType({ description: 'The top of an explanation, at the member’s now.' })
export class BalanceSummary {
  @Field(() => AmountScalar, { description: 'The CP balance: the sum of every line’s amount.' }) balance!: bigint;
  @Field(() => AmountScalar, { description: 'CP still pending (issued in a return window).' }) pending!: bigint;
  @Field(() => AmountScalar, { description: 'CP whose lots expire by expiringBy (those past expiry, not swept yet, included).' })
  expiringSoon!: bigint;
  @Field({ description: '30 days from now.' }) expiringBy!: Date;
  @Field({ description: 'e.g. "Balance 1,250 CP; 30 CP pending; 120 CP expire by 27 Dec 2026."' }) sentence!: string;
}

@ObjectType({ description: 'A line and its cursor.' })
export class BalanceLineEdge {
  @Field() cursor!: string;
  @Field(() => BalanceLine) node!: BalanceLine;
}

@ObjectType({
  description:
    'Where the member’s points came from and went: a Relay connection of lines, newest first, with a summary at the top (docs/explain.md).',
})
export class BalanceExplanation {
  /** Which member and page: edges, pageInfo and summary are read through the request's loaders. */
  memberId!: string;
  identifiersOf!: string;
  page!: Page;
}
