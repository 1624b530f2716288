/**
 * "Explain a balance" in words (docs/explain.md): one deterministic sentence per journal entry of a
 * member. Pure: no I/O, no clock of its own, no locale (dates in UTC as "3 Nov 2026", amounts with
 * comma thousands separators, a minus sign U+2212 for what left the wallet), so the same entry
 * always reads the same.
 *
 * Each entry type is worded by its function in ENTRY_PHRASES; a type with none (a new one) is
 * worded by `genericPhrase`, which says what moved, by whom, when, and from which lots.
 */

/** A lot an entry moved in the member's CP wallet. */
export interface ExplainLot {
  lotId: string;
  /** credited: the entry made this lot; taken: it took points out of it; returned: it gave points back to it. */
  role: 'credited' | 'taken' | 'returned';
  issuerPartnerId: string;
  issuerName: string;
  /** What this entry moved in or out of the lot (positive). */
  amount: bigint;
  /** What is left in the lot now. */
  remaining: bigint;
  issuedAt: Date;
  expiresAt: Date;
  vestsAt: Date | null;
}

/** A rule or campaign that contributed to an entry (journal_entry.rates.contributions, written by the loyalty engine). */
export interface Contribution {
  source: string | null;
  name: string;
  version: string | null;
  points: string | null;
  reason: string | null;
}

/** One journal entry of the member, with what it did to the member's wallets. */
export interface ExplainEntry {
  entryId: string;
  seq: string;
  type: string;
  partnerId: string;
  partnerName: string;
  occurredAt: Date;
  recordedAt: Date;
  /** Null unless the viewer may see it (a member token sees its own partner's references only). */
  orderRef: string | null;
  rates: Record<string, unknown>;
  /** For a reversal: the entry it reverses. */
  reverses: { entryId: string; type: string; occurredAt: Date; orderRef: string | null } | null;
  /** What the entry did to each of the member's wallets (CP and partner units), by asset. */
  movements: Array<{ asset: string; amount: bigint }>;
  lots: ExplainLot[];
}

export interface ExplainLine extends ExplainEntry {
  /** The entry's effect on the member's CP balance (0 for an entry that moved only a partner's unit). */
  amount: bigint;
  contributions: Contribution[];
  /** The earliest expiry of the lots this entry credited; null if it credited none. */
  expiresAt: Date | null;
  /** When the points this entry credited vest, if they were issued pending. */
  vestsAt: Date | null;
  reversesEntryId: string | null;
  sentence: string;
}

/** What a phrasing function is given: the entry, its CP effect, its contributions, and the member's now. */
export interface PhraseInput {
  entry: ExplainEntry;
  cp: bigint;
  contributions: Contribution[];
  now: Date;
}

export type Phrase = (input: PhraseInput) => string;

const CP = 'CP';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const MINUS = '\u2212';

