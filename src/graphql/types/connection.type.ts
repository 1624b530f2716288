import { ArgsType, ClassType, Directive, Field, Int, ObjectType } from 'type-graphql';
import { Max, Min } from 'class-validator';
import { limits } from '../../config/limits';

/**
 * Relay's PageInfo. Shareable: every subgraph of a federated graph may define its own PageInfo
 * (docs/federation.md). Paging is forward (first/after): hasPreviousPage is true when the page
 * starts after a cursor.
 */
@Directive('@shareable')
@ObjectType({
  description: 'Relay page info. Pages go forward (first/after); hasPreviousPage is true for a page asked for after a cursor.',
})
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'The cursor of the first edge; null for an empty page.' }) startCursor!:
    string | null;
  @Field(() => String, { nullable: true, description: 'The cursor of the last edge; pass it as `after` for the next page.' })
  endCursor!: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: limits.pageSizeDefault, description: `Page size, 1 to ${limits.pageSizeMax}.` })
  @Min(1)
  @Max(limits.pageSizeMax)
  first: number = limits.pageSizeDefault;

  @Field(() => String, { nullable: true, description: 'endCursor of the previous page.' })
  after?: string | null;
}

/** A Relay connection type for `Node`. */
export function connectionOf<Node extends object>(Node: ClassType<Node>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field() cursor!: string;
    @Field(() => Node) node!: Node;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
  }
  return Connection;
}
