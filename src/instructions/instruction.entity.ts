import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A partner-signed instruction the hub accepted; (partner, jti) is the idempotency key. */
@Entity({ name: 'instruction' })
export class InstructionEntity {
  @PrimaryColumn('text', { name: 'partner_id' }) partnerId!: string;
  @PrimaryColumn('text') jti!: string;
  @Column('text') op!: string;
  @Column('text') kid!: string;
  @Column('text', { name: 'request_hash' }) requestHash!: string;
  @Column('text', { name: 'request_jws' }) requestJws!: string;
  @Column('timestamptz', { name: 'received_at' }) receivedAt!: Date;
  @Column('uuid', { name: 'entry_id', nullable: true }) entryId!: string | null;
  @Column('uuid', { name: 'member_id', nullable: true }) memberId!: string | null;
  @Column('text', { name: 'receipt_jws', nullable: true }) receiptJws!: string | null;
  @Column('jsonb', { nullable: true }) result!: Record<string, unknown> | null;
}

@Entity({ name: 'hub_signing_key' })
export class HubSigningKeyEntity {
  @PrimaryColumn('text') kid!: string;
  @Column('text') alg!: 'EdDSA' | 'ES256';
  /** Generated keys only: a key from HUB_SIGNING_JWK never leaves the configuration. */
  @Column('jsonb', { name: 'private_jwk', nullable: true }) privateJwk!: Record<string, unknown> | null;
  @Column('jsonb', { name: 'public_jwk' }) publicJwk!: Record<string, unknown>;
  @Column('text') origin!: 'generated' | 'configured';
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  /** The active key is the newest activated one not retired. */
  @Column('timestamptz', { name: 'activated_at' }) activatedAt!: Date;
  /** Retired keys leave the JWKS; until then every key stays published. */
  @Column('timestamptz', { name: 'retired_at', nullable: true }) retiredAt!: Date | null;
}
