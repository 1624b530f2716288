import { DomainError, ErrorCode, fail } from '../common/errors';
import type { TierService } from '../members/tiers';

/** What every operation gets from the instruction path: who asks, the request, the entry id to use, the time. */
export interface MovementContext {
  partnerId: string;
  requestHash: string;
  entryId: string;
  now: Date;
  counterShards: number;
  tiers: TierService;
}

/** What the hub tells the partner (and signs in the receipt) after an issue or a redemption. */
export interface MovementResult {
  entryId: string;
  memberId: string;
  amount: string;
  balance: string;
  recordedAt: string;
  /** The entry's postings and the contract prices it used, as signed in the receipt (docs/protocol.md, "Receipts"). */
  postings: Array<{ account: string; amount: string }>;
  rates: Record<string, string>;
  /** Set for a partner's own unit; absent means CP. */
  asset?: string;
  /** For pending points: when they become spendable. */
  vestsAt?: string;
  consumed?: Array<{ issuerPartnerId: string; amount: string }>;
}

/** What an entry records of the instruction that made it. */
export interface EntrySource {
  jti: string;
  orderRef: string | null;
  occurredAt: Date;
}

export const unknownMember = (context: MovementContext, memberRef: string): DomainError<ErrorCode.UNKNOWN_MEMBER> =>
  fail(ErrorCode.UNKNOWN_MEMBER, `no member ${memberRef} is enrolled at ${context.partnerId}`);
