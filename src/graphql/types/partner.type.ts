import { GraphQLJSONObject } from 'graphql-scalars';
import { Directive, Field, ID, InputType, ObjectType } from 'type-graphql';
import { connectionOf } from './connection.type';
import { ContractInput } from './contract.type';

@ObjectType({ description: 'A public key a partner signs with. Old keys verify until revoked.' })
export class PartnerKey {
  @Field() kid!: string;
  @Field() alg!: string;
  @Field() status!: string;
  @Field(() => GraphQLJSONObject) publicJwk!: Record<string, unknown>;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

/** An entity of the federated graph, by id (docs/federation.md). */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A brand in the coalition that issues and accepts CP.' })
export class Partner {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: 'active or suspended' }) status!: string;
  @Field({ description: 'May link its customers to existing members by verified e-mail/phone hash.' }) canLinkMembers!: boolean;
  @Field() createdAt!: Date;
}

export const PartnerConnection = connectionOf(Partner, 'Partner');

@InputType()
export class RegisterPartnerInput {
  @Field(() => ID, { description: '2–32 of A–Z, 0–9, _; starts with a letter. Used as `iss` in its instructions.' }) id!: string;
  @Field() name!: string;
  @Field(() => [GraphQLJSONObject], { description: 'Public JWKs (Ed25519 or P-256) with kid.' }) publicJwks!: Record<string, unknown>[];
  @Field(() => ContractInput, {
    nullable: true,
    description: 'The first contract: par prices in DEFAULT_CURRENCY and 24-month lots unless given.',
  })
  contract?: ContractInput | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      "Default false. Linking by hash attaches the partner to a member's whole balance, points other partners issued included: grant it only to partners trusted to verify e-mail and phone.",
  })
  canLinkMembers?: boolean | null;
}
