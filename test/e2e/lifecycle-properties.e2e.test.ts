import fc from 'fast-check';
import { hashEmail, signInstruction, type FieldsByOp, type Op, type Outcome } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { ledgerSnapshot, snapshotDelta, type LedgerSnapshot } from './support/ledger-snapshot';

/**
 * Property: random sequences of issue / redeem / authorize /
 * capture / void / reverse / transfer / exchange / clock moves / expiry runs, at partners with
 * different contracts (lot lifetimes 1, 12, 24 months; transfers allowed or not; a 14-day return
 * window) and program units at awkward rates (SHORT.STARS at 0.333333333333 CP, MID.MILES at
 * 2.333333333333 CP, i.e. 7/3), for members linked across all partners, never create or destroy a
 * point and keep invariants 1–3 of docs/ledger.md. A model kept here (lots with issuer,
 * issue time, expiry and vesting; holds; reversible entries; unit balances; the exchange maths,
 * in exact integers) predicts every outcome, accepted or refused, the receipts' and quotes'
 * numbers, and each member's balance, pending and available points, open lots and unit balances
 * after every step; a refusal (and a replay) writes nothing; every accepted step moves the member
 * wallets by exactly what it says. At the end of each run: CP wallets + breakage = issued −
 * redeemed ∓ reversals + CP made by exchanges in − CP spent on exchanges out; each unit's wallets
 * = issued − redeemed + exchanged into it − exchanged out of it; every partner account moved by
 * exactly its share; and in every exchange entry value in = value out + the booked residual ≥ 0.
 * Reproduce a failure with FC_SEED (printed by fast-check); FC_RUNS sets the number of runs
 * (the EXAMPLES count among them).
 *
 * The model also predicts each step's events (docs/events.md): their types, scopes and amounts,
 * tier changes included (from what each member earned in the tier window); a refusal or a replay
 * writes none.
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

/** Program units (a partner issues and redeems only its own), their rates in CP per point, exact. */
const UNITS = [
  { partner: 0, asset: 'SHORT.STARS', code: 'STARS', rate: '0.333333333333' },
  { partner: 2, asset: 'MID.MILES', code: 'MILES', rate: '2.333333333333' },
] as const;
/** What an exchange step converts between: CP and the units. */
const ASSETS = ['CP', ...UNITS.map((unit) => unit.asset)] as const;
/** Quotes are valid for 60 s (the default QUOTE_LIFETIME_SECONDS). */
const QUOTE_EXPIRED_MS = 61_000;
/** Coalition tiers by CP earned through issues (less their refunds) over the window, pinned for the model. */
const TIERS = [
  { name: 'Base', threshold: 0 },
  { name: 'Silver', threshold: 1000 },
  { name: 'Gold', threshold: 5000 },
] as const;
const TIER_WINDOW_DAYS = 365;

beforeAll(async () => {
  hub = await TestHub.start({
    env: { TIERS: TIERS.map((tier) => `${tier.name}:${tier.threshold}`).join(','), TIER_WINDOW_DAYS: String(TIER_WINDOW_DAYS) },
  });
  partners = [];
  for (const contract of CONTRACTS) {
    partners.push(await hub.registerPartner(contract.id, contract.alg));
    const set = await hub.graphql(
      `mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { __typename } }`,
      {
        id: contract.id,
        input: {
          lotLifetimeMonths: contract.lotLifetimeMonths,
          transfersAllowed: contract.transfersAllowed,
          pendingDays: contract.pendingDays,
        },
      },
      await hub.operatorToken(),
    );
    if (set.data?.setPartnerContract?.__typename !== 'PartnerContract') throw new Error(JSON.stringify(set));
  }
  for (const unit of UNITS) {
    const partnerId = CONTRACTS[unit.partner]!.id;
    const madeUnit = await hub.graphql(
      `mutation { setPartnerUnit(partnerId: "${partnerId}", code: "${unit.code}") { __typename } }`,
      {},
      await hub.operatorToken(),
    );
    const setRate = await hub.graphql(
      `mutation { setExchangeRate(partnerId: "${partnerId}", cpPerPoint: "${unit.rate}") { __typename } }`,
      {},
      await hub.operatorToken(),
    );
    if (madeUnit.data?.setPartnerUnit?.__typename !== 'PartnerUnit' || setRate.data?.setExchangeRate?.__typename !== 'ExchangeRate') {
      throw new Error(JSON.stringify({ madeUnit, setRate }));
    }
  }
});

afterAll(() => hub.stop());

// ---------------------------------------------------------------------------------------------
// Steps

/**
 * An amount either absolute or relative to the step's limit (what the model says is allowed):
 * limit − 1, limit, limit + 1, or a share of it (percent, at least 1).
 */
type AmountSpec = { abs: number } | { rel: -1 | 0 | 1 } | { share: number };

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
  /**
   * unit: index into UNITS, or UNITS.length for the unit the member holds most of; other: 0 = the
   * unit's own partner, 1/2 = another (which may not).
   */
  | { kind: 'unitIssue'; unit: number; other: number; member: number; amount: number }
  | { kind: 'unitRedeem'; unit: number; other: number; member: number; amount: AmountSpec }
  /**
   * A member's exchange: from = index into ASSETS, or ASSETS.length for the asset the member can
   * spend most of; to = from + toOffset (0: the same asset); other: 0 = the member token is
   * signed by the partner whose unit is involved, 1/2 = another; late: executed after the quote
   * expired.
   */
  | { kind: 'exchange'; member: number; from: number; toOffset: number; other: number; amount: AmountSpec; late: boolean }
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

