import { Field, ObjectType } from 'type-graphql';

@ObjectType({
  description: 'A key the hub signs receipts, quotes and statements with. Every key not retired is in /.well-known/jwks.json.',
})
export class HubKey {
  @Field() kid!: string;
  @Field({ description: 'EdDSA or ES256' }) alg!: string;
  @Field({ description: 'generated (kept in the database) or configured (HUB_SIGNING_JWK; only its public half is kept)' }) origin!: string;
  @Field() createdAt!: Date;
  @Field() activatedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Retired keys are no longer published: what they signed no longer verifies.' })
  retiredAt!: Date | null;
  @Field({ description: 'The key new signatures are made with (one at a time).' }) active!: boolean;
  @Field({ description: 'Published already, signing once activatedAt has passed (a rotation in progress).' }) pending!: boolean;
}
