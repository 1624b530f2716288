import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * The few tables read through TypeORM's repositories (partner, partner_key, member); every other
 * table is read and written with SQL by the module that owns it. The migrations own the schema:
 * test/e2e/entities-match-migrations.e2e.test.ts checks these against it.
 */
export type PartnerStatus = 'active' | 'suspended';

@Entity({ name: 'partner' })
export class PartnerEntity {
  @PrimaryColumn('text') id!: string;
  @Column('text') name!: string;
  @Column('text') status!: PartnerStatus;
  @Column('boolean', { name: 'can_link_members' }) canLinkMembers!: boolean;
  /** Only documents on its safelist run for it (docs/security.md, "Persisted operations"). */
  @Column('boolean', { name: 'safelist_only' }) safelistOnly!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

export type KeyStatus = 'active' | 'revoked';

@Entity({ name: 'partner_key' })
export class PartnerKeyEntity {
  @PrimaryColumn('text', { name: 'partner_id' }) partnerId!: string;
  @PrimaryColumn('text') kid!: string;
  @Column('text') alg!: 'EdDSA' | 'ES256';
  @Column('jsonb', { name: 'public_jwk' }) publicJwk!: Record<string, unknown>;
  @Column('text') status!: KeyStatus;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}

@Entity({ name: 'member' })
export class MemberEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'email_hash', nullable: true }) emailHash!: string | null;
  @Column('text', { name: 'phone_hash', nullable: true }) phoneHash!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  /** The sandbox test clock the member lives on; null: real time (docs/sandbox.md). */
  @Column('uuid', { name: 'test_clock_id', nullable: true }) testClockId!: string | null;
}
