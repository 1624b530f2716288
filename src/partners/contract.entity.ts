import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'partner_contract' })
export class PartnerContractEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('text', { name: 'partner_id' }) partnerId!: string;
  @Column('timestamptz', { name: 'valid_from' }) validFrom!: Date;
  @Column('text') currency!: string;
  @Column('numeric', { name: 'issue_price', precision: 24, scale: 12 }) issuePrice!: string;
  @Column('numeric', { name: 'redeem_price', precision: 24, scale: 12 }) redeemPrice!: string;
  @Column('numeric', { name: 'breakage_share', precision: 13, scale: 12 }) breakageShare!: string;
  @Column('integer', { name: 'lot_lifetime_months' }) lotLifetimeMonths!: number;
  @Column('boolean', { name: 'transfers_allowed' }) transfersAllowed!: boolean;
  @Column('text', { name: 'reversal_policy' }) reversalPolicy!: 'refuse' | 'debt';
  @Column('integer', { name: 'pending_days' }) pendingDays!: number;
  @Column('jsonb', { name: 'tier_multipliers' }) tierMultipliers!: Record<string, string>;
  @Column('text', { name: 'funding_mode' }) fundingMode!: 'postpaid' | 'prepaid';
  @Column('bigint', { name: 'net_debit_cap_minor', nullable: true }) netDebitCapMinor!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'partner_unit' })
export class PartnerUnitEntity {
  @PrimaryColumn('text', { name: 'partner_id' }) partnerId!: string;
  @Column('text') code!: string;
  @Column('text') asset!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'exchange_rate' })
export class ExchangeRateEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('text') asset!: string;
  @Column('numeric', { name: 'cp_per_point', precision: 24, scale: 12 }) cpPerPoint!: string;
  @Column('timestamptz', { name: 'valid_from' }) validFrom!: Date;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
