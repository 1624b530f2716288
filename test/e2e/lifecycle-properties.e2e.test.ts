import fc from 'fast-check';
import { hashEmail, signInstruction, type FieldsByOp, type Op, type Outcome } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { ledgerSnapshot, snapshotDelta, type LedgerSnapshot } from './support/ledger-snapshot';

/**
 * Property (issue #3, "Tests that must exist"): random sequences of issue / redeem / authorize /
 * capture / void / reverse / transfer / clock moves / expiry runs, at partners with different
 * contracts (lot lifetimes 1, 12, 24 months; transfers allowed or not; a 14-day return window),
 * for members linked across all partners, never create or destroy a point and keep every
 * invariant of DESIGN.md §7 items 1–3. A model kept here (lots with issuer, issue time, expiry and
 * vesting; holds; reversible entries) predicts every outcome, accepted or refused, the receipts'
 * numbers, and each member's balance, pending and available points and open lots after every
 * step; a refusal (and a replay) writes nothing; every accepted step moves the member wallets by
 * exactly what it says; at the end, wallets + breakage = issued − redeemed ∓ reversals.
 * Reproduce a failure with FC_SEED (printed by fast-check); FC_RUNS sets the number of runs
 * (the EXAMPLES count among them).
 */
let hub: TestHub;
let partners: TestPartner[];
let run = 0;

const DAY_MS = 86_400_000;
/** Expires 300-second holds, not 7-day ones, and no lot. */
const SHORT_ADVANCE_MS = 10 * 60_000;
/** Expires every hold and every one-month lot (at the next expiry run). */
const LONG_ADVANCE_MS = 40 * DAY_MS;
/** Between runs: past every lot's lifetime (≤ 24 months), so the previous run leaves no open lot behind. */
const FLUSH_MS = 740 * DAY_MS;
const SHORT_HOLD_SECONDS = 300;
const LONG_HOLD_SECONDS = 7 * 24 * 3600;

/** MID issues pending points: a 14-day return window (vested by a 40-day advance, not by 10 minutes). */
const CONTRACTS = [
  { id: 'SHORT', alg: 'EdDSA', lotLifetimeMonths: 1, transfersAllowed: true, pendingDays: 0 },
  { id: 'LONG', alg: 'ES256', lotLifetimeMonths: 24, transfersAllowed: false, pendingDays: 0 },
  { id: 'MID', alg: 'EdDSA', lotLifetimeMonths: 12, transfersAllowed: true, pendingDays: 14 },
] as const;
const MEMBERS = 3;

beforeAll(async () => {
  hub = await TestHub.start();
  partners = [];
  for (const contract of CONTRACTS) {
    partners.push(await hub.registerPartner(contract.id, contract.alg));
    const set = await hub.graphql(
      `mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { __typename } }`,
      {
        id: contract.id,
        input: { lotLifetimeMonths: contract.lotLifetimeMonths, transfersAllowed: contract.transfersAllowed, pendingDays: contract.pendingDays },
      },
      await hub.operatorToken(),
    );
    if (set.data?.setPartnerContract?.__typename !== 'PartnerContract') throw new Error(JSON.stringify(set));
  }
});

afterAll(() => hub.stop());

// ---------------------------------------------------------------------------------------------
// Steps

/** An amount either absolute or relative to the step's limit (what the model says is allowed): limit − 1, limit, limit + 1. */
type AmountSpec = { abs: number } | { rel: -1 | 0 | 1 };

type Step =
  | { kind: 'issue'; partner: number; member: number; amount: number }
  | { kind: 'redeem'; partner: number; member: number; amount: AmountSpec }
  | { kind: 'authorize'; partner: number; member: number; amount: AmountSpec; longHold: boolean }
  /**
   * hold/entry: index (mod how many exist) into the run's holds, pending ones first, or entries,
   * issues and redemptions first, newest first; other: 0 = the owning partner, 1/2 = another.
   */
  | { kind: 'capture'; hold: number; other: number; amount: AmountSpec }
  | { kind: 'void'; hold: number; other: number }
  | { kind: 'reverse'; entry: number; other: number; amount: AmountSpec }
  | { kind: 'transfer'; partner: number; member: number; to: number; amount: AmountSpec }
  | { kind: 'advance'; long: boolean }
  | { kind: 'expire' }
  /** Sends the last accepted instruction again: the original receipt, nothing written. */
  | { kind: 'replay' };

