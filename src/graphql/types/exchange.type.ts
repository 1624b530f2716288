import { createUnionType, Field, ID, ObjectType } from 'type-graphql';
import { AmountScalar, DecimalScalar } from '../scalars';
import {
  ExchangeNotAllowed,
  FundingLimitExceeded,
  InsufficientBalance,
  InvalidAmount,
  InvalidQuote,
  PartnerSuspended,
  QuoteExpired,
  UnknownAsset,
  UnknownMember,
  failuresOf,
} from './error-result.type';

@ObjectType({
  description: 'A hub-signed quote: execute it with exchangePoints before expiresAt; its rates apply even if rates change meanwhile.',
})
export class ExchangeQuote {
  @Field({ description: 'The signed quote (compact JWS) to pass to exchangePoints.' }) quote!: string;
  @Field(() => ID) quoteId!: string;
  @Field() from!: string;
  @Field() to!: string;
  @Field(() => AmountScalar, { description: 'What the member asked to convert.' }) amountRequested!: string;
  @Field(() => AmountScalar, {
    description: 'What is taken, in `from`: at most amountRequested (what the output does not need is not converted).',
  })
  amountIn!: string;
  @Field(() => AmountScalar, { description: 'The whole CP in between.' }) cpAmount!: string;
  @Field(() => AmountScalar, { description: 'What the member gets, in `to`.' }) amountOut!: string;
  @Field(() => DecimalScalar, { description: 'CP per point of `from` (1 for CP).' }) rateFrom!: string;
  @Field(() => DecimalScalar, { description: 'CP per point of `to` (1 for CP).' }) rateTo!: string;
  @Field({ description: 'How each leg rounds: what the member gets down, what it gives up (the rest is not converted).' })
  rounding!: string;
  @Field({
    description: 'amountIn × rateFrom − amountOut × rateTo, in CP, exact and never negative: what the hub books to its rounding account.',
  })
  residualCp!: string;
  @Field() expiresAt!: Date;
}

@ObjectType({ description: 'An executed exchange: one ledger entry.' })
export class ExchangeReceipt {
  @Field(() => ID) quoteId!: string;
  @Field(() => ID) entryId!: string;
  @Field(() => ID) memberId!: string;
  @Field() from!: string;
  @Field() to!: string;
  @Field(() => AmountScalar) amountIn!: string;
  @Field(() => AmountScalar) amountOut!: string;
  @Field(() => AmountScalar) cpAmount!: string;
  @Field() residualCp!: string;
  @Field(() => AmountScalar) fromBalance!: string;
  @Field(() => AmountScalar) toBalance!: string;
  @Field() recordedAt!: Date;
  @Field({ description: 'True when this quote was executed before and this is that outcome again.' }) replayed!: boolean;
}

@ObjectType({ description: 'One asset of a member, valued in CP at the rate in force.' })
export class AssetBalance {
  @Field() asset!: string;
  @Field(() => AmountScalar) amount!: string;
  @Field(() => DecimalScalar, { nullable: true, description: 'CP per point (1 for CP); null when no rate is in force.' }) cpPerPoint!:
    string | null;
  @Field(() => String, { nullable: true, description: 'amount × cpPerPoint, exact.' }) cpValue!: string | null;
}

@ObjectType({ description: "A member's whole balance across CP and partner units, valued in CP now." })
export class CombinedBalance {
  @Field({ description: 'The sum of every valued asset, in CP, exact (a decimal string).' }) totalCp!: string;
  @Field(() => [AssetBalance]) assets!: AssetBalance[];
  @Field(() => AmountScalar, { description: 'CP in lots that expire in the next 30 days.' }) expiringWithin30Days!: string;
  @Field(() => Date, { nullable: true, description: 'When the newest of the rates used took effect.' }) ratesAsOf!: Date | null;
}

export const quoteFailures = failuresOf('quote', [UnknownAsset, InvalidAmount, UnknownMember, ExchangeNotAllowed, PartnerSuspended]);
export const exchangeFailures = failuresOf('exchange', [
  InvalidQuote,
  QuoteExpired,
  InsufficientBalance,
  UnknownMember,
  InvalidAmount,
  PartnerSuspended,
  FundingLimitExceeded,
]);
export const QuoteResult = createUnionType({ name: 'QuoteResult', types: () => [ExchangeQuote, ...quoteFailures] as const });
export const ExchangeResult = createUnionType({ name: 'ExchangeResult', types: () => [ExchangeReceipt, ...exchangeFailures] as const });