/** "3 Nov 2026", in UTC. */
export function formatDay(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** 1234567 → "1,234,567" (the sign dropped). */
export function formatAmount(amount: bigint): string {
  const digits = (amount < 0n ? -amount : amount).toString();
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "+1,200 CP", "−50 CP", "0 CP". */
export function signedAmount(amount: bigint, asset: string = CP): string {
  const sign = amount > 0n ? '+' : amount < 0n ? MINUS : '';
  return `${sign}${formatAmount(amount)} ${asset}`;
}

/** "a", "a and b", "a, b and c". */
function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function orderOf(ref: string | null): string {
  return ref === null ? '' : ` (order ${ref})`;
}

/**
 * The lots points came from or went back to: "points issued by Coffee Corp on 3 Nov 2026" (`noun` first) for one
 * lot that holds the whole amount, else "30 CP issued by Coffee Corp on 3 Nov 2026 and 20 CP issued by …".
 */
function lotsOrigin(lots: readonly ExplainLot[], total: bigint, noun = 'points '): string {
  if (lots.length === 1 && lots[0]!.amount === (total < 0n ? -total : total))
    return `${noun}issued by ${lots[0]!.issuerName} on ${formatDay(lots[0]!.issuedAt)}`;
  return listOf(lots.map((lot) => `${formatAmount(lot.amount)} CP issued by ${lot.issuerName} on ${formatDay(lot.issuedAt)}`));
}

/**
 * ", vests on …, expires …; 70 CP left" for one credited lot (what is left said only once some has gone); a lot
 * with nothing left reads "; none left" (where its points went, the later lines say).
 */
function lotState(lot: ExplainLot, now: Date): string {
  if (lot.remaining === 0n) return '; none left';
  const parts: string[] = [];
  if (lot.vestsAt !== null && lot.vestsAt > now) parts.push(`vests on ${formatDay(lot.vestsAt)}`);
  parts.push(`${lot.expiresAt > now ? 'expires' : 'expired'} ${formatDay(lot.expiresAt)}`);
  const left = lot.remaining === lot.amount ? '' : `; ${formatAmount(lot.remaining)} CP left`;
  return `, ${parts.join(', ')}${left}`;
}

/** What an entry credited, as lots: one lot reads as its state; several as a list of their origins and states. */
function creditedTail(lots: readonly ExplainLot[], now: Date): string {
  const credited = lots.filter((lot) => lot.role === 'credited');
  if (credited.length === 0) return '';
  if (credited.length === 1) return lotState(credited[0]!, now);
  return `: ${listOf(
    credited.map(
      (lot) =>
        `${formatAmount(lot.amount)} CP issued by ${lot.issuerName} on ${formatDay(lot.issuedAt)}${lotState(lot, now).replace(/^,/, '')}`,
    ),
  )}`;
}

function takenTail(lots: readonly ExplainLot[], role: 'taken' | 'returned', word: string, total: bigint): string {
  const moved = lots.filter((lot) => lot.role === role);
  return moved.length === 0 ? '' : `, ${word} ${lotsOrigin(moved, total)}`;
}

/** "2 × on coffee, Gold tier +25 %": the engine's contributions, else the tier multiplier an issue recorded. */
function reasonsOf(entry: ExplainEntry, contributions: readonly Contribution[]): string {
  if (contributions.length > 0) return `: ${contributions.map((c) => c.reason ?? c.name).join(', ')}`;
  const { tier, tierMultiplier, baseAmount } = entry.rates;
  if (typeof tier === 'string' && typeof tierMultiplier === 'string' && typeof baseAmount === 'string')
    return `: ${formatAmount(BigInt(baseAmount))} CP × ${tierMultiplier} for ${tier} tier`;
  return '';
}

/** The headline amount: the CP effect, or for an entry that moved only a partner's unit, that movement. */
function headline(entry: ExplainEntry, cp: bigint): string {
  if (cp !== 0n) return signedAmount(cp);
  const other = entry.movements.find((movement) => movement.asset !== CP && movement.amount !== 0n);
  return other ? signedAmount(other.amount, other.asset) : signedAmount(0n);
}

const issue: Phrase = ({ entry, cp, contributions, now }) =>
  `${headline(entry, cp)} from ${entry.partnerName} on ${formatDay(entry.occurredAt)}${orderOf(entry.orderRef)}` +
  `${reasonsOf(entry, contributions)}${creditedTail(entry.lots, now)}`;

const redeem: Phrase = ({ entry, cp }) =>
  `${headline(entry, cp)} redeemed at ${entry.partnerName} on ${formatDay(entry.occurredAt)}${orderOf(entry.orderRef)}` +
  takenTail(entry.lots, 'taken', 'from', cp);

const expire: Phrase = ({ entry, cp }) => {
  const taken = entry.lots.filter((lot) => lot.role === 'taken');
  return `${headline(entry, cp)} expired on ${formatDay(entry.occurredAt)}${taken.length ? ` (${lotsOrigin(taken, cp, '')})` : ''}`;
};

const REVERSED_WORDS: Record<string, string> = { issue: 'reversed its issue', redeem: 'refunded its redemption' };

const reversal: Phrase = ({ entry, cp }) => {
  const what = entry.reverses
    ? `${REVERSED_WORDS[entry.reverses.type] ?? `reversed its ${entry.reverses.type}`} of ${formatDay(entry.reverses.occurredAt)}${orderOf(entry.reverses.orderRef)}`
    : 'reversed an entry';
  const lots = cp > 0n ? takenTail(entry.lots, 'returned', 'back to', cp) : '';
  return `${headline(entry, cp)} on ${formatDay(entry.occurredAt)}: ${entry.partnerName} ${what}${lots}`;
};

const transfer: Phrase = ({ entry, cp, now }) => {
  const through = ` on ${formatDay(entry.occurredAt)} (through ${entry.partnerName})`;
  if (cp < 0n) return `${headline(entry, cp)} transferred to another member${through}${takenTail(entry.lots, 'taken', 'from', cp)}`;
  const credited = entry.lots.filter((lot) => lot.role === 'credited');
  const origin = credited.length === 1 ? `, ${lotsOrigin(credited, cp)}` : '';
  return `${headline(entry, cp)} transferred from another member${through}${origin}${creditedTail(entry.lots, now)}`;
};

const exchange: Phrase = ({ entry, cp, now }) => {
  const given = entry.movements.find((movement) => movement.amount < 0n);
  const got = entry.movements.find((movement) => movement.amount > 0n);
  const at = ` at ${entry.partnerName} on ${formatDay(entry.occurredAt)}`;
  if (cp > 0n && given)
    return `${headline(entry, cp)} for ${formatAmount(given.amount)} ${given.asset} exchanged${at}${creditedTail(entry.lots, now)}`;
  if (cp < 0n && got)
    return `${headline(entry, cp)} exchanged for ${formatAmount(got.amount)} ${got.asset}${at}${takenTail(entry.lots, 'taken', 'from', cp)}`;
  if (given && got) return `${formatAmount(given.amount)} ${given.asset} exchanged for ${formatAmount(got.amount)} ${got.asset}${at}`;
  return genericPhrase({ entry, cp, contributions: [], now });
};

/**
 * Any entry type without a wording of its own: "+50 CP: grant by Coffee Corp on 3 Nov 2026 (order X):
 * reasons, expires …" or "−20 CP: … from points issued by …".
 */
export const genericPhrase: Phrase = ({ entry, cp, contributions, now }) =>
  `${headline(entry, cp)}: ${entry.type} by ${entry.partnerName} on ${formatDay(entry.occurredAt)}${orderOf(entry.orderRef)}` +
  `${reasonsOf(entry, contributions)}${creditedTail(entry.lots, now)}${takenTail(entry.lots, 'taken', 'from', cp)}` +
  takenTail(entry.lots, 'returned', 'back to', cp);

/** The one place an entry type gets its wording. A type missing here reads through genericPhrase. */
const GRANT_WORDS: Record<string, string> = { compensation: 'compensation', surprise_and_delight: 'a thank-you bonus' };

const grant: Phrase = ({ entry, cp, now }) => {
  const kind = typeof entry.rates.grantKind === 'string' ? (GRANT_WORDS[entry.rates.grantKind] ?? 'a grant') : 'a grant';
  const reason = typeof entry.rates.reasonCode === 'string' ? ` (${entry.rates.reasonCode.replace(/_/g, ' ')})` : '';
  return `${headline(entry, cp)} from ${entry.partnerName} on ${formatDay(entry.occurredAt)}: ${kind}${reason}${creditedTail(entry.lots, now)}`;
};

const referral: Phrase = ({ entry, cp, now }) => {
  const role = entry.rates.role === 'referrer' ? 'for a member you referred' : 'for joining with a referral code';
  return `${headline(entry, cp)} referral bonus ${role}, paid by ${entry.partnerName} on ${formatDay(entry.occurredAt)}${creditedTail(entry.lots, now)}`;
};

const stampReward: Phrase = ({ entry, cp, now }) => {
  const reason = typeof entry.rates.reason === 'string' ? entry.rates.reason : 'stamp card completed';
  return `${headline(entry, cp)} from ${entry.partnerName} on ${formatDay(entry.occurredAt)}: ${reason}${creditedTail(entry.lots, now)}`;
};

const reward: Phrase = ({ entry, cp }) =>
  `${headline(entry, cp)} for a reward from ${entry.partnerName}'s catalogue on ${formatDay(entry.occurredAt)}` +
  takenTail(entry.lots, 'taken', 'from', cp);

const rewardRefund: Phrase = ({ entry, cp }) =>
  `${headline(entry, cp)} back on ${formatDay(entry.occurredAt)}: a reward from ${entry.partnerName} went unused and expired` +
  takenTail(entry.lots, 'returned', 'back to', cp);

export const ENTRY_PHRASES: Readonly<Record<string, Phrase>> = {
  issue,
  redeem,
  expire,
  reversal,
  transfer,
  exchange,
  grant,
  referral,
  stamp_reward: stampReward,
  reward,
  reward_refund: rewardRefund,
};

/** Contributions recorded in an entry's rates (`rates.contributions`), read leniently: anything malformed is left out. */
export function contributionsOf(rates: Record<string, unknown>): Contribution[] {
  const list = rates.contributions;
  if (!Array.isArray(list)) return [];
  const text = (value: unknown): string | null =>
    typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  return list.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const record = item as Record<string, unknown>;
    const name = text(record.name) ?? text(record.reason);
    if (name === null) return [];
    return [{ source: text(record.source), name, version: text(record.version), points: text(record.points), reason: text(record.reason) }];
  });
}

