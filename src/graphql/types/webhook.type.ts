import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionOf, PageArgs } from './connection.type';

export enum WebhookDeliveryStatus {
  pending = 'pending',
  delivered = 'delivered',
  failed = 'failed',
  dead = 'dead',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description:
    'pending: not sent yet (or a redelivery is queued); delivered: a 2xx answer; failed: the last attempt failed, the next is scheduled (nextAttemptAt); dead: no attempt left (retries used up, HTTP 410, or the endpoint was inactive): only redeliverWebhook sends it again.',
});

@ObjectType({ description: 'One attempt to send a delivery.' })
export class WebhookDeliveryAttempt {
  @Field() attemptedAt!: Date;
  @Field(() => Int, { nullable: true, description: 'The HTTP status answered; null when no answer came (timeout, refused connection…).' })
  statusCode!: number | null;
  @Field(() => Int, { description: 'From sending to the answer (or the failure), ms.' }) latencyMs!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@ObjectType()
export class WebhookDeliveryAttemptConnection extends connectionOf(WebhookDeliveryAttempt, 'WebhookDeliveryAttempt') {}

@ObjectType({ description: 'One event sent (or to be sent) to one endpoint. Its webhook-id is the event id, on every attempt.' })
export class WebhookDelivery {
  @Field(() => ID) id!: string;
  @Field(() => ID) endpointId!: string;
  @Field(() => ID, { description: 'The event, and the webhook-id header: the receiver dedupes by it.' }) eventId!: string;
  @Field() eventType!: string;
  @Field(() => WebhookDeliveryStatus) status!: WebhookDeliveryStatus;
  @Field(() => Int, { description: 'Attempts made so far.' }) attemptCount!: number;
  @Field(() => Date, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => Int, { nullable: true }) lastStatusCode!: number | null;
  @Field(() => Int, { nullable: true }) lastLatencyMs!: number | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Date, { nullable: true }) deliveredAt!: Date | null;
  @Field() createdAt!: Date;
}

export const WebhookDeliveryConnection = connectionOf(WebhookDelivery, 'WebhookDelivery');

@ObjectType({ description: "A partner's webhook endpoint: where the hub POSTs the partner's events of the listed types." })
export class WebhookEndpoint {
  @Field(() => ID) id!: string;
  @Field(() => ID) partnerId!: string;
  @Field() url!: string;
  @Field(() => [String], { description: 'The event types sent to it (at least one).' }) eventTypes!: string[];
  @Field({ description: 'false: nothing is sent (switched off by the partner, or by a 410 answer: disabledReason).' }) active!: boolean;
  @Field(() => String, { nullable: true }) disabledReason!: string | null;
  @Field({ description: 'Deliveries also carry a v1 HMAC signature with its whsec_ secret (shown only when made).' }) hasSecret!: boolean;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

export const WebhookEndpointConnection = connectionOf(WebhookEndpoint, 'WebhookEndpoint');

@ObjectType({ description: 'An endpoint with its new whsec_ secret: the only time the hub shows it. Keep it.' })
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field(() => String, { nullable: true, description: 'whsec_… for v1 (HMAC) signatures; null when none was asked for.' })
  secret!: string | null;
}

@ObjectType()
export class WebhookEndpointDeleted {
  @Field(() => ID) id!: string;
}

@InputType()
export class CreateWebhookEndpointInput {
  @Field({ description: 'http(s); no user name or password; no loopback, private or link-local address (docs/webhooks.md).' })
  url!: string;
  @Field(() => [String], { description: 'Event types to receive, at least one (EVENT_TYPES of the partner SDK).' }) eventTypes!: string[];
  @Field(() => Boolean, {
    defaultValue: false,
    description: 'Also sign with HMAC (v1) under a new whsec_ secret, returned once; v1a (Ed25519, the hub key) is always there.',
  })
  withHmacSecret!: boolean;
}

@InputType()
export class UpdateWebhookEndpointInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [String], { nullable: true }) eventTypes?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'false switches it off; true on again (after a 410, once the receiver is back).' })
  active?: boolean | null;
}

@ArgsType()
export class WebhookDeliveriesArgs extends PageArgs {
  @Field(() => WebhookDeliveryStatus, { nullable: true }) status?: WebhookDeliveryStatus | null;
}
