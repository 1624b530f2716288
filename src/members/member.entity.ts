import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'member' })
export class MemberEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'email_hash', nullable: true }) emailHash!: string | null;
  @Column('text', { name: 'phone_hash', nullable: true }) phoneHash!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** A partner's own reference for a hub member. One per partner and member. */
@Entity({ name: 'member_link' })
export class MemberLinkEntity {
  @PrimaryColumn('text', { name: 'partner_id' }) partnerId!: string;
  @PrimaryColumn('text', { name: 'member_ref' }) memberRef!: string;
  @Column('uuid', { name: 'member_id' }) memberId!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