const partnerArb = fc.integer({ min: 0, max: CONTRACTS.length - 1 });
const memberArb = fc.integer({ min: 0, max: MEMBERS - 1 });
const otherArb = fc.integer({ min: 0, max: 5 }).map((v) => (v < 4 ? 0 : v - 3));
const amountArb: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 200 }).map((abs) => ({ abs })) },
  { weight: 2, arbitrary: fc.constantFrom(0 as const, -1 as const, 1 as const).map((rel) => ({ rel })) },
);
/** Mostly the first candidate (the newest pending hold, the newest reversible entry), sometimes any. */
const indexArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat({ max: 50 }) });

const issueArb = fc.record({ kind: fc.constant('issue' as const), partner: partnerArb, member: memberArb, amount: fc.integer({ min: 1, max: 600 }) });

const authorizeArb = fc.record({ kind: fc.constant('authorize' as const), partner: partnerArb, member: memberArb, amount: amountArb, longHold: fc.boolean() });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: issueArb },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redeem' as const), partner: partnerArb, member: memberArb, amount: amountArb }) },
  { weight: 3, arbitrary: authorizeArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('capture' as const), hold: indexArb, other: otherArb, amount: amountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), hold: indexArb, other: otherArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reverse' as const), entry: indexArb, other: otherArb, amount: amountArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('transfer' as const), partner: partnerArb, member: memberArb, to: fc.integer({ min: 1, max: MEMBERS - 1 }), amount: amountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), long: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const) }) },
);

/** A few issues and maybe a hold first (so that later steps have points, holds and entries to work on), then anything. */
const sequenceArb: fc.Arbitrary<Step[]> = fc
  .tuple(
    fc.array(issueArb, { minLength: 1, maxLength: 3 }),
    fc.option(authorizeArb, { nil: undefined }),
    fc.array(stepArb, { minLength: 4, maxLength: 21, size: 'max' }),
  )
  .map(([issues, hold, rest]) => [...issues, ...(hold ? [hold] : []), ...rest]);

/** Paths random runs reach only rarely, always run first. */
const EXAMPLES: Step[][] = [
  // A refund after the points' lot expired gives them back to that lot: breakage in waiting, not
  // spendable or holdable, swept by the next expiry run.
  [
    { kind: 'issue', partner: 0, member: 0, amount: 100 },
    { kind: 'redeem', partner: 1, member: 0, amount: { abs: 100 } },
    { kind: 'advance', long: true },
    { kind: 'reverse', entry: 0, other: 0, amount: { abs: 100 } },
    { kind: 'authorize', partner: 1, member: 0, amount: { abs: 100 }, longHold: true },
    { kind: 'redeem', partner: 2, member: 0, amount: { abs: 1 } },
    { kind: 'issue', partner: 1, member: 0, amount: 10 },
    { kind: 'authorize', partner: 1, member: 0, amount: { rel: 0 }, longHold: true },
    { kind: 'expire' },
    { kind: 'capture', hold: 0, other: 0, amount: { rel: 0 } },
    { kind: 'reverse', entry: 0, other: 0, amount: { rel: 0 } },
  ],
  // Lots going there and back keep issuer, issue time and expiry; FIFO ties by creation; refunds return to them.
  [
    { kind: 'issue', partner: 0, member: 0, amount: 100 },
    { kind: 'issue', partner: 1, member: 0, amount: 50 },
    { kind: 'transfer', partner: 2, member: 0, to: 1, amount: { abs: 60 } },
    { kind: 'transfer', partner: 0, member: 1, to: 2, amount: { abs: 30 } },
    { kind: 'redeem', partner: 1, member: 0, amount: { rel: 0 } },
    { kind: 'reverse', entry: 0, other: 0, amount: { abs: 45 } },
    { kind: 'transfer', partner: 1, member: 0, to: 1, amount: { abs: 1 } },
    { kind: 'advance', long: true },
    { kind: 'transfer', partner: 0, member: 1, to: 1, amount: { abs: 1 } },
    { kind: 'expire' },
  ],
  // Pending points: in the balance, not spendable, refunded straight out of their lot, vested by time.
  [
    { kind: 'issue', partner: 2, member: 0, amount: 100 },
    { kind: 'issue', partner: 0, member: 0, amount: 50 },
    { kind: 'authorize', partner: 1, member: 0, amount: { rel: 1 }, longHold: false },
    { kind: 'authorize', partner: 1, member: 0, amount: { rel: 0 }, longHold: false },
    { kind: 'reverse', entry: 1, other: 0, amount: { abs: 40 } },
    { kind: 'transfer', partner: 2, member: 0, to: 1, amount: { abs: 1 } },
    { kind: 'advance', long: false },
    { kind: 'capture', hold: 0, other: 0, amount: { abs: 1 } },
    { kind: 'advance', long: true },
    { kind: 'expire' },
    { kind: 'redeem', partner: 0, member: 0, amount: { rel: 0 } },
  ],
];

