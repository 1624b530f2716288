import type { ApolloServerPlugin } from '@apollo/server';
import type { HubMetrics } from '../http/metrics';
import type { RequestContext } from './context';

/** Mutations that carry partner-signed instructions, by field name. */
const INSTRUCTION_FIELDS = new Set(['enrollMember', 'issuePoints', 'redeemPoints']);

/**
 * Records how each GraphQL request ended — the result type of each mutation (IssueReceipt,
 * InsufficientBalance, …; result classes are named after their GraphQL types) or the error
 * codes — for the request's log line and for metrics, whatever the client selected.
 */
export function outcomePlugin(metrics: HubMetrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const outcomes: string[] = [];
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (info.parentType.name !== 'Mutation') return;
              return (error, result) => {
                const typename = error ? 'error' : ((result as object | null)?.constructor?.name ?? 'null');
                outcomes.push(`${info.fieldName}:${typename}`);
                if (INSTRUCTION_FIELDS.has(info.fieldName)) metrics.instruction(info.fieldName, typename);
              };
            },
          };
        },
        async willSendResponse({ response, contextValue }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (errors?.length) outcomes.push(...new Set(errors.map((error) => `error:${String(error.extensions?.code ?? 'UNKNOWN')}`)));
          contextValue.telemetry.outcome = outcomes.length ? outcomes.join(',') : 'ok';
        },
      };
    },
  };
}