const issueArb = fc.record({
  kind: fc.constant('issue' as const),
  partner: partnerArb,
  member: memberArb,
  amount: fc.integer({ min: 1, max: 600 }),
});

const authorizeArb = fc.record({
  kind: fc.constant('authorize' as const),
  partner: partnerArb,
  member: memberArb,
  amount: amountArb,
  longHold: fc.boolean(),
});

const unitArb = fc.integer({ min: 0, max: UNITS.length - 1 });
/** Unit balances are often small: spend part of them more often than an absolute amount. */
const partAmountArb: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 2, arbitrary: amountArb },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 100 }).map((share) => ({ share })) },
);
const unitIssueArb = fc.record({
  kind: fc.constant('unitIssue' as const),
  unit: unitArb,
  other: otherArb,
  member: memberArb,
  amount: fc.integer({ min: 1, max: 600 }),
});
/** Often what the member holds most of: most members hold little of most assets. */
const heldUnitArb = fc.oneof({ weight: 1, arbitrary: unitArb }, { weight: 1, arbitrary: fc.constant(UNITS.length) });
const exchangeArb = fc.record({
  kind: fc.constant('exchange' as const),
  member: memberArb,
  from: fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: 0, max: ASSETS.length - 1 }) },
    { weight: 3, arbitrary: fc.constant(ASSETS.length) },
  ),
  toOffset: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: ASSETS.length - 1 }) }, { weight: 1, arbitrary: fc.constant(0) }),
  other: otherArb,
  amount: partAmountArb,
  late: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: issueArb },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redeem' as const), partner: partnerArb, member: memberArb, amount: amountArb }) },
  { weight: 3, arbitrary: authorizeArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('capture' as const), hold: indexArb, other: otherArb, amount: amountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), hold: indexArb, other: otherArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reverse' as const), entry: indexArb, other: otherArb, amount: amountArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('transfer' as const),
      partner: partnerArb,
      member: memberArb,
      to: fc.integer({ min: 1, max: MEMBERS - 1 }),
      amount: amountArb,
    }),
  },
  { weight: 3, arbitrary: unitIssueArb },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unitRedeem' as const),
      unit: heldUnitArb,
      other: otherArb,
      member: memberArb,
      amount: partAmountArb,
    }),
  },
  { weight: 4, arbitrary: exchangeArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), long: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const) }) },
);

/**
 * A few issues of CP, maybe some of a unit, and maybe a hold first (so that later steps have
 * points, holds and entries to work on), then anything.
 */
const sequenceArb: fc.Arbitrary<Step[]> = fc
  .tuple(
    fc.array(issueArb, { minLength: 1, maxLength: 3 }),
    fc.array(
      unitIssueArb.map((step) => ({ ...step, other: 0 })),
      { maxLength: 2 },
    ),
    fc.option(authorizeArb, { nil: undefined }),
    fc.array(stepArb, { minLength: 4, maxLength: 26, size: 'max' }),
  )
  .map(([issues, unitIssues, hold, rest]) => [...issues, ...unitIssues, ...(hold ? [hold] : []), ...rest]);

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
  // Exchanges at the awkward rates: STARS → CP makes a SHORT lot, spent first and expiring with
  // SHORT's month; CP → MILES spends lots first-expiring-first-out at MID, past holds and pending
  // points; STARS → MILES goes through whole CP; asking for one more than the balance may still
  // fit, since what rounding does not need is not taken; exchanges are not refunds' business; a
  // late quote is refused; an executed quote replays its receipt, even after it expired.
  [
    { kind: 'unitIssue', unit: 0, other: 0, member: 0, amount: 100 },
    { kind: 'exchange', member: 0, from: 1, toOffset: 2, other: 0, amount: { share: 50 }, late: false },
    { kind: 'issue', partner: 2, member: 0, amount: 50 },
    { kind: 'issue', partner: 1, member: 0, amount: 40 },
    { kind: 'authorize', partner: 1, member: 0, amount: { abs: 30 }, longHold: true },
    { kind: 'exchange', member: 0, from: 0, toOffset: 2, other: 0, amount: { rel: 1 }, late: false },
    { kind: 'exchange', member: 0, from: 0, toOffset: 2, other: 0, amount: { rel: 0 }, late: false },
    { kind: 'reverse', entry: 2, other: 0, amount: { abs: 1 } },
    { kind: 'reverse', entry: 4, other: 0, amount: { abs: 1 } },
    { kind: 'exchange', member: 0, from: 1, toOffset: 2, other: 0, amount: { rel: 0 }, late: false },
    { kind: 'unitIssue', unit: 0, other: 0, member: 1, amount: 31 },
    { kind: 'exchange', member: 1, from: 1, toOffset: 1, other: 0, amount: { rel: 1 }, late: false },
    { kind: 'exchange', member: 1, from: 1, toOffset: 1, other: 0, amount: { rel: 0 }, late: false },
    { kind: 'exchange', member: 1, from: 2, toOffset: 2, other: 0, amount: { abs: 1 }, late: true },
    { kind: 'advance', long: true },
    { kind: 'replay' },
    { kind: 'expire' },
    { kind: 'unitRedeem', unit: 1, other: 1, member: 1, amount: { rel: 0 } },
    { kind: 'unitRedeem', unit: 1, other: 0, member: 1, amount: { rel: 0 } },
  ],
  // Tiers: two issues lift the member into Silver (tier.changed at every partner), a refund drops them back.
  [
    { kind: 'issue', partner: 0, member: 0, amount: 600 },
    { kind: 'issue', partner: 1, member: 0, amount: 500 },
    { kind: 'reverse', entry: 0, other: 0, amount: { abs: 200 } },
    { kind: 'issue', partner: 2, member: 0, amount: 99 },
    { kind: 'issue', partner: 2, member: 0, amount: 1 },
  ],
  // Refusals: the same asset both ways, a token of a partner whose unit is not involved, less
  // than one point's worth, more than the balance; and a transfer of exchanged CP.
  [
    { kind: 'unitIssue', unit: 1, other: 1, member: 0, amount: 5 },
    { kind: 'unitIssue', unit: 1, other: 0, member: 0, amount: 5 },
    { kind: 'exchange', member: 0, from: 2, toOffset: 0, other: 0, amount: { abs: 5 }, late: false },
    { kind: 'exchange', member: 0, from: 2, toOffset: 1, other: 1, amount: { abs: 5 }, late: false },
    { kind: 'exchange', member: 0, from: 0, toOffset: 2, other: 0, amount: { abs: 2 }, late: false },
    { kind: 'exchange', member: 0, from: 2, toOffset: 1, other: 0, amount: { rel: 1 }, late: false },
    { kind: 'exchange', member: 0, from: 2, toOffset: 1, other: 0, amount: { rel: 0 }, late: false },
    { kind: 'transfer', partner: 0, member: 0, to: 1, amount: { rel: 0 } },
    { kind: 'exchange', member: 1, from: 0, toOffset: 1, other: 0, amount: { rel: 0 }, late: false },
  ],
];

