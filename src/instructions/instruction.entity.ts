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
  @Column('jsonb', { name: 'private_jwk' }) privateJwk!: Record<string, unknown>;
  @Column('jsonb', { name: 'public_jwk' }) publicJwk!: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
