export * from './protocol';
export * from './errors';
export { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes';
export { generatePartnerKey, exportPrivateJwk, importPartnerKey, type PartnerKey, type SigningKey } from './keys';
export {
  normaliseAmount,
  type Amount,
  type EnrollFields,
  type PointsFields,
  type FieldsByOp,
  type EnrollClaimsFields,
  type PointsClaimsFields,
  type AuthorizeFields,
  type CaptureFields,
  type VoidFields,
  type ReverseFields,
  type TransferFields,
  type AcknowledgeFields,
  type DisputeFields,
  type ActivityFields,
  type ActivityLine,
} from './fields';
export {
  signInstruction,
  resignInstruction,
  type InstructionClaims,
  type InstructionClaimsBase,
  type SignInstructionInput,
  type SignedInstruction,
} from './instructions';
export { signAccessToken, type AccessTokenInput, type AccessTokenClaims } from './tokens';
export {
  verifyReceipt,
  hubJwks,
  type JwksGetter,
  type ReceiptClaims,
  type EnrollReceiptClaims,
  type PointsReceiptClaims,
  type HoldReceiptClaims,
  type ActivityReceiptClaims,
  type StatementReceiptClaims,
  type VerifyReceiptOptions,
} from './receipts';
export {
  MUTATIONS,
  BATCH_MUTATION,
  INSTRUCTION_RECEIPT_QUERY,
  EVENTS_QUERY,
  SUCCESS_TYPENAME,
  type EnrollReceiptData,
  type IssueReceiptData,
  type RedeemReceiptData,
  type HoldReceiptData,
  type ReversalReceiptData,
  type TransferReceiptData,
  type AcknowledgementReceiptData,
  type DisputeReceiptData,
  type ConsumedLot,
  type ReceiptDataByOp,
  type ActivityReceiptData,
  type ActivityContributionData,
  type ActivityStampsData,
  type InstructionReceiptData,
} from './documents';
export type { FetchLike } from './graphql';
export {
  PERSISTED_QUERY_MANIFEST_FORMAT,
  operationId,
  persistedOperationManifest,
  persistedQueryExtension,
  type PersistedOperation,
  type PersistedOperationManifest,
} from './persisted';
export {
  PartnerClient,
  DEFAULT_TIMEOUT_MS,
  type PartnerClientOptions,
  type EventsOptions,
  type EventPage,
  type RetryOptions,
  type SubmitOptions,
  type Outcome,
  type SuccessOutcome,
  type FailureOutcome,
  type FetchedReceipt,
  type BatchItemOutcome,
  type BatchItemFailed,
  type BatchInstructionInput,
} from './client';
export {
  OfflineQueue,
  isDefinitive,
  replayQueueLog,
  type OfflineQueueOptions,
  type QueueClient,
  type QueuedInstruction,
  type DrainResult,
} from './offline-queue';
export {
  STATEMENT_TYP,
  StatementDigest,
  statementDigest,
  verifyStatement,
  type StatementHeader,
  type StatementLine,
  type StatementTotals,
  type StatementKindTotal,
  type StatementDocument,
  type StatementClaims,
  type VerifyStatementOptions,
} from './statements';
export {
  EVENT_TYPES,
  isEventType,
  WEBHOOK_HEADERS,
  WEBHOOK_SIGNATURE_HMAC,
  WEBHOOK_SIGNATURE_ED25519,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_SECRET_BYTES_MIN,
  WEBHOOK_SECRET_BYTES_MAX,
  WEBHOOK_TOLERANCE_SECONDS_DEFAULT,
  WEBHOOK_ID_PATTERN,
  WEBHOOK_TIMESTAMP_PATTERN,
  webhookSignedContent,
  decodeWebhookSecret,
  type EventType,
  type EventEnvelope,
} from './events';
export { verifyWebhook, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks';
