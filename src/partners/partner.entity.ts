import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type PartnerStatus = 'active' | 'suspended';

@Entity({ name: 'partner' })
export class PartnerEntity {
  @PrimaryColumn('text') id!: string;
  @Column('text') name!: string;
  @Column('text') status!: PartnerStatus;
  @Column('boolean', { name: 'can_link_members' }) canLinkMembers!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
