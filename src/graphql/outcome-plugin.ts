import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type GraphQLObjectType } from 'graphql';
import type { HubMetrics } from '../common/metrics';
import type { RequestContext } from './context';
import type { InstructionBatch } from './types/batch.type';
import type { BatchTooLarge } from './types/error-result.type';
import { INSTRUCTION_MUTATIONS, instructionOpOf, isInstructionMutation } from './instruction-ops';

const BATCH_MUTATION = 'submitInstructions';

/**
 * Counts each instruction of a batch as a single one is counted: by its op (unknown when it did not
 * verify) and its result type ('error' for an item that failed internally). A batch refused whole
 * (BatchTooLarge) counts each of its instructions under op unknown. Returns how many were counted.
 */
function countBatch(metrics: HubMetrics, result: unknown): number {
  // By class name, as outcomes are read (result classes are named after their GraphQL types): this
  // plugin loads no GraphQL type classes.
  const typename = (result as object | null)?.constructor?.name;
  if (typename === 'InstructionBatch') {
    const { results } = result as InstructionBatch;
    for (const item of results) {
      let outcome: string;
      try {
        outcome = item.result?.constructor.name ?? 'null';
      } catch {
        outcome = 'error';
      }
      metrics.instruction(item.op ?? 'unknown', outcome);
    }
    return results.length;
  }
  if (typename === 'BatchTooLarge') {
    const { received } = result as BatchTooLarge;
    metrics.instruction('unknown', 'BatchTooLarge', received);
    return received;
  }
  return 0;
}

/** A Mutation field is a signed instruction when it takes an `instruction` argument. */
const takesInstruction = (mutation: GraphQLObjectType, fieldName: string): boolean =>
  mutation.getFields()[fieldName]?.args.some((argument) => argument.name === 'instruction') ?? false;

/**
 * The ops a request asked for when it was refused before any field ran (a syntax error, a
 * validation or cost refusal): read from the parsed document when there is one, else from the
 * text; `unknown` when it carried an instruction but no signed mutation can be read from it.
 */
export function requestedOps(
  document: DocumentNode | undefined,
  query: string | undefined,
  variables: Record<string, unknown> | undefined,
): string[] {
  if (document) {
    const ops: string[] = [];
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'mutation') continue;
      for (const selection of definition.selectionSet.selections) {
        if (selection.kind !== Kind.FIELD) continue;
        // A misspelt or unknown mutation that carries an instruction still counts, as op "unknown".
        const carriesInstruction = selection.arguments?.some((argument) => argument.name.value === 'instruction') ?? false;
        if (selection.name.value === BATCH_MUTATION) ops.push('unknown');
        if (isInstructionMutation(selection.name.value) || carriesInstruction) ops.push(instructionOpOf(selection.name.value));
      }
    }
    return ops;
  }
  const text = typeof query === 'string' ? query : '';
  const named = Object.keys(INSTRUCTION_MUTATIONS).filter((field) => new RegExp(`\\b${field}\\b`).test(text));
  if (named.length) return named.map(instructionOpOf);
  return /\binstruction\b/.test(text) || (variables !== undefined && typeof variables === 'object' && 'instruction' in variables)
    ? ['unknown']
    : [];
}

/**
 * Records how each GraphQL request ended — the result type of each mutation (IssueReceipt,
 * InsufficientBalance, …; result classes are named after their GraphQL types) or the error
 * codes — for the request's log line and for metrics, whatever the client selected. This is the
 * one place where signed instructions are counted: every signed mutation and every outcome,
 * refusals of the whole request included.
 */
export function outcomePlugin(metrics: HubMetrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const outcomes: string[] = [];
      let instructionsCounted = 0;
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (info.parentType.name !== 'Mutation') return;
              if (info.fieldName === BATCH_MUTATION) {
                return (error, result) => {
                  const typename = error ? 'error' : ((result as object | null)?.constructor?.name ?? 'null');
                  outcomes.push(`${info.fieldName}:${typename}`);
                  instructionsCounted += countBatch(metrics, result);
                };
              }
              const signed = takesInstruction(info.parentType, info.fieldName);
              return (error, result) => {
                const typename = error ? 'error' : ((result as object | null)?.constructor?.name ?? 'null');
                outcomes.push(`${info.fieldName}:${typename}`);
                if (signed) {
                  metrics.instruction(instructionOpOf(info.fieldName), typename);
                  instructionsCounted += 1;
                }
              };
            },
          };
        },
        async willSendResponse({ response, contextValue, document, request }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const codes = [...new Set((errors ?? []).map((error) => `error:${String(error.extensions?.code ?? 'UNKNOWN')}`))];
          outcomes.push(...codes);
          if (instructionsCounted === 0 && codes.length) {
            for (const op of requestedOps(document, request.query, request.variables)) metrics.instruction(op, codes[0]!);
          }
          contextValue.telemetry.outcome = outcomes.length ? outcomes.join(',') : 'ok';
        },
      };
    },
  };
}
