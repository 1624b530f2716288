/** Every bound the hub enforces, in one place (TigerBeetle style: an explicit limit on everything). */
export const limits = {
  /**
   * Largest amount of one instruction, in CP: a trillion, far above any real basket, and ~9
   * million maximal issues away from the bigint limit (which is refused as InvalidAmount too).
   */
  amountMax: 1_000_000_000_000n,
  /** A compact JWS longer than this is refused before it is parsed. */
  instructionBytesMax: 16 * 1024,
  /** Member and order references, jti, kid. */
  referenceLengthMax: 128,
  /** Page size of every connection. */
  pageSizeMax: 100,
  pageSizeDefault: 20,
  /** GraphQL request protection. */
  queryDepthMax: 8,
  /** See src/graphql/cost-plugin.ts: ~1 per object, pages multiply; a default page of 20 statement documents fits. */
  queryCostMax: 1000,
  queryAliasesMax: 15,
  queryTokensMax: 2000,
  /** Representations in one federated `_entities` call (a page's worth); each also multiplies the query cost. */
  entityRepresentationsMax: 100,
  requestBodyBytesMax: 64 * 1024,
  /** A larger body is still read and discarded up to this size, so that its sender sees the 413; beyond, the connection is cut. */
  requestBodyDrainBytesMax: 16 * 1024 * 1024,
  /** Keys a partner may hold at once (rotation needs two). */
  partnerKeysMax: 10,
  /** Operations an operator may register for one partner's safelist, besides the SDK's (docs/security.md). */
  persistedOperationsPerPartnerMax: 200,
  /** Retries of a database transaction that failed with a serialization error or deadlock. */
  transactionRetriesMax: 5,
  /** Statements up to this many lines come whole through GraphQL (Statement.document); larger ones stream from the CLI. */
  statementDocumentLinesMax: 10_000,
  /** Signed instructions in one submitInstructions batch (docs/batches.md). */
  batchInstructionsMax: 500,
  /**
   * Body of a request whose only field is submitInstructions: room for a full batch of the
   * largest instructions (a JSON string each, with its quotes and comma) and the query around it.
   */
  batchBodyBytesMax: 500 * (16 * 1024 + 3) + 64 * 1024,
  /** Lines one dispute may name. */
  disputeLinesMax: 1000,
  /** A sandbox test clock (docs/sandbox.md): its name, how far in the past it may start, how far one advance may go. */
  testClockNameLengthMax: 200,
  testClockStartPastSecondsMax: 300,
  testClockAdvanceDaysMax: 7305,
  /** Due times one advance runs the jobs at, at most: a guard against a loop that would not end. */
  testClockAdvanceStepsMax: 100_000,
} as const;
