import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintColumn } from '../common/bigint';

export type OwnerKind = 'member' | 'partner' | 'hub';
export type AccountKind =
  | 'wallet'
  | 'issuance'
  | 'redemption'
  | 'native_pool'
  | 'exchange'
  | 'breakage'
  | 'fees'
  | 'rounding'
  | 'settlement'
  | 'prefunding'
  | 'exposure'
  | 'funding';
import type { EntryType } from './entry-types';
export type { EntryType };

@Entity({ name: 'account' })
export class AccountEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('text', { name: 'owner_kind' }) ownerKind!: OwnerKind;
  @Column('text', { name: 'owner_id' }) ownerId!: string;
  @Column('text') asset!: string;
  @Column('text') kind!: AccountKind;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'account_balance' })
export class AccountBalanceEntity {
  @PrimaryColumn('bigint', { name: 'account_id' }) accountId!: string;
  @Column('text') kind!: AccountKind;
  @PrimaryColumn('smallint') shard!: number;
  @Column('bigint', { transformer: bigintColumn }) balance!: bigint;
}

@Entity({ name: 'journal_entry' })
export class JournalEntryEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('bigint', { transformer: bigintColumn }) seq!: bigint;
  @Column('text') type!: EntryType;
  @Column('text', { name: 'partner_id' }) partnerId!: string;
  @Column('text', { nullable: true }) jti!: string | null;
  @Column('uuid', { name: 'member_id', nullable: true }) memberId!: string | null;
  @Column('text', { name: 'order_ref', nullable: true }) orderRef!: string | null;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  @Column('timestamptz', { name: 'recorded_at' }) recordedAt!: Date;
  @Column('jsonb') rates!: Record<string, string>;
  @Column('text', { name: 'request_hash', nullable: true }) requestHash!: string | null;
  @Column('uuid', { name: 'reverses_entry_id', nullable: true }) reversesEntryId!: string | null;
  @Column('uuid', { name: 'counter_member_id', nullable: true }) counterMemberId!: string | null;
  @Column('bigint', { name: 'period_id' }) periodId!: string;
  @Column('uuid', { name: 'dispute_id', nullable: true }) disputeId!: string | null;
}

@Entity({ name: 'posting' })
export class PostingEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('uuid', { name: 'entry_id' }) entryId!: string;
  @Column('bigint', { name: 'account_id' }) accountId!: string;
  @Column('text') asset!: string;
  @Column('bigint', { transformer: bigintColumn }) amount!: bigint;
}

@Entity({ name: 'lot' })
export class LotEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('bigint', { name: 'account_id' }) accountId!: string;
  @Column('text', { name: 'issuer_partner_id' }) issuerPartnerId!: string;
  @Column('uuid', { name: 'entry_id' }) entryId!: string;
  @Column('bigint', { transformer: bigintColumn }) amount!: bigint;
  @Column('bigint', { transformer: bigintColumn }) remaining!: bigint;
  @Column('timestamptz', { name: 'issued_at' }) issuedAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('bigint', { name: 'from_lot_id', nullable: true }) fromLotId!: string | null;
  @Column('timestamptz', { name: 'vests_at', nullable: true }) vestsAt!: Date | null;
}

@Entity({ name: 'lot_consumption' })
export class LotConsumptionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('bigint', { name: 'lot_id' }) lotId!: string;
  @Column('uuid', { name: 'entry_id' }) entryId!: string;
  @Column('text', { name: 'issuer_partner_id' }) issuerPartnerId!: string;
  @Column('text', { name: 'consumer_partner_id', nullable: true }) consumerPartnerId!: string | null;
  @Column('text') kind!: 'redeem' | 'expire' | 'reversal' | 'transfer' | 'exchange';
  @Column('bigint', { transformer: bigintColumn }) amount!: bigint;
}

export type HoldStatus = 'pending' | 'captured' | 'voided';

@Entity({ name: 'hold' })
export class HoldEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'partner_id' }) partnerId!: string;
  @Column('text') jti!: string;
  @Column('uuid', { name: 'member_id' }) memberId!: string;
  @Column('bigint', { name: 'wallet_id' }) walletId!: string;
  @Column('bigint', { transformer: bigintColumn }) amount!: bigint;
  @Column('text', { name: 'order_ref', nullable: true }) orderRef!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('text') status!: HoldStatus;
  @Column('bigint', { transformer: bigintColumn }) captured!: bigint;
  @Column('timestamptz', { name: 'closed_at', nullable: true }) closedAt!: Date | null;
  @Column('uuid', { name: 'capture_entry_id', nullable: true }) captureEntryId!: string | null;
}

@Entity({ name: 'exchange' })
export class ExchangeEntity {
  @PrimaryColumn('uuid', { name: 'quote_id' }) quoteId!: string;
  @Column('uuid', { name: 'member_id' }) memberId!: string;
  @Column('text', { name: 'quote_jws' }) quoteJws!: string;
  @Column('timestamptz', { name: 'executed_at' }) executedAt!: Date;
  @Column('uuid', { name: 'entry_id', nullable: true }) entryId!: string | null;
  @Column('jsonb', { nullable: true }) result!: Record<string, unknown> | null;
}

@Entity({ name: 'rounding_booking' })
export class RoundingBookingEntity {
  @PrimaryColumn('uuid', { name: 'entry_id' }) entryId!: string;
  @Column('numeric', { name: 'residual_cp', precision: 30, scale: 12 }) residualCp!: string;
}