/** The index of the largest amount (the first of equals). */
function heldMost(amounts: readonly number[]): number {
  return amounts.reduce((best, amount, index) => (amount > amounts[best]! ? index : best), 0);
}

function resolveAmount(spec: AmountSpec, limit: number): number {
  if ('abs' in spec) return spec.abs;
  if ('share' in spec) return Math.max(1, Math.floor((limit * spec.share) / 100));
  return Math.max(1, limit + spec.rel);
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
  /** unit: a partner's issue or redemption of its own unit, which refunds do not reverse. */
  type: 'issue' | 'redeem' | 'reversal' | 'transfer' | 'unit' | 'exchange';
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
  /** CP through each partner's issuance (issued, issueReversed, exchangedIn) and redemption (the rest) accounts. */
  partnerTotals = CONTRACTS.map(() => ({
    issued: 0,
    redeemed: 0,
    issueReversed: 0,
    redemptionReversed: 0,
    exchangedIn: 0,
    exchangedOut: 0,
  }));
  /** Points of each unit through its partner's pool, into (+) and out of (−) member wallets. */
  unitTotals = UNITS.map(() => ({ issued: 0, redeemed: 0, exchangedInto: 0, exchangedOutOf: 0 }));
  /** CP exchanges put into member wallets (X → CP) and took out of them (CP → Y). */
  walletExchanges = { cpIn: 0, cpOut: 0 };
  expired = 0;
  /** Σ residuals booked by exchanges, in 10⁻¹² CP. */
  residualPico = 0n;
  exchangeEntries: string[] = [];
  /** Unit balances: [member][unit]. */
  units: number[][] = Array.from({ length: MEMBERS }, () => UNITS.map(() => 0));
  /** What counts towards tiers: CP issues (+) and refunds of issues (−), when they were recorded. */
  earnings: Array<{ member: number; at: number; amount: number }> = [];
  private seq = 0;

  /**
   * Records `amount` earned (or refunded) by the member at `at` and answers the tier change it
   * makes, as `Before>After`, or null when the member stays in the same tier.
   */
  earn(member: number, at: number, amount: number): string | null {
    this.earnings.push({ member, at, amount });
    const since = at - TIER_WINDOW_DAYS * DAY_MS;
    const earned = this.earnings.filter((e) => e.member === member && e.at > since && e.at <= at).reduce((sum, e) => sum + e.amount, 0);
    const tierOf = (points: number) => [...TIERS].reverse().find((tier) => points >= tier.threshold)!.name;
    const [before, after] = [tierOf(earned - amount), tierOf(earned)];
    return before === after ? null : `${before}>${after}`;
  }

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
    return this.openLots(member)
      .filter((lot) => lot.expiresAt <= now)
      .reduce((sum, lot) => sum + lot.remaining, 0);
  }

  pending(member: number, now: number): number {
    return this.openLots(member)
      .filter((lot) => lot.vestsAt !== null && lot.vestsAt > now)
      .reduce((sum, lot) => sum + lot.remaining, 0);
  }

  balance(member: number): number {
    return this.openLots(member).reduce((sum, lot) => sum + lot.remaining, 0);
  }

  held(member: number, now: number): number {
    return this.holds
      .filter((h) => h.member === member && h.status === 'pending' && h.expiresAt > now)
      .reduce((sum, h) => sum + h.amount, 0);
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

  /** What the member can spend now of each of ASSETS: CP, then each unit. */
  spendableAssets(member: number, now: number): number[] {
    return [this.spendable(member, now), ...this.units[member]!];
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
// Exchange maths of the model: exact, in integers of 10⁻¹² CP (pico-CP), written apart from
// src/exchange/convert.ts so that it checks it rather than repeats it.

const PICO = 10n ** 12n;

/** "2.333333333333" → 2333333333333n pico; at most 12 decimals. */
function toPico(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.split('.');
  if (fraction.length > 12) throw new Error(`more than 12 decimals: ${decimal}`);
  return BigInt(whole!) * PICO + BigInt(fraction.padEnd(12, '0'));
}

/** 2333333333330n → "2.33333333333": the shortest exact decimal, as the hub prints residuals. */
function fromPico(pico: bigint): string {
  const whole = pico / PICO;
  const fraction = (pico % PICO).toString().padStart(12, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** The unit an asset is (index into UNITS), or null for CP. */
function unitOf(asset: string): number | null {
  const index = UNITS.findIndex((unit) => unit.asset === asset);
  return index < 0 ? null : index;
}

function ratePico(asset: string): bigint {
  const unit = unitOf(asset);
  return unit === null ? PICO : toPico(UNITS[unit]!.rate);
}

interface ModelConversion {
  amountIn: number;
  cpAmount: number;
  amountOut: number;
  residualPico: bigint;
}

/**
 * The exchange maths of docs/ledger.md, the member's side rounded down: what `requested` of `from` is worth in
 * whole CP (down), then in whole `to` (down); then back, the whole CP those need (up) and the
 * `from` those CP need (up), which is all that is taken. Residual = value in − value out.
 */
function convertModel(from: string, to: string, requested: number): ModelConversion {
  const rateFrom = ratePico(from);
  const rateTo = ratePico(to);
  const cpWorth = (BigInt(requested) * rateFrom) / PICO;
  const amountOut = (cpWorth * PICO) / rateTo;
  const cpAmount = ceilDiv(amountOut * rateTo, PICO);
  const amountIn = from === 'CP' ? cpAmount : ceilDiv(cpAmount * PICO, rateFrom);
  const residualPico = amountIn * rateFrom - amountOut * rateTo;
  if (amountIn > BigInt(requested) || residualPico < 0n)
    throw new Error(`model: conversion of ${requested} ${from} → ${to} takes too much or mints`);
  return { amountIn: Number(amountIn), cpAmount: Number(cpAmount), amountOut: Number(amountOut), residualPico };
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

const QUOTE = `query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) {
  __typename ... on ExchangeQuote { quote amountRequested amountIn cpAmount amountOut rateFrom rateTo rounding residualCp } } }`;
const EXCHANGE = `mutation($quote: String!) { exchangePoints(quote: $quote) {
  __typename ... on ExchangeReceipt { entryId from to amountIn amountOut cpAmount residualCp fromBalance toBalance recordedAt replayed } } }`;

/** A member's own act, with a member token signed by `via` on the hub's clock. */
async function asMember(via: number, ref: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await hub.graphql(query, variables, await hub.memberToken(partners[via]!, ref));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

/** Σ balances of every partner account (issuance, redemption, native pools), by owner:kind:asset. */
async function partnerAccounts(): Promise<Map<string, bigint>> {
  const rows: Array<{ account: string; balance: string }> = await hub.hub.dataSource.query(
    `SELECT a.owner_id || ':' || a.kind || ':' || a.asset AS account, coalesce(sum(b.balance), 0)::text AS balance
     FROM account a LEFT JOIN account_balance b ON b.account_id = a.id WHERE a.owner_kind = 'partner' GROUP BY 1`,
  );
  return new Map(rows.map((row) => [row.account, BigInt(row.balance)]));
}

/**
 * The exchange entries as the ledger holds them, apart from the model: what left and reached the
 * member's wallets, the rates the entry stored and the residual booked for it.
 */
async function exchangeEntries(
  entryIds: string[],
): Promise<Array<{ amountIn: bigint; amountOut: bigint; rateFrom: string; rateTo: string; residual: string }>> {
  const rows: Array<Record<string, string>> = await hub.hub.dataSource.query(
    `SELECT e.rates->>'rateFrom' AS rate_from, e.rates->>'rateTo' AS rate_to, r.residual_cp::text AS residual,
            (SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
             WHERE p.entry_id = e.id AND a.owner_kind = 'member' AND a.asset = e.rates->>'from')::text AS amount_in,
            (SELECT sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
             WHERE p.entry_id = e.id AND a.owner_kind = 'member' AND a.asset = e.rates->>'to')::text AS amount_out
     FROM journal_entry e JOIN rounding_booking r ON r.entry_id = e.id WHERE e.id = ANY($1::uuid[]) AND e.type = 'exchange'`,
    [entryIds],
  );
  return rows.map((row) => ({
    amountIn: BigInt(row.amount_in!),
    amountOut: BigInt(row.amount_out!),
    rateFrom: row.rate_from!,
    rateTo: row.rate_to!,
    residual: row.residual!,
  }));
}

async function lastEventSeq(): Promise<number> {
  const [row] = await hub.hub.dataSource.query('SELECT coalesce(max(seq), 0)::int AS seq FROM event');
  return row.seq;
}

/** The events written after `seq`, as the model writes them: `type scope amount`. */
async function eventsSince(seq: number): Promise<string[]> {
  const rows: Array<{ type: string; partner_id: string; data: Record<string, string> }> = await hub.hub.dataSource.query(
    'SELECT type, partner_id, data FROM event WHERE seq > $1 ORDER BY tx_id, seq',
    [seq],
  );
  return rows.map(({ type, partner_id: partnerId, data }) => {
    const amount = data.amount ?? data.amountIn ?? `${data.previousTier}>${data.tier}`;
    return `${type} ${partnerId} ${amount}`;
  });
}

async function runExpiry(): Promise<{ ran: boolean; pointsExpired: string }> {
  const result = await hub.graphql('mutation { runExpiry { ran pointsExpired } }', {}, await hub.operatorToken());
  if (!result.data?.runExpiry) throw new Error(JSON.stringify(result));
  return result.data.runExpiry;
}

const ME = `{ me { balance pending available lots(first: 100) { edges { node { issuerPartnerId remaining issuedAt expiresAt vestsAt } } }
  combinedBalance { assets { asset amount } } } }`;

async function memberView(ref: string) {
  const me = (await hub.graphql(ME, {}, await hub.memberToken(partners[0]!, ref))).data?.me;
  const units = me.combinedBalance.assets.filter((row: any) => row.asset !== 'CP' && row.amount !== '0');
  return {
    balance: me.balance,
    pending: me.pending,
    available: me.available,
    units: Object.fromEntries(units.map((row: any) => [row.asset, row.amount])),
    lots: me.lots.edges.map((edge: any) => edge.node),
  };
}

function modelView(model: Model, member: number, now: number) {
  return {
    balance: String(model.balance(member)),
    pending: String(model.pending(member, now)),
    available: String(model.spendable(member, now)),
    units: Object.fromEntries(
      UNITS.flatMap((unit, u) => (model.units[member]![u]! > 0 ? [[unit.asset, String(model.units[member]![u])]] : [])),
    ),
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

/** The last accepted instruction (its JWS) or exchange (its quote, with the member and the partner that signed its token). */
type Accepted =
  | { partner: number; op: Op; jws: string; id: string }
  | { partner: number; op: 'exchange'; quote: string; member: number; receipt: Record<string, unknown> };

async function runSequence(steps: Step[], trace: string[]): Promise<void> {
  run += 1;
  // Whatever the previous run left open expires now, so that breakage during this run is this run's.
  hub.clock.advance(FLUSH_MS);
  expect((await runExpiry()).ran).toBe(true);
  const breakageBefore = await breakage();
  const accountsBefore = await partnerAccounts();
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
    /** What the accepted step moves into (+) or out of (−) member wallets, all members together: CP, and all units together. */
    let walletDelta = 0;
    let unitWalletDelta = 0;
    let outcome: { ok: boolean; typename: string } | null = null;
    let described = '';
    /** The events the model expects of this step: `type scope amount` (amountIn for an exchange, `Before>After` for a tier). */
    const expectedEvents: string[] = [];
    const expectEvent = (type: string, partner: number, amount: number | string) =>
      expectedEvents.push(`${type} ${CONTRACTS[partner]!.id} ${amount}`);
    /** A tier change reaches every partner the member is enrolled at: all of them. */
    const expectTierChange = (change: string | null) => {
      if (change) for (const [p] of CONTRACTS.entries()) expectEvent('tier.changed', p, change);
    };
    const eventsBefore = await lastEventSeq();

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
          expect((sent.outcome.receipt as { vestsAt?: string }).vestsAt ?? null).toBe(
            vestsAt === null ? null : new Date(vestsAt).toISOString(),
          );
          const lot = model.newLot({
            member: m,
            issuer: p,
            issuedAt: at,
            expiresAt: addMonths(at, lotLifetimeMonths),
            vestsAt,
            remaining: amount,
          });
          model.entries.push({ id: sent.outcome.data.entryId, type: 'issue', partner: p, member: m, amount, reversed: 0, lot });
          model.partnerTotals[p]!.issued += amount;
          expectEvent('points.issued', p, amount);
          expectTierChange(model.earn(m, at, amount));
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
          model.entries.push({
            id: sent.outcome.data.entryId,
            type: 'redeem',
            partner: p,
            member: m,
            amount,
            reversed: 0,
            consumed: new Map(takes.map((t) => [t.lot, t.amount])),
          });
          model.partnerTotals[p]!.redeemed += amount;
          walletDelta = -amount;
          expectEvent('points.redeemed', p, amount);
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
          expectEvent('hold.authorized', p, amount);
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
            expect(sent.outcome.data).toMatchObject({
              holdId: hold.id,
              status: 'voided',
              amount: String(hold.amount),
              available: String(model.spendable(m, now)),
            });
            expectEvent('hold.voided', p, hold.amount);
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
          model.entries.push({
            id: sent.outcome.data.entryId,
            type: 'redeem',
            partner: p,
            member: m,
            amount,
            reversed: 0,
            consumed: new Map(takes.map((t) => [t.lot, t.amount])),
          });
          model.partnerTotals[p]!.redeemed += amount;
          walletDelta = -amount;
          expectEvent('hold.captured', p, amount);
          expectEvent('points.redeemed', p, amount);
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
          const takeable = !entry.lot
            ? Infinity
            : lotPending
              ? entry.lot.remaining
              : Math.min(entry.lot.remaining, model.spendable(m, now));
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
          expectEvent('points.reversed', p, amount);
          if (entry.type === 'issue') {
            entry.lot!.remaining -= amount;
            model.partnerTotals[p]!.issueReversed += amount;
            walletDelta = -amount;
            expectTierChange(model.earn(m, Date.parse(sent.outcome.data.recordedAt), -amount));
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
            model.partnerTotals[p]!.redemptionReversed += amount;
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
            model.newLot({
              member: to,
              issuer: take.lot.issuer,
              issuedAt: take.lot.issuedAt,
              expiresAt: take.lot.expiresAt,
              vestsAt: null,
              remaining: take.amount,
            });
          }
          expect(sent.outcome.data).toMatchObject({ amount: String(amount), balance: String(model.balance(from)) });
          expect(consumedOf(sent.outcome.data.moved)).toEqual(byIssuer(takes));
          model.entries.push({ id: sent.outcome.data.entryId, type: 'transfer', partner: p, member: from, amount, reversed: 0 });
          expectEvent('points.transferred', p, amount);
          last = { partner: p, op: 'transfer', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'unitIssue':
        case 'unitRedeem': {
          const { member: m } = step;
          const u = step.unit < UNITS.length ? step.unit : heldMost(model.units[m]!);
          const unit = UNITS[u]!;
          const p = (unit.partner + step.other) % CONTRACTS.length;
          const issue = step.kind === 'unitIssue';
          const balance = model.units[m]![u]!;
          const amount = issue ? step.amount : resolveAmount(step.amount, balance);
          described = `${issue ? 'issue' : 'redeem'} ${amount} ${unit.asset} at ${CONTRACTS[p]!.id} ${issue ? 'to' : 'from'} m${m} (balance ${balance})`;
          const sent = await send(p, issue ? 'issue' : 'redeem', { member: refs[m]!, amount: String(amount), asset: unit.asset });
          outcome = sent.outcome;
          // A partner issues and redeems CP and its own unit only.
          if (p !== unit.partner) {
            expect(verdict(sent.outcome)).toBe('UnknownAsset');
            break;
          }
          if (!issue && amount > balance) {
            expect(verdict(sent.outcome)).toBe('InsufficientBalance');
            break;
          }
          if (!sent.outcome.ok) throw new Error(`expected ${described} accepted, got ${verdict(sent.outcome)}`);
          model.units[m]![u] = balance + (issue ? amount : -amount);
          expect(sent.outcome.data).toMatchObject({ amount: String(amount), balance: String(model.units[m]![u]), asset: unit.asset });
          if (issue) model.unitTotals[u]!.issued += amount;
          else model.unitTotals[u]!.redeemed += amount;
          unitWalletDelta = issue ? amount : -amount;
          expectEvent(issue ? 'points.issued' : 'points.redeemed', p, amount);
          model.entries.push({ id: sent.outcome.data.entryId, type: 'unit', partner: p, member: m, amount, reversed: 0 });
          last = { partner: p, op: issue ? 'issue' : 'redeem', jws: sent.jws, id: sent.outcome.data.entryId };
          break;
        }
        case 'exchange': {
          const { member: m } = step;
          const fromIndex = step.from < ASSETS.length ? step.from : heldMost(model.spendableAssets(m, now));
          const from = ASSETS[fromIndex]!;
          const to = ASSETS[(fromIndex + step.toOffset) % ASSETS.length]!;
          const [fromUnit, toUnit] = [unitOf(from), unitOf(to)];
          const owners: number[] = [fromUnit, toUnit].flatMap((u) => (u === null ? [] : [UNITS[u]!.partner]));
          const via = ((owners[owners.length - 1] ?? 0) + step.other) % CONTRACTS.length;
          const spendable = fromUnit === null ? model.spendable(m, now) : model.units[m]![fromUnit]!;
          const requested = resolveAmount(step.amount, spendable);
          described = `exchange ${requested} ${from} → ${to} for m${m}, token of ${CONTRACTS[via]!.id}${step.late ? ', after the quote expired' : ''} (spendable ${spendable})`;
          let refusal: string | null = null;
          const conversion = from === to ? null : convertModel(from, to, requested);
          if (!conversion) refusal = 'UnknownAsset';
          // A member token signed by one partner moves value only into or out of that partner's unit.
          else if (!owners.includes(via)) refusal = 'ExchangeNotAllowed';
          else if (conversion.amountOut <= 0) refusal = 'InvalidAmount';
          const quoted = (await asMember(via, refs[m]!, QUOTE, { from, to, amount: String(requested) })).quoteExchange;
          if (refusal || !conversion) {
            outcome = { ok: false, typename: quoted.__typename };
            expect(quoted.__typename).toBe(refusal);
            break;
          }
          expect(quoted).toEqual({
            __typename: 'ExchangeQuote',
            quote: expect.any(String),
            amountRequested: String(requested),
            amountIn: String(conversion.amountIn),
            cpAmount: String(conversion.cpAmount),
            amountOut: String(conversion.amountOut),
            rateFrom: fromUnit === null ? '1' : UNITS[fromUnit]!.rate,
            rateTo: toUnit === null ? '1' : UNITS[toUnit]!.rate,
            rounding: 'down',
            residualCp: fromPico(conversion.residualPico),
          });
          if (step.late) {
            hub.clock.advance(QUOTE_EXPIRED_MS);
            if (last && last.op !== 'exchange') last = null; // a minute closer to its instruction's expiry: not replayed
            refusal = 'QuoteExpired';
          } else if (conversion.amountIn > spendable) {
            refusal = 'InsufficientBalance';
          }
          const executed = (await asMember(via, refs[m]!, EXCHANGE, { quote: quoted.quote })).exchangePoints;
          outcome = { ok: executed.__typename === 'ExchangeReceipt', typename: executed.__typename };
          if (refusal) {
            expect(executed.__typename).toBe(refusal);
            break;
          }
          if (executed.__typename !== 'ExchangeReceipt') throw new Error(`expected exchange accepted, got ${JSON.stringify(executed)}`);
          const at = Date.parse(executed.recordedAt);
          let takes: Array<{ lot: ModelLot; amount: number }> = [];
          if (fromUnit === null) {
            takes = model.take(m, conversion.cpAmount, now);
            model.walletExchanges.cpOut += conversion.cpAmount;
            walletDelta = -conversion.cpAmount;
          } else {
            model.units[m]![fromUnit]! -= conversion.amountIn;
            model.unitTotals[fromUnit]!.exchangedOutOf += conversion.amountIn;
            model.partnerTotals[UNITS[fromUnit]!.partner]!.exchangedIn += conversion.cpAmount;
            unitWalletDelta -= conversion.amountIn;
          }
          if (toUnit === null) {
            // X → CP: a lot of issuer X, as an issue at X would make, but spendable at once.
            const issuer = UNITS[fromUnit!]!.partner;
            model.newLot({
              member: m,
              issuer,
              issuedAt: at,
              expiresAt: addMonths(at, CONTRACTS[issuer]!.lotLifetimeMonths),
              vestsAt: null,
              remaining: conversion.cpAmount,
            });
            model.walletExchanges.cpIn += conversion.cpAmount;
            walletDelta = conversion.cpAmount;
          } else {
            model.units[m]![toUnit]! += conversion.amountOut;
            model.unitTotals[toUnit]!.exchangedInto += conversion.amountOut;
            model.partnerTotals[UNITS[toUnit]!.partner]!.exchangedOut += conversion.cpAmount;
            unitWalletDelta += conversion.amountOut;
          }
          model.residualPico += conversion.residualPico;
          const balanceOf = (unit: number | null) => String(unit === null ? model.balance(m) : model.units[m]![unit]);
          expect(executed).toMatchObject({
            from,
            to,
            amountIn: String(conversion.amountIn),
            amountOut: String(conversion.amountOut),
            cpAmount: String(conversion.cpAmount),
            residualCp: fromPico(conversion.residualPico),
            fromBalance: balanceOf(fromUnit),
            toBalance: balanceOf(toUnit),
            replayed: false,
          });
          // The CP an exchange out spends are consumed at Y like a redemption's (X → Y: X's CP, made and spent at once).
          const consumed: Array<{ issuer: string; consumer: string; amount: string }> = await hub.hub.dataSource.query(
            `SELECT issuer_partner_id AS issuer, consumer_partner_id AS consumer, sum(amount)::text AS amount FROM lot_consumption
             WHERE entry_id = $1 AND kind = 'exchange' GROUP BY 1, 2 ORDER BY 1`,
            [executed.entryId],
          );
          const expectedConsumed =
            toUnit === null
              ? {}
              : fromUnit === null
                ? byIssuer(takes)
                : { [CONTRACTS[UNITS[fromUnit]!.partner]!.id]: String(conversion.cpAmount) };
          expect(Object.fromEntries(consumed.map((row) => [row.issuer, row.amount]))).toEqual(expectedConsumed);
          expect(new Set(consumed.map((row) => row.consumer))).toEqual(
            new Set(toUnit === null ? [] : [CONTRACTS[UNITS[toUnit]!.partner]!.id]),
          );
          const owner = owners[0]!;
          model.entries.push({
            id: executed.entryId,
            type: 'exchange',
            partner: owner,
            member: m,
            amount: conversion.amountIn,
            reversed: 0,
          });
          model.exchangeEntries.push(executed.entryId);
          for (const owner of new Set(owners)) expectEvent('exchange.executed', owner, conversion.amountIn);
          last = { partner: via, op: 'exchange', quote: quoted.quote, member: m, receipt: executed };
          break;
        }
        case 'advance': {
          const ms = step.long ? LONG_ADVANCE_MS : SHORT_ADVANCE_MS;
          described = `advance the clock ${step.long ? '40 days' : '10 minutes'}`;
          hub.clock.advance(ms);
          // An instruction has expired on the hub's clock; an executed quote still gives its receipt.
          if (last && last.op !== 'exchange') last = null;
          break;
        }
        case 'expire': {
          const expiredNow = model.lots.filter((lot) => lot.remaining > 0 && lot.expiresAt <= now);
          const points = expiredNow.reduce((sum, lot) => sum + lot.remaining, 0);
          described = `run expiry (model: ${points} due)`;
          const result = await runExpiry();
          expect(result).toEqual({ ran: true, pointsExpired: String(points) });
          const byWallet = new Map<string, number>();
          for (const lot of expiredNow)
            byWallet.set(`${lot.member} ${lot.issuer}`, (byWallet.get(`${lot.member} ${lot.issuer}`) ?? 0) + lot.remaining);
          for (const [key, expired] of byWallet) expectEvent('points.expired', Number(key.split(' ')[1]), expired);
          for (const lot of expiredNow) lot.remaining = 0;
          model.expired += points;
          walletDelta = -points;
          break;
        }
        case 'replay': {
          if (!last) {
            described = 'replay: nothing to replay, skipped';
            break;
          }
          described = `replay the last accepted ${last.op}`;
          if (last.op === 'exchange') {
            const again = (await asMember(last.partner, refs[last.member]!, EXCHANGE, { quote: last.quote })).exchangePoints;
            outcome = { ok: again.__typename === 'ExchangeReceipt', typename: again.__typename };
            expect(again).toEqual({ ...last.receipt, replayed: true });
            break;
          }
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

    const written = await eventsSince(eventsBefore);
    expect({ step: index, events: written.sort() }).toEqual({ step: index, events: expectedEvents.sort() });
    const after = await ledgerSnapshot(hub);
    if (outcome && (!outcome.ok || step.kind === 'replay')) {
      // A refusal (or a replay) writes nothing at all.
      expect(after).toEqual(before);
    } else {
      const delta = snapshotDelta(before, after);
      expect(delta.walletBalanceSum ?? '0').toBe(String(walletDelta));
      expect(delta.unitWalletBalanceSum ?? '0').toBe(String(unitWalletDelta));
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

  // Conservation of CP: what is in the run's wallets plus what expired during the run is exactly
  // what was issued, less what was redeemed and reversed out of issues, plus what refunds gave
  // back, plus what exchanges in made, less what exchanges out spent.
  let wallets = 0n;
  const unitWallets = UNITS.map(() => 0n);
  for (const ref of refs) {
    const view = await memberView(ref);
    wallets += BigInt(view.balance);
    for (const [u, unit] of UNITS.entries()) unitWallets[u]! += BigInt(view.units[unit.asset] ?? '0');
  }
  const breakageAdded = (await breakage()) - breakageBefore;
  const total = (key: keyof Model['partnerTotals'][number]) => model.partnerTotals.reduce((sum, totals) => sum + totals[key], 0);
  const { cpIn, cpOut } = model.walletExchanges;
  const cpMoved = total('issued') - total('redeemed') - total('issueReversed') + total('redemptionReversed') + cpIn - cpOut;
  expect({ wallets, breakageAdded }).toEqual({ wallets: BigInt(cpMoved - model.expired), breakageAdded: BigInt(model.expired) });
  expect(wallets + breakageAdded).toBe(BigInt(cpMoved));

  // Conservation of each unit: its wallets hold what was issued, less what was redeemed, plus what
  // exchanges brought into it, less what exchanges took out of it.
  const unitMoved = model.unitTotals.map((t) => t.issued - t.redeemed + t.exchangedInto - t.exchangedOutOf);
  expect(unitWallets).toEqual(unitMoved.map(BigInt));

  // Every partner account moved by exactly its share: issuance by what was created for the
  // partner (issues less their refunds, CP made from its unit), redemption by what was retired at
  // it (redemptions less their refunds, CP turned into its unit), its pool by its unit's moves.
  const accountsAfter = await partnerAccounts();
  const moved = new Map<string, bigint>();
  for (const [account, balance] of accountsAfter) {
    const change = balance - (accountsBefore.get(account) ?? 0n);
    if (change !== 0n) moved.set(account, change);
  }
  const expectedMoves = new Map<string, bigint>();
  const expectMove = (account: string, change: number) => change !== 0 && expectedMoves.set(account, BigInt(change));
  for (const [p, t] of model.partnerTotals.entries()) {
    expectMove(`${CONTRACTS[p]!.id}:issuance:CP`, -(t.issued - t.issueReversed + t.exchangedIn));
    expectMove(`${CONTRACTS[p]!.id}:redemption:CP`, t.redeemed - t.redemptionReversed + t.exchangedOut);
  }
  for (const [u, unit] of UNITS.entries()) expectMove(`${CONTRACTS[unit.partner]!.id}:native_pool:${unit.asset}`, -unitMoved[u]!);
  expect(moved).toEqual(expectedMoves);

  // Every exchange gave out no more value than it took: in × rateFrom = out × rateTo + the booked
  // residual, exactly, with a residual ≥ 0, read from the ledger's own postings and stored rates.
  const exchanges = await exchangeEntries(model.exchangeEntries);
  expect(exchanges).toHaveLength(model.exchangeEntries.length);
  let bookedPico = 0n;
  for (const entry of exchanges) {
    const residualPico = toPico(entry.residual.replace(/0+$/, '').replace(/\.$/, ''));
    expect(residualPico).toBeGreaterThanOrEqual(0n);
    expect(entry.amountIn * toPico(entry.rateFrom)).toBe(entry.amountOut * toPico(entry.rateTo) + residualPico);
    bookedPico += residualPico;
  }
  expect(fromPico(bookedPico)).toBe(fromPico(model.residualPico));
  expect(await hub.integrity()).toEqual({ ok: true, differences: [] });
}

it('keeps every ledger invariant and every point through random lifecycles of issue, hold, capture, void, refund, transfer, exchange and expiry', async () => {
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
  // Some 20 runs of up to 30 steps, each step checked against the model, the ledger and the event stream.
}, 180_000);