function resolveAmount(spec: AmountSpec, limit: number): number {
  return 'abs' in spec ? spec.abs : Math.max(1, limit + spec.rel);
}

// ---------------------------------------------------------------------------------------------
// Model

interface ModelLot {
  /** Creation order; the hub's lot ids grow the same way, and break FIFO ties. */
  seq: number;
  member: number;
  issuer: number;
  issuedAt: number;
  expiresAt: number;
  /** Pending (in the issuer's return window) until then; null: spendable at once. */
  vestsAt: number | null;
  remaining: number;
}

interface ModelHold {
  id: string;
  partner: number;
  member: number;
  amount: number;
  expiresAt: number;
  status: 'pending' | 'captured' | 'voided';
}

interface ModelEntry {
  id: string;
  type: 'issue' | 'redeem' | 'reversal' | 'transfer';
  partner: number;
  member: number;
  amount: number;
  reversed: number;
  /** issue: the lot it made. */
  lot?: ModelLot;
  /** redeem/capture: what it still holds of each lot, net of reversals. */
  consumed?: Map<ModelLot, number>;
}

/** Adds whole months in UTC, clamping to the month's last day (the contract's lot lifetime). */
function addMonths(ms: number, months: number): number {
  const date = new Date(ms);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
  return date.getTime();
}

const fifo = (a: ModelLot, b: ModelLot): number => a.expiresAt - b.expiresAt || a.issuedAt - b.issuedAt || a.seq - b.seq;

class Model {
  lots: ModelLot[] = [];
  holds: ModelHold[] = [];
  entries: ModelEntry[] = [];
  totals = { issued: 0, redeemed: 0, issueReversed: 0, redemptionReversed: 0, expired: 0 };
  private seq = 0;

  newLot(lot: Omit<ModelLot, 'seq'>): ModelLot {
    const made = { ...lot, seq: (this.seq += 1) };
    this.lots.push(made);
    return made;
  }

  openLots(member: number): ModelLot[] {
    return this.lots.filter((lot) => lot.member === member && lot.remaining > 0).sort(fifo);
  }

  /**
   * Open lots that may be spent at `now`, of `issuers` (default all), in spending order: vested,
   * and not past their expiry (a lot past it is breakage in waiting until the expiry job sweeps it).
   * `outliving`: only lots that are still unexpired then (what a hold lasting until then may count on).
   */
  spendableLots(member: number, now: number, issuers?: readonly number[], outliving = now): ModelLot[] {
    return this.openLots(member).filter(
      (lot) => (lot.vestsAt === null || lot.vestsAt <= now) && lot.expiresAt > outliving && (!issuers || issuers.includes(lot.issuer)),
    );
  }

  /** Points past their lot's expiry that the expiry job has not swept yet. */
  expiredUnswept(member: number, now: number): number {
    return this.openLots(member).filter((lot) => lot.expiresAt <= now).reduce((sum, lot) => sum + lot.remaining, 0);
  }

  pending(member: number, now: number): number {
    return this.openLots(member).filter((lot) => lot.vestsAt !== null && lot.vestsAt > now).reduce((sum, lot) => sum + lot.remaining, 0);
  }

  balance(member: number): number {
    return this.openLots(member).reduce((sum, lot) => sum + lot.remaining, 0);
  }

