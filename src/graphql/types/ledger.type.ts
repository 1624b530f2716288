import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';
import { ENTRY_TYPES, type EntryType } from '../../ledger/entry-types';

/** The GraphQL enum EntryType, made from the one list of entry types. */
export const EntryTypeEnum = Object.fromEntries(ENTRY_TYPES.map((type) => [type, type])) as { [T in EntryType]: T };
registerEnumType(EntryTypeEnum, { name: 'EntryType', description: 'What a journal entry did.' });

@ObjectType({ description: 'A ledger account. Member wallets, partner issuance/redemption accounts, hub accounts.' })
export class Account {
  @Field(() => ID) id!: string;
  @Field() ownerKind!: string;
  @Field() ownerId!: string;
  @Field() asset!: string;
  @Field() kind!: string;
}

@ObjectType({ description: 'One leg of a journal entry. Per entry and asset, postings sum to zero.' })
export class Posting {
  @Field(() => ID) accountId!: string;
  @Field() asset!: string;
  @Field(() => AmountScalar) amount!: bigint;
}

@ObjectType({ description: 'One business transaction in the append-only ledger.' })
export class JournalEntry {
  @Field(() => ID) id!: string;
  @Field(() => EntryTypeEnum) type!: EntryType;
  @Field() partnerId!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "The partner's idempotency key of the instruction that made this entry. Null for a member token looking at another partner's entry.",
  })
  jti!: string | null;
  @Field(() => ID, { nullable: true }) memberId!: string | null;
  @Field(() => String, {
    nullable: true,
    description: "The partner's order reference. Null for a member token looking at another partner's entry.",
  })
  orderRef!: string | null;
  @Field() occurredAt!: Date;
  @Field() recordedAt!: Date;
  @Field(() => ID, { nullable: true, description: 'For a reversal: the entry it reverses.' }) reversesEntryId!: string | null;
  @Field(() => GraphQLJSONObject, { description: 'The contract prices (and later exchange rates) this entry used, as they were then.' })
  rates!: Record<string, string>;
}

@ObjectType({ description: 'CP credited to a wallet by one issue; spent first-expiring-first-out.' })
export class Lot {
  @Field(() => ID) id!: string;
  @Field() issuerPartnerId!: string;
  @Field(() => AmountScalar) amount!: bigint;
  @Field(() => AmountScalar) remaining!: bigint;
  @Field() issuedAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Pending until then (a return window): counted in the balance, not spendable.' })
  vestsAt!: Date | null;
}

export const JournalEntryConnection = connectionOf(JournalEntry, 'JournalEntry');
export const LotConnection = connectionOf(Lot, 'Lot');

@ObjectType()
export class IntegrityDifference {
  @Field({
    description:
      'Which invariant: entry_balances, ledger_balances, stored_balance_equals_postings, wallet_not_negative, lots_equal_wallet, lot_consumption_explains_lot.',
  })
  check!: string;
  @Field() subject!: string;
  @Field() expected!: string;
  @Field() actual!: string;
}

@ObjectType({ description: 'The ledger invariants (1 and 2 in docs/ledger.md) recomputed from postings in one snapshot.' })
export class LedgerIntegrityReport {
  @Field() ok!: boolean;
  @Field() checkedAt!: Date;
  @Field(() => Int) entriesChecked!: number;
  @Field(() => Int) accountsChecked!: number;
  @Field(() => Int) lotsChecked!: number;
  @Field(() => [IntegrityDifference], { description: 'At most 100 are listed.' }) differences!: IntegrityDifference[];
}

@ObjectType({ description: 'What one run of the expiry job did.' })
export class ExpiryRun {
  @Field({ description: 'False when another process was running expiry at that moment (it does the work).' }) ran!: boolean;
  @Field(() => Int) walletsTouched!: number;
  @Field(() => Int) lotsExpired!: number;
  @Field(() => AmountScalar) pointsExpired!: bigint;
  @Field(() => Int) entriesMade!: number;
}
