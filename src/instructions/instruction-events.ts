import type { InstructionClaims } from '../common/claims';
import type { NewEvent } from '../outbox/outbox';

/** The fields of an operation's result that its events report (docs/events.md). */
type ResultData = Record<string, unknown> & { memberId: string | null };

/** The optional fields, only when set. */
function present(fields: Record<string, unknown>): NewEvent['data'] {
  const out: NewEvent['data'] = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    out[key] = typeof value === 'object' ? (value as Record<string, unknown>) : String(value);
  }
  return out;
}

/**
 * The events of an accepted partner instruction (docs/events.md), built from the data the
 * operation returned. The caller writes them in the instruction's own transaction, so that a
 * refused or rolled-back instruction has none, and a replay (which returns the stored result
 * without applying anything) writes none again. Enrolment writes its own events (whether the
 * member is new is not in its result).
 */
export function eventsOf(claims: InstructionClaims, partnerId: string, data: ResultData, now: Date): NewEvent[] {
  const event = (type: NewEvent['type'], fields: Record<string, unknown>): NewEvent => ({
    type,
    partnerId,
    memberId: data.memberId,
    occurredAt: now,
    data: { jti: claims.jti, ...present(fields) },
  });
  const orderRef = 'orderRef' in claims ? claims.orderRef : null;
  switch (claims.op) {
    case 'issue':
      return [
        event('points.issued', {
          entryId: data.entryId,
          asset: data.asset ?? 'CP',
          amount: data.amount,
          balance: data.balance,
          orderRef,
          vestsAt: data.vestsAt,
          baseAmount: (data.rates as Record<string, string> | undefined)?.baseAmount,
          tier: (data.rates as Record<string, string> | undefined)?.tier,
        }),
      ];
    case 'redeem':
      return [redeemed(event, data, orderRef)];
    case 'authorize':
      return [
        event('hold.authorized', {
          holdId: data.holdId,
          amount: data.amount,
          available: data.available,
          expiresAt: data.expiresAt,
          orderRef,
        }),
      ];
    case 'capture':
      return [
        event('hold.captured', { holdId: data.holdId, entryId: data.entryId, amount: data.amount, balance: data.balance, orderRef }),
        redeemed(event, data, orderRef),
      ];
    case 'void':
      return [event('hold.voided', { holdId: data.holdId, amount: data.amount, available: data.available })];
    case 'reverse':
      return [
        event('points.reversed', {
          entryId: data.entryId,
          reversesEntryId: data.reversesEntryId,
          asset: 'CP',
          amount: data.amount,
          balance: data.balance,
          orderRef,
        }),
      ];
    case 'transfer':
      return [
        event('points.transferred', {
          entryId: data.entryId,
          toMemberId: data.toMemberId,
          asset: 'CP',
          amount: data.amount,
          balance: data.balance,
          orderRef,
        }),
      ];
    case 'acknowledge':
      return [event('statement.acknowledged', { statementId: data.statementId, digest: data.digest, status: data.status })];
    case 'dispute':
      return [
        event('statement.disputed', {
          statementId: data.statementId,
          digest: data.digest,
          status: data.status,
          disputeId: data.disputeId,
          lines: data.lines,
        }),
      ];
    case 'redeem_reward':
      return [redeemed(event, data, orderRef)];
    case 'activity':
      // An activity that moved points reports them as an issue (a purchase or action) or a reversal (a return).
      if (!data.entryId) return [];
      return [
        data.reversesEntryId
          ? event('points.reversed', {
              entryId: data.entryId,
              reversesEntryId: data.reversesEntryId,
              asset: 'CP',
              amount: data.amount,
              balance: data.balance,
              orderRef,
            })
          : event('points.issued', {
              entryId: data.entryId,
              asset: 'CP',
              amount: data.amount,
              balance: data.balance,
              orderRef,
              vestsAt: data.vestsAt,
            }),
      ];
    case 'enroll':
    case 'use_entitlement':
      return [];
    case 'grant':
      return [
        event('points.granted', {
          entryId: data.entryId,
          asset: 'CP',
          amount: data.amount,
          balance: data.balance,
          kind: data.kind,
          reasonCode: data.reasonCode,
          caseReference: data.caseReference,
        }),
      ];
  }
}

function redeemed(event: (type: NewEvent['type'], fields: Record<string, unknown>) => NewEvent, data: ResultData, orderRef: string | null) {
  return event('points.redeemed', {
    entryId: data.entryId,
    asset: data.asset ?? 'CP',
    amount: data.amount,
    balance: data.balance,
    holdId: data.holdId,
    orderRef,
    consumed: data.consumed,
  });
}