  held(member: number, now: number): number {
    return this.holds.filter((h) => h.member === member && h.status === 'pending' && h.expiresAt > now).reduce((sum, h) => sum + h.amount, 0);
  }

  /** What cannot be spent now: points on hold, points not yet vested, points past their expiry. */
  reserved(member: number, now: number): number {
    return this.held(member, now) + this.pending(member, now) + this.expiredUnswept(member, now);
  }

  /**
   * What a new hold until `until` may take: spendable points whose lots outlive it, less every
   * other active hold (conservative), so that expiry never takes held points.
   */
  holdable(member: number, now: number, until: number): number {
    const outliving = this.spendableLots(member, now, undefined, until).reduce((sum, lot) => sum + lot.remaining, 0);
    return Math.min(this.spendable(member, now), outliving - this.held(member, now));
  }

  spendable(member: number, now: number): number {
    return this.balance(member) - this.reserved(member, now);
  }

  /** Takes `amount` first-expiring-first-out from the member's vested lots (of `issuers`, default all). */
  take(member: number, amount: number, now: number, issuers?: readonly number[]): Array<{ lot: ModelLot; amount: number }> {
    const takes: Array<{ lot: ModelLot; amount: number }> = [];
    let left = amount;
    for (const lot of this.spendableLots(member, now, issuers)) {
      if (left === 0) break;
      const take = Math.min(lot.remaining, left);
      lot.remaining -= take;
      left -= take;
      takes.push({ lot, amount: take });
    }
    if (left !== 0) throw new Error(`model: lots fall ${left} short`);
    return takes;
  }
}

function byIssuer(takes: Array<{ lot: ModelLot; amount: number }>): Record<string, string> {
  const totals: Record<string, number> = {};
  for (const { lot, amount } of takes) totals[CONTRACTS[lot.issuer]!.id] = (totals[CONTRACTS[lot.issuer]!.id] ?? 0) + amount;
  return Object.fromEntries(Object.entries(totals).map(([issuer, total]) => [issuer, String(total)]));
}

function consumedOf(list: Array<{ issuerPartnerId: string; amount: string }>): Record<string, string> {
  return Object.fromEntries(list.map((c) => [c.issuerPartnerId, c.amount]));
}

// ---------------------------------------------------------------------------------------------
// Hub plumbing

/** Signs on the hub's clock (the tests move it) and sends through the SDK, which verifies the receipt. */
async function send<O extends Op>(partner: number, op: O, fields: FieldsByOp[O]): Promise<{ outcome: Outcome<O>; jws: string }> {
  const p = partners[partner]!;
  const signed = await signInstruction({ partnerId: p.id, hubId: HUB_ID, key: p.key, op, fields, now: hub.clock.now() });
  return { outcome: await p.client.submitSigned(op, signed.jws), jws: signed.jws };
}

/** What a refusal looks like next to the model's prediction (an acceptance shows its data). */
function verdict(outcome: Outcome): string {
  return outcome.ok ? `accepted ${JSON.stringify(outcome.data)}` : outcome.typename;
}

async function breakage(): Promise<bigint> {
  const [row] = await hub.hub.dataSource.query(
    `SELECT coalesce(sum(b.balance), 0)::text AS total FROM account a JOIN account_balance b ON b.account_id = a.id WHERE a.kind = 'breakage'`,
  );
  return BigInt(row.total);
}

async function runExpiry(): Promise<{ ran: boolean; pointsExpired: string }> {
  const result = await hub.graphql('mutation { runExpiry { ran pointsExpired } }', {}, await hub.operatorToken());
  if (!result.data?.runExpiry) throw new Error(JSON.stringify(result));
  return result.data.runExpiry;
}

const ME = '{ me { balance pending available lots(first: 100) { edges { node { issuerPartnerId remaining issuedAt expiresAt vestsAt } } } } }';

async function memberView(ref: string) {
  const me = (await hub.graphql(ME, {}, await hub.memberToken(partners[0]!, ref))).data?.me;
  return { balance: me.balance, pending: me.pending, available: me.available, lots: me.lots.edges.map((edge: any) => edge.node) };
}

