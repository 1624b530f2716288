import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

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
