import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, createUnionType } from 'type-graphql';
import { failuresOf } from '../types/error-result.type';
import type { Viewer } from '../../common/viewer';
import type { WebhookDeliveryRow, WebhookEndpointService, WebhookScope } from '../../events/webhook-endpoints';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { InvalidInput, InvalidWebhookUrl, NotFound, UnknownEventType } from '../types/error-result.type';
import {
  CreateWebhookEndpointInput,
  UpdateWebhookEndpointInput,
  WebhookDeliveriesArgs,
  WebhookDelivery,
  WebhookDeliveryAttemptConnection,
  WebhookDeliveryConnection,
  WebhookEndpoint,
  WebhookEndpointConnection,
  WebhookEndpointDeleted,
  WebhookEndpointWithSecret,
} from '../types/webhook.type';
import { partnerIdArg } from '../identifier-args';

const createFailures = failuresOf('createWebhookEndpoint', [InvalidWebhookUrl, UnknownEventType, InvalidInput]);
export const CreateWebhookEndpointResult = createUnionType({
  name: 'CreateWebhookEndpointResult',
  types: () => [WebhookEndpointWithSecret, ...createFailures] as const,
});
const updateFailures = failuresOf('updateWebhookEndpoint', [NotFound, InvalidWebhookUrl, UnknownEventType, InvalidInput]);
export const UpdateWebhookEndpointResult = createUnionType({
  name: 'UpdateWebhookEndpointResult',
  types: () => [WebhookEndpoint, ...updateFailures] as const,
});
const notFoundOnly = failuresOf('webhookById', [NotFound]);
export const DeleteWebhookEndpointResult = createUnionType({
  name: 'DeleteWebhookEndpointResult',
  types: () => [WebhookEndpointDeleted, ...notFoundOnly] as const,
});
export const RotateWebhookSecretResult = createUnionType({
  name: 'RotateWebhookSecretResult',
  types: () => [WebhookEndpointWithSecret, ...notFoundOnly] as const,
});
export const RedeliverWebhookResult = createUnionType({
  name: 'RedeliverWebhookResult',
  types: () => [WebhookDelivery, ...notFoundOnly] as const,
});

/** A partner sees its own endpoints; operators (and finance) see every partner's. */
function scopeOf(viewer: Viewer): WebhookScope {
  return viewer.kind === 'partner' ? { partnerId: viewer.partnerId } : { allPartners: true };
}

function partnerOf(viewer: Viewer): string {
  if (viewer.kind !== 'partner') throw new Error('guarded by @Authorized("partner")');
  return viewer.partnerId;
}

/** A delivery row as its GraphQL type (attempts → attemptCount). */
function deliveryOf(row: WebhookDeliveryRow): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), row, { attemptCount: row.attempts });
}

@Resolver(() => WebhookEndpoint)
export class WebhookEndpointResolver {
  constructor(private readonly endpoints: WebhookEndpointService) {}

  @Authorized('partner', 'operator', 'finance')
  @Query(() => WebhookEndpointConnection, {
    description: "Webhook endpoints, oldest first: a partner's own; operators see every partner's (partnerId narrows).",
  })
  webhookEndpoints(
    @Args() page: PageArgs,
    @Arg('partnerId', () => ID, { nullable: true, ...partnerIdArg }) partnerId: string | null,
    @Ctx() context: RequestContext,
  ) {
    return this.endpoints.endpoints(scopeOf(context.viewer), page, partnerId);
  }

  @Authorized('partner', 'operator', 'finance')
  @Query(() => WebhookEndpoint, { nullable: true })
  webhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext) {
    return this.endpoints.endpoint(scopeOf(context.viewer), id);
  }

  @FieldResolver(() => WebhookDeliveryConnection, { description: 'Its deliveries, newest first, optionally of one status.' })
  async deliveries(@Root() endpoint: WebhookEndpoint, @Args() args: WebhookDeliveriesArgs, @Ctx() context: RequestContext) {
    const page = await context.loaders.webhookDeliveries.load({
      endpointId: endpoint.id,
      status: args.status ?? null,
      page: { first: args.first, after: args.after ?? null },
    });
    return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: deliveryOf(edge.node) })) };
  }

  @Authorized('partner')
  @Mutation(() => CreateWebhookEndpointResult, {
    description:
      "Registers an endpoint for the calling partner's events of the listed types. With withHmacSecret, the answer holds its whsec_ secret: shown this once.",
  })
  async createWebhookEndpoint(
    @Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof CreateWebhookEndpointResult> {
    const outcome = await this.endpoints.create(partnerOf(context.viewer), input);
    return present(outcome, WebhookEndpointWithSecret, createFailures);
  }

  @Authorized('partner')
  @Mutation(() => UpdateWebhookEndpointResult, { description: 'Changes the URL, the event types, or switches the endpoint off or on.' })
  async updateWebhookEndpoint(
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof UpdateWebhookEndpointResult> {
    const outcome = await this.endpoints.update(scopeOf(context.viewer), input.id, input);
    return present(outcome, WebhookEndpoint, updateFailures);
  }

  @Authorized('partner')
  @Mutation(() => DeleteWebhookEndpointResult, {
    description: 'Removes the endpoint: it is no longer listed nor sent to; deliveries still queued for it are dropped.',
  })
  async deleteWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof DeleteWebhookEndpointResult> {
    return present(await this.endpoints.remove(scopeOf(context.viewer), id), WebhookEndpointDeleted, notFoundOnly);
  }

  @Authorized('partner')
  @Mutation(() => RotateWebhookSecretResult, {
    description: 'Replaces (or adds) the HMAC secret; the new one is in the answer, shown this once. Deliveries from now on use it.',
  })
  async rotateWebhookSecret(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext): Promise<typeof RotateWebhookSecretResult> {
    return present(await this.endpoints.rotateSecret(scopeOf(context.viewer), id), WebhookEndpointWithSecret, notFoundOnly);
  }

  @Authorized('partner', 'operator')
  @Mutation(() => RedeliverWebhookResult, {
    description: 'Sends a delivery again now, whatever its status (dead ones too). Same webhook-id: receivers drop what they had.',
  })
  async redeliverWebhook(
    @Arg('deliveryId', () => ID) deliveryId: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof RedeliverWebhookResult> {
    const outcome = await this.endpoints.redeliver(scopeOf(context.viewer), deliveryId);
    if ('code' in outcome) return present(outcome, WebhookDelivery, notFoundOnly);
    return deliveryOf(outcome);
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @FieldResolver(() => WebhookDeliveryAttemptConnection, { description: 'Its attempts, newest first.' })
  attempts(@Root() delivery: WebhookDelivery, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return context.loaders.webhookAttempts.load({ deliveryId: delivery.id, page: { first: page.first, after: page.after ?? null } });
  }
}