function modelView(model: Model, member: number, now: number) {
  return {
    balance: String(model.balance(member)),
    pending: String(model.pending(member, now)),
    available: String(model.spendable(member, now)),
    lots: model.openLots(member).map((lot) => ({
      issuerPartnerId: CONTRACTS[lot.issuer]!.id,
      remaining: String(lot.remaining),
      issuedAt: new Date(lot.issuedAt).toISOString(),
      expiresAt: new Date(lot.expiresAt).toISOString(),
      vestsAt: lot.vestsAt === null ? null : new Date(lot.vestsAt).toISOString(),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// One run

interface Accepted {
  partner: number;
  op: Op;
  jws: string;
  id: string;
}

async function runSequence(steps: Step[], trace: string[]): Promise<void> {
  run += 1;
  // Whatever the previous run left open expires now, so that breakage during this run is this run's.
  hub.clock.advance(FLUSH_MS);
  expect((await runExpiry()).ran).toBe(true);
  const breakageBefore = await breakage();
  const refs = Array.from({ length: MEMBERS }, (_, m) => `lc${run}-m${m}`);
  for (const ref of refs) {
    for (const [p] of partners.entries()) {
      const { outcome } = await send(p, 'enroll', { member: ref, emailHash: hashEmail(`${ref}@example.com`) });
      if (!outcome.ok) throw new Error(JSON.stringify(outcome));
    }
  }
  const model = new Model();
  let last: Accepted | null = null;

  for (const [index, step] of steps.entries()) {
    const before: LedgerSnapshot = await ledgerSnapshot(hub);
    const now = hub.clock.now().getTime();
    /** What the accepted step moves into (+) or out of (−) member wallets, all members together. */
    let walletDelta = 0;
    let outcome: Outcome | null = null;
    let described = '';

    try {
      switch (step.kind) {
        case 'issue': {
          const { partner: p, member: m, amount } = step;
          described = `issue ${amount} at ${CONTRACTS[p]!.id} to m${m}`;
          const sent = await send(p, 'issue', { member: refs[m]!, amount: String(amount) });
          outcome = sent.outcome;
          if (!sent.outcome.ok) throw new Error(`issue refused: ${verdict(sent.outcome)}`);
          expect(sent.outcome.data.balance).toBe(String(model.balance(m) + amount));
          const at = Date.parse(sent.outcome.data.recordedAt);
          const { lotLifetimeMonths, pendingDays } = CONTRACTS[p]!;
          const vestsAt = pendingDays > 0 ? at + pendingDays * DAY_MS : null;
          // The SDK does not select vestsAt; the signed receipt carries it.
          expect((sent.outcome.receipt as { vestsAt?: string }).vestsAt ?? null).toBe(vestsAt === null ? null : new Date(vestsAt).toISOString());
          const lot = model.newLot({ member: m, issuer: p, issuedAt: at, expiresAt: addMonths(at, lotLifetimeMonths), vestsAt, remaining: amount });
          model.entries.push({ id: sent.outcome.data.entryId, type: 'issue', partner: p, member: m, amount, reversed: 0, lot });
          model.totals.issued += amount;
          walletDelta = amount;
          last = { partner: p, op: 'issue', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'redeem': {
          const { partner: p, member: m } = step;
          const spendable = model.spendable(m, now);
          const amount = resolveAmount(step.amount, spendable);
          described = `redeem ${amount} at ${CONTRACTS[p]!.id} from m${m} (spendable ${spendable})`;
          const sent = await send(p, 'redeem', { member: refs[m]!, amount: String(amount) });
          outcome = sent.outcome;
          if (amount > spendable) {
            expect(verdict(sent.outcome)).toBe('InsufficientBalance');
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected redeem accepted, got ${verdict(sent.outcome)}`);
          const takes = model.take(m, amount, now);
          expect(sent.outcome.data.balance).toBe(String(model.balance(m)));
          expect(consumedOf(sent.outcome.data.consumed)).toEqual(byIssuer(takes));
          model.entries.push({ id: sent.outcome.data.entryId, type: 'redeem', partner: p, member: m, amount, reversed: 0, consumed: new Map(takes.map((t) => [t.lot, t.amount])) });
          model.totals.redeemed += amount;
          walletDelta = -amount;
          last = { partner: p, op: 'redeem', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'authorize': {
          const { partner: p, member: m } = step;
          const spendable = model.spendable(m, now);
          const holdSeconds = step.longHold ? LONG_HOLD_SECONDS : SHORT_HOLD_SECONDS;
          const holdable = model.holdable(m, now, now + holdSeconds * 1000);
          const amount = resolveAmount(step.amount, holdable);
          described = `authorize ${amount} for ${holdSeconds}s at ${CONTRACTS[p]!.id} from m${m} (spendable ${spendable}, holdable ${holdable})`;
          const sent = await send(p, 'authorize', { member: refs[m]!, amount: String(amount), holdSeconds });
          outcome = sent.outcome;
          if (amount > holdable) {
            expect(verdict(sent.outcome)).toBe('InsufficientBalance');
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected authorize accepted, got ${verdict(sent.outcome)}`);
          const { holdId, expiresAt } = sent.outcome.data;
          expect(sent.outcome.data).toMatchObject({ amount: String(amount), status: 'pending', available: String(spendable - amount) });
          expect(Math.abs(Date.parse(expiresAt) - (now + holdSeconds * 1000))).toBeLessThan(10_000);
          model.holds.push({ id: holdId, partner: p, member: m, amount, expiresAt: Date.parse(expiresAt), status: 'pending' });
          last = { partner: p, op: 'authorize', jws: sent.jws, id: holdId };
          break;
        }
        case 'capture':
        case 'void': {
          if (model.holds.length === 0) {
            described = `${step.kind}: no hold yet, skipped`;
            break;
          }
          const candidates = [...model.holds].reverse().sort((a, b) => Number(b.status === 'pending') - Number(a.status === 'pending'));
          const hold = candidates[step.hold % candidates.length]!;
          const p = (hold.partner + step.other) % CONTRACTS.length;
          const m = hold.member;
          let predicted: string | null = null;
          if (p !== hold.partner) predicted = 'HoldNotFound';
          else if (hold.status !== 'pending') predicted = 'HoldClosed';
          else if (hold.expiresAt <= now) predicted = 'HoldExpired';
          const holdName = `hold#${model.holds.indexOf(hold)} (${hold.amount} of m${m} at ${CONTRACTS[hold.partner]!.id}, ${hold.status})`;
          if (step.kind === 'void') {
            described = `void ${holdName} by ${CONTRACTS[p]!.id}`;
            const sent = await send(p, 'void', { hold: hold.id });
            outcome = sent.outcome;
            if (predicted) {
              expect(verdict(sent.outcome)).toBe(predicted);
              break;
            }
            if (!sent.outcome.ok) throw new Error(`expected void accepted, got ${verdict(sent.outcome)}`);
            hold.status = 'voided';
            expect(sent.outcome.data).toMatchObject({ holdId: hold.id, status: 'voided', amount: String(hold.amount), available: String(model.spendable(m, now)) });
            last = { partner: p, op: 'void', jws: sent.jws, id: hold.id };
            break;
          }
          const amount = resolveAmount(step.amount, hold.amount);
          // The other holds keep their points; this one's are the ones being spent.
          const spendable = model.balance(m) - (model.reserved(m, now) - (predicted ? 0 : hold.amount));
          if (!predicted && amount > hold.amount) predicted = 'AmountExceedsHold';
          else if (!predicted && amount > spendable) predicted = 'InsufficientBalance';
          described = `capture ${amount} of ${holdName} by ${CONTRACTS[p]!.id}`;
          const sent = await send(p, 'capture', { hold: hold.id, amount: String(amount) });
          outcome = sent.outcome;
          if (predicted) {
            expect(verdict(sent.outcome)).toBe(predicted);
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected capture accepted, got ${verdict(sent.outcome)}`);
          hold.status = 'captured';
          const takes = model.take(m, amount, now);
          expect(sent.outcome.data.balance).toBe(String(model.balance(m)));
          expect(consumedOf(sent.outcome.data.consumed)).toEqual(byIssuer(takes));
          model.entries.push({ id: sent.outcome.data.entryId, type: 'redeem', partner: p, member: m, amount, reversed: 0, consumed: new Map(takes.map((t) => [t.lot, t.amount])) });
          model.totals.redeemed += amount;
          walletDelta = -amount;
          last = { partner: p, op: 'capture', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'reverse': {
          if (model.entries.length === 0) {
            described = 'reverse: no entry yet, skipped';
            break;
          }
          const reversible = (e: ModelEntry): number => Number(e.type === 'issue' || e.type === 'redeem');
          const candidates = [...model.entries].reverse().sort((a, b) => reversible(b) - reversible(a));
          const entry = candidates[step.entry % candidates.length]!;
          const p = (entry.partner + step.other) % CONTRACTS.length;
          const m = entry.member;
          const remaining = entry.amount - entry.reversed;
          // Pending points come straight out of their lot; vested ones only if not needed by holds or the window.
          const lotPending = entry.lot?.vestsAt != null && entry.lot.vestsAt > now;
          const takeable = !entry.lot ? Infinity : lotPending ? entry.lot.remaining : Math.min(entry.lot.remaining, model.spendable(m, now));
          const amount = resolveAmount(step.amount, Math.min(remaining, takeable));
          let predicted: string | null = null;
          if (p !== entry.partner || (entry.type !== 'issue' && entry.type !== 'redeem')) predicted = 'EntryNotFound';
          else if (amount > remaining) predicted = 'ReversalExceedsRemaining';
          else if (entry.type === 'issue' && amount > takeable) predicted = 'PointsAlreadySpent';
          described = `reverse ${amount} of entry#${model.entries.indexOf(entry)} (${entry.type} ${entry.amount} of m${m} at ${CONTRACTS[entry.partner]!.id}, ${entry.reversed} reversed) by ${CONTRACTS[p]!.id}`;
          const sent = await send(p, 'reverse', { entry: entry.id, amount: String(amount) });
          outcome = sent.outcome;
          if (predicted) {
            expect(verdict(sent.outcome)).toBe(predicted);
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected reverse accepted, got ${verdict(sent.outcome)}`);
          entry.reversed += amount;
          if (entry.type === 'issue') {
            entry.lot!.remaining -= amount;
            model.totals.issueReversed += amount;
            walletDelta = -amount;
          } else {
            // Back to the lots it took them from, latest-expiring first.
            const lots = [...entry.consumed!].filter(([, net]) => net > 0).sort(([a], [b]) => fifo(b, a));
            let left = amount;
            for (const [lot, net] of lots) {
              if (left === 0) break;
              const back = Math.min(net, left);
              lot.remaining += back;
              entry.consumed!.set(lot, net - back);
              left -= back;
            }
            expect(left).toBe(0);
            model.totals.redemptionReversed += amount;
            walletDelta = amount;
          }
          expect(sent.outcome.data).toMatchObject({ amount: String(amount), balance: String(model.balance(m)), reversesEntryId: entry.id });
          model.entries.push({ id: sent.outcome.data.entryId, type: 'reversal', partner: p, member: m, amount, reversed: 0 });
          last = { partner: p, op: 'reverse', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'transfer': {
          const { partner: p, member: from } = step;
          const to = (from + step.to) % MEMBERS;
          const movable = CONTRACTS.flatMap((c, i) => (c.transfersAllowed ? [i] : []));
          const transferable = model.spendableLots(from, now, movable).reduce((sum, lot) => sum + lot.remaining, 0);
          const spendable = model.spendable(from, now);
          const available = Math.min(transferable, spendable);
          const amount = resolveAmount(step.amount, available);
          described = `transfer ${amount} from m${from} to m${to} by ${CONTRACTS[p]!.id} (transferable ${transferable}, spendable ${spendable})`;
          const sent = await send(p, 'transfer', { member: refs[from]!, to: refs[to]!, amount: String(amount) });
          outcome = sent.outcome;
          if (!CONTRACTS[p]!.transfersAllowed) {
            expect(verdict(sent.outcome)).toBe('TransferNotAllowed');
            break;
          }
          if (amount > available) {
            expect(verdict(sent.outcome)).toBe('InsufficientBalance');
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected transfer accepted, got ${verdict(sent.outcome)}`);
          const takes = model.take(from, amount, now, movable);
          for (const take of takes) {
            // Only vested points move, so the recipient's lots are spendable at once.
            model.newLot({ member: to, issuer: take.lot.issuer, issuedAt: take.lot.issuedAt, expiresAt: take.lot.expiresAt, vestsAt: null, remaining: take.amount });
          }
          expect(sent.outcome.data).toMatchObject({ amount: String(amount), balance: String(model.balance(from)) });
          expect(consumedOf(sent.outcome.data.moved)).toEqual(byIssuer(takes));
          model.entries.push({ id: sent.outcome.data.entryId, type: 'transfer', partner: p, member: from, amount, reversed: 0 });
          last = { partner: p, op: 'transfer', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'advance': {
          const ms = step.long ? LONG_ADVANCE_MS : SHORT_ADVANCE_MS;
          described = `advance the clock ${step.long ? '40 days' : '10 minutes'}`;
          hub.clock.advance(ms);
          last = null; // its instruction has expired on the hub's clock
          break;
        }
        case 'expire': {
          const expiredNow = model.lots.filter((lot) => lot.remaining > 0 && lot.expiresAt <= now);
          const points = expiredNow.reduce((sum, lot) => sum + lot.remaining, 0);
          described = `run expiry (model: ${points} due)`;
          const result = await runExpiry();
          expect(result).toEqual({ ran: true, pointsExpired: String(points) });
          for (const lot of expiredNow) lot.remaining = 0;
          model.totals.expired += points;
          walletDelta = -points;
          break;
        }
        case 'replay': {
          if (!last) {
            described = 'replay: nothing to replay, skipped';
            break;
          }
          described = `replay the last accepted ${last.op}`;
          const again = await partners[last.partner]!.client.submitSigned(last.op, last.jws);
          outcome = again;
          if (!again.ok) throw new Error(`replay refused: ${verdict(again)}`);
          const data = again.data as unknown as { replayed: boolean; entryId?: string; holdId?: string };
          expect({ replayed: data.replayed, id: data.entryId ?? data.holdId }).toEqual({ replayed: true, id: last.id });
          break;
        }
      }
    } finally {
      trace.push(`${index}: ${described}${outcome ? ` → ${outcome.ok ? 'ok' : outcome.typename}` : ''}`);
    }

    const after = await ledgerSnapshot(hub);
    if (outcome && (!outcome.ok || step.kind === 'replay')) {
      // A refusal (or a replay) writes nothing at all.
      expect(after).toEqual(before);
    } else {
      const delta = snapshotDelta(before, after);
      expect(delta.walletBalanceSum ?? '0').toBe(String(walletDelta));
      expect(after.allBalanceSum).toBe('0');
      expect(after.lotRemainingSum).toBe(after.walletBalanceSum);
    }
    const viewAt = hub.clock.now().getTime();
    for (let m = 0; m < MEMBERS; m += 1) {
      const view = await memberView(refs[m]!);
      expect({ member: m, ...view }).toEqual({ member: m, ...modelView(model, m, viewAt) });
      expect(BigInt(view.available)).toBeGreaterThanOrEqual(0n);
    }
  }

  // Conservation: what is in the run's wallets plus what expired during the run is exactly what
  // was issued, less what was redeemed and reversed out of issues, plus what refunds gave back.
  let wallets = 0n;
  for (const ref of refs) wallets += BigInt((await memberView(ref)).balance);
  const breakageAdded = (await breakage()) - breakageBefore;
  const { issued, redeemed, issueReversed, redemptionReversed, expired } = model.totals;
  expect({ wallets, breakageAdded }).toEqual({
    wallets: BigInt(issued - redeemed - issueReversed + redemptionReversed - expired),
    breakageAdded: BigInt(expired),
  });
  expect(wallets + breakageAdded).toBe(BigInt(issued - redeemed - issueReversed + redemptionReversed));
  expect(await hub.integrity()).toEqual({ ok: true, differences: [] });
}

it('keeps every ledger invariant and every point through random lifecycles of issue, hold, capture, void, refund, transfer and expiry', async () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  await fc.assert(
    fc.asyncProperty(sequenceArb, async (steps) => {
      const trace: string[] = [];
      try {
        await runSequence(steps, trace);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n\nrun ${run}, steps as executed:\n${trace.join('\n')}`, { cause: error });
      }
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 15), seed, examples: EXAMPLES.map((example) => [example]) },
  );
});