/** The line of one entry: its structured fields and its sentence. */
export function explainEntry(entry: ExplainEntry, now: Date): ExplainLine {
  const cp = entry.movements.filter((movement) => movement.asset === CP).reduce((sum, movement) => sum + movement.amount, 0n);
  const contributions = contributionsOf(entry.rates);
  const credited = entry.lots.filter((lot) => lot.role === 'credited');
  const earliest = (dates: Date[]) => (dates.length === 0 ? null : new Date(Math.min(...dates.map((date) => date.getTime()))));
  const phrase = ENTRY_PHRASES[entry.type] ?? genericPhrase;
  return {
    ...entry,
    amount: cp,
    contributions,
    expiresAt: earliest(credited.map((lot) => lot.expiresAt)),
    vestsAt: earliest(credited.flatMap((lot) => (lot.vestsAt ? [lot.vestsAt] : []))),
    reversesEntryId: entry.reverses?.entryId ?? null,
    sentence: phrase({ entry, cp, contributions, now }),
  };
}

export interface BalanceSummary {
  balance: bigint;
  pending: bigint;
  /** Points whose lots expire by `expiringBy` (30 days from the member's now), those already past expiry and not yet swept included. */
  expiringSoon: bigint;
  expiringBy: Date;
  sentence: string;
}

export function summarize(balance: bigint, pending: bigint, expiringSoon: bigint, now: Date, days: number): BalanceSummary {
  const expiringBy = new Date(now.getTime() + days * 86_400_000);
  const parts = [`Balance ${formatAmount(balance)} CP`];
  if (pending > 0n) parts.push(`${formatAmount(pending)} CP pending`);
  if (expiringSoon > 0n) parts.push(`${formatAmount(expiringSoon)} CP expire by ${formatDay(expiringBy)}`);
  return { balance, pending, expiringSoon, expiringBy, sentence: `${parts.join('; ')}.` };
}
