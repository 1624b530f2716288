import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * Refuses an operation whose root type the schema does not have: the hub has no Subscription
 * type, and graphql 16 only notices that while executing (an internal error). As a validation
 * error it is an HTTP 400 with a message that says what to do.
 */
export function supportedOperationRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      const schema = context.getSchema();
      const root =
        node.operation === 'query'
          ? schema.getQueryType()
          : node.operation === 'mutation'
            ? schema.getMutationType()
            : schema.getSubscriptionType();
      if (!root) {
        context.reportError(new GraphQLError(`this hub has no ${node.operation} operations: send a query or a mutation`, { nodes: node }));
      }
    },
  };
}
