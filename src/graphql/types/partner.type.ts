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
  @Field({
    description:
      "Its requests (partner token or signed instruction) run only documents on its safelist: the partner SDK's and those registered for it (docs/security.md).",
  })
  safelistOnly!: boolean;
  @Field() createdAt!: Date;
}

@ObjectType({ description: "A document on a partner's safelist besides the partner SDK's, registered by an operator." })
export class PersistedOperation {
  @Field({ description: 'Lower-case hex SHA-256 of `body`: the id a client sends as extensions.persistedQuery.sha256Hash.' }) id!: string;
  @Field(() => ID) partnerId!: string;
  @Field({ description: "The operation's name in the document." }) name!: string;
  @Field({ description: 'The exact document text.' }) body!: string;
  @Field({ description: 'Who registered it (operator:name).' }) registeredBy!: string;
  @Field() registeredAt!: Date;
}

export const PersistedOperationConnection = connectionOf(PersistedOperation, 'PersistedOperation');

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
