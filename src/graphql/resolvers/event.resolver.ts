import { Arg, Args, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { EventType } from '@coalition-hub/partner-sdk';
import type { EventFeedService } from '../../events/event-feed.service';
import type { RequestContext } from '../context';
import { PageArgs } from '../types/connection.type';
import { EventConnection, EventTypeEnum, HubEvent } from '../types/event.type';

@Resolver(() => HubEvent)
export class EventResolver {
  constructor(private readonly feed: EventFeedService) {}

  @Authorized('partner', 'operator', 'finance')
  @Query(() => EventConnection, {
    description:
      'Events in commit order (docs/events.md): a partner its own, finance and operators all. Go on from the last endCursor to get every later event exactly once.',
  })
  events(
    @Args() page: PageArgs,
    @Ctx() context: RequestContext,
    @Arg('types', () => [EventTypeEnum], { nullable: true, description: 'Only these types; all when absent.' }) types?: EventType[] | null,
  ) {
    return this.feed.events(context.viewer, { types }, page);
  }
}
