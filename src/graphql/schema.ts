import { GraphQLError, type GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import { roleOf, type Role } from '../common/viewer';
import { forbidden, unauthenticated } from '../common/auth-errors';
import type { RequestContext } from './context';
import { toSubgraphSchema, type ReferenceResolvers, type SubgraphOptions } from './federation';
import { InstructionResolver } from './resolvers/instruction.resolver';
import { JournalEntryResolver, PostingResolver } from './resolvers/ledger.resolver';
import { MemberResolver } from './resolvers/member.resolver';
import { PartnerResolver } from './resolvers/partner.resolver';
import { PartnerContractResolver, PartnerUnitResolver } from './resolvers/contract.resolver';
import { ExchangeResolver } from './resolvers/exchange.resolver';
import { SettlementPeriodResolver, StatementResolver } from './resolvers/settlement.resolver';
import { LiabilityResolver } from './resolvers/liability.resolver';
import { FundingResolver } from './resolvers/funding.resolver';
import { HubKeyResolver } from './resolvers/hub-key.resolver';
import { EventResolver } from './resolvers/event.resolver';
import { WebhookDeliveryResolver, WebhookEndpointResolver } from './resolvers/webhook.resolver';
import { MemberTestClockResolver, TestClockResolver } from './resolvers/test-clock.resolver';
import { PersistedOperationResolver } from './resolvers/persisted-operation.resolver';
import { BalanceExplanationResolver, MemberExplainResolver } from './resolvers/explain.resolver';
import { MemberEntitlementResolver, RewardResolver } from './resolvers/reward.resolver';
import { GrantResolver, MemberReferralResolver } from './resolvers/grant.resolver';
import { EngineResolver } from './resolvers/engine.resolver';
import { MemberStampCardResolver, StampCardResolver } from './resolvers/stamp-card.resolver';
import { KpiResolver } from './resolvers/kpi.resolver';
import { KpiTrendResolver } from './resolvers/kpi-trend.resolver';

export const resolverClasses = [
  InstructionResolver,
  MemberResolver,
  JournalEntryResolver,
  PostingResolver,
  PartnerResolver,
  PartnerContractResolver,
  PartnerUnitResolver,
  ExchangeResolver,
  SettlementPeriodResolver,
  StatementResolver,
  LiabilityResolver,
  FundingResolver,
  HubKeyResolver,
  EventResolver,
  WebhookEndpointResolver,
  WebhookDeliveryResolver,
  TestClockResolver,
  MemberTestClockResolver,
  PersistedOperationResolver,
  MemberExplainResolver,
  BalanceExplanationResolver,
  RewardResolver,
  MemberEntitlementResolver,
  GrantResolver,
  MemberReferralResolver,
  EngineResolver,
  StampCardResolver,
  MemberStampCardResolver,
  KpiResolver,
  KpiTrendResolver,
] as const;

const authChecker: AuthChecker<RequestContext, Role> = ({ context, info }, roles) => {
  const role = roleOf(context.viewer);
  const mutation = info.parentType.name === 'Mutation';
  if (role === null)
    throw unauthenticated(mutation ? `${info.fieldName} needs a bearer token` : 'this field needs a bearer token', 'NO_TOKEN');
  if (!roles.includes(role)) {
    throw forbidden(
      mutation
        ? `a ${role} token may not perform ${info.fieldName}`
        : `a ${role} token may not read ${info.parentType.name}.${info.fieldName}`,
    );
  }
  return true;
};

/**
 * Builds the schema with resolver instances made by the composition root (no global container),
 * so each resolver gets exactly the services it names; served as a Federation 2 subgraph
 * (federation.ts), its entities found through `references`.
 */
export async function buildHubSchema(
  resolvers: ReadonlyArray<object>,
  references: ReferenceResolvers,
  options: SubgraphOptions,
): Promise<GraphQLSchema> {
  const byClass = new Map<unknown, object>(resolvers.map((resolver) => [resolver.constructor, resolver]));
  const schema = await buildSchema({
    resolvers: resolverClasses,
    container: {
      get: (someClass: unknown) => {
        const resolver = byClass.get(someClass);
        if (!resolver) throw new GraphQLError(`no resolver instance for ${String(someClass)}`);
        return resolver;
      },
    },
    authChecker,
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
  });
  return toSubgraphSchema(schema, references, options);
}

/** The subgraph schema for printing (schema/schema.graphql, docs/federation.md): resolvers are never called. */
export async function buildSchemaForPrinting(): Promise<GraphQLSchema> {
  const schema = await buildSchema({ resolvers: resolverClasses, authChecker, validate: false, container: { get: () => ({}) } });
  const unused = () => Promise.reject(new GraphQLError('a schema built for printing resolves nothing'));
  return toSubgraphSchema(schema, { Member: unused, Partner: unused }, { publicSdl: false });
}
