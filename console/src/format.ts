/**
 * Display only: amounts arrive as integer strings (points, minor units) and are shown with exact
 * string arithmetic, never through a float. Dates in UTC, as the hub's own sentences are.
 */

/** "1234567" → "1,234,567"; a leading minus is kept. */
export function points(amount: string | null | undefined): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const negative = amount.startsWith('-');
  const digits = negative ? amount.slice(1) : amount;
  const [whole = '0', fraction] = digits.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '−' : ''}${grouped}${fraction !== undefined ? `.${fraction}` : ''}`;
}

/** Digits after the decimal point of a currency (EUR 2, JPY 0), as the browser's Intl data says. */
function exponentOf(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Minor units as money: ("123456", "EUR") → "1,234.56 EUR", by moving the decimal point in the string. */
export function money(minor: string | null | undefined, currency: string): string {
  if (minor === null || minor === undefined || minor === '') return '—';
  const negative = minor.startsWith('-');
  const digits = (negative ? minor.slice(1) : minor).replace(/^0+(?=\d)/, '');
  const exponent = exponentOf(currency);
  const padded = digits.padStart(exponent + 1, '0');
  const whole = padded.slice(0, padded.length - exponent);
  const fraction = exponent > 0 ? `.${padded.slice(padded.length - exponent)}` : '';
  return `${negative ? '−' : ''}${points(whole)}${fraction} ${currency}`;
}

/** An exact decimal ratio ("0.375") as a percentage with one decimal, by string arithmetic ("37.5%"). */
export function percent(ratio: string | number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '—';
  const text = typeof ratio === 'number' ? ratio.toFixed(6) : ratio;
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const scaled = BigInt(whole + fraction.padEnd(4, '0').slice(0, 4)); // ten-thousandths
  const tenths = (scaled + 5n) / 10n; // per-mille, rounded half up
  return `${negative ? '−' : ''}${tenths / 10n}.${tenths % 10n}%`;
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${new Date(iso).toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'UTC',
  })} UTC`;
}

/** Sum of integer strings, exactly. */
export function sum(values: Array<string | null | undefined>): string {
  return values.reduce((total, value) => total + BigInt(value ?? '0'), 0n).toString();
}

/**
 * An exact decimal string ("1111.666667") rounded half away from zero to `places` decimals and
 * grouped ("1,111.67"), by integer arithmetic on its digits (no float).
 */
export function decimal(value: string | null | undefined, places: number): string {
  if (value === null || value === undefined || value === '') return '—';
  const negative = value.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? value.slice(1) : value).split('.');
  const kept = BigInt(whole + fraction.padEnd(places + 1, '0').slice(0, places + 1)); // one digit more than kept
  const rounded = (kept + 5n) / 10n;
  const scale = 10n ** BigInt(places);
  const integer = (rounded / scale).toString();
  const decimals = places > 0 ? `.${(rounded % scale).toString().padStart(places, '0')}` : '';
  const zero = rounded === 0n;
  return `${negative && !zero ? '−' : ''}${points(integer)}${decimals}`;
}

/** An exact ratio in [0, 1] ("0.666667") as a step 0–5 (for a heat-map cell's shade), by integer arithmetic. */
export function step(ratio: string | null | undefined, steps = 5): number {
  if (ratio === null || ratio === undefined || ratio.startsWith('-')) return 0;
  const [whole = '0', fraction = ''] = ratio.split('.');
  const millionths = BigInt(whole + fraction.padEnd(6, '0').slice(0, 6));
  const shade = (millionths * BigInt(steps) + 999_999n) / 1_000_000n; // 0 only for 0
  return Number(shade > BigInt(steps) ? BigInt(steps) : shade);
}
