import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { EVENT_TYPES, type EventType as EnvelopeType } from '@coalition-hub/partner-sdk';
import { connectionOf } from './connection.type';

/** `points.issued` → `POINTS_ISSUED`: a GraphQL enum name for each envelope type (the one list is EVENT_TYPES). */
export const eventTypeName = (type: EnvelopeType): string => type.toUpperCase().replace(/\./g, '_');

/** The enum's values are the envelope's type strings, so resolvers see `points.issued`, clients `POINTS_ISSUED`. */
export const EventTypeEnum = Object.fromEntries(EVENT_TYPES.map((type) => [eventTypeName(type), type])) as Record<string, EnvelopeType>;

registerEnumType(EventTypeEnum, {
  name: 'EventType',
  description: 'The type of an event; the envelope spells it in lower case with dots (POINTS_ISSUED is points.issued). See docs/events.md.',
});

@ObjectType('Event', {
  description: 'Something a partner cares about that the hub committed (docs/events.md); the body of a webhook delivery.',
})
export class HubEvent {
  @Field(() => ID, { description: 'Stable and unique: the webhook-id of its deliveries, the receiver’s dedupe key.' }) id!: string;
  @Field(() => EventTypeEnum) type!: EnvelopeType;
  @Field(() => Int, { description: 'Version of the data shape of this type.' }) version!: number;
  @Field({ description: 'When the change was made.' }) occurredAt!: Date;
  @Field({ description: 'The partner whose scope the event belongs to.' }) partnerId!: string;
  @Field(() => ID, { nullable: true, description: 'The member concerned; null for statements and funding.' }) memberId!: string | null;
  @Field(() => GraphQLJSONObject, { description: 'The fields of this type (docs/events.md); amounts are decimal strings.' })
  data!: Record<string, unknown>;
}

export const EventConnection = connectionOf(HubEvent, 'Event');
