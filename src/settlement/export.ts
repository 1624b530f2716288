import type { StatementLine, StatementTotals } from '@coalition-hub/partner-sdk';
import { assert } from '../common/assert';
import type { StatementRow, StatementService } from './statement.service';

export type StatementFormat = 'JSON' | 'CSV';

/**
 * The CSV export (docs/statement-exports.md). Spreadsheets evaluate a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, and partners choose some of what a
 * statement shows (orderRef). So, as OWASP's CSV-injection guidance says: every field is quoted
 * (embedded quotes doubled), and a text cell that starts with one of those characters gets a
 * leading single quote. Numeric columns are the hub's own integers and exact decimals: checked
 * to be numbers, never prefixed, so "-120" stays the number −120.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

type Cell = { text: string | null } | { number: string | null };

const text = (value: string | null): Cell => ({ text: value });
const number = (value: string | null): Cell => ({ number: value });

function csvCell(cell: Cell): string {
  let value: string;
  if ('number' in cell) {
    value = cell.number ?? '';
    assert(value === '' || NUMBER.test(value), `a numeric statement cell is not a number: ${value}`);
  } else {
    value = cell.text ?? '';
    if (FORMULA_START.test(value)) value = `'${value}`;
  }
  return `"${value.replace(/"/g, '""')}"`;
}

const csvRow = (cells: Cell[]): string => `${cells.map(csvCell).join(',')}\r\n`;

/** Digits after the decimal point of a currency's major unit (EUR 2, JPY 0, BHD 3), from ICU. */
export function currencyExponent(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units as an exact decimal string in major units: (-12345, 2) → "-123.45". No floats. */
export function minorToMajor(minor: bigint, exponent: number): string {
  if (exponent === 0) return minor.toString();
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, '0');
  return `${minor < 0n ? '-' : ''}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** The CSV's columns, in order; the major-unit amount column is named after the currency. */
export function csvColumns(currency: string): string[] {
  return [
    'line',
    'entry',
    'seq',
    'recorded_at',
    'kind',
    'points',
    'price_minor_per_point',
    'amount_minor',
    `amount_${currency}`,
    'order_ref',
    'reference',
  ];
}

/** One statement line as a CSV row (columns of csvColumns). */
export function lineRow(line: StatementLine, exponent: number): string {
  return csvRow([
    number(line.line),
    text(line.entry),
    number(line.seq),
    text(line.recordedAt),
    text(line.kind),
    number(line.points),
    number(line.price),
    number(line.moneyMinor),
    number(minorToMajor(BigInt(line.moneyMinor), exponent)),
    text(line.orderRef),
    text(line.reference),
  ]);
}

/** A trailing row: `label` in the line column, what it sums in the amount columns, a note in the reference column. */
function summaryRow(
  label: string,
  kind: string | null,
  points: string | null,
  minor: string | null,
  exponent: number,
  note: string,
): string {
  const major = minor === null ? null : minorToMajor(BigInt(minor), exponent);
  return csvRow([
    text(label),
    text(null),
    number(null),
    text(null),
    text(kind),
    number(points),
    number(null),
    number(minor),
    number(major),
    text(null),
    text(note),
  ]);
}

function totalRows(totals: StatementTotals, digest: string, exponent: number): string {
  const kinds = Object.entries(totals.byKind).map(([kind, total]) =>
    summaryRow('total', kind, total.points, total.moneyMinor, exponent, `${total.lines} lines`),
  );
  return [
    ...kinds,
    summaryRow('net', null, null, totals.netMinor, exponent, `${totals.lines} lines`),
    summaryRow('sha256', null, null, null, exponent, digest),
  ].join('');
}

/** A file name that carries the statement's identity, since a CSV has no room for it above the header. */
export function statementFileName(
  statement: Pick<StatementRow, 'id' | 'partnerId' | 'periodId' | 'currency'>,
  format: StatementFormat,
): string {
  const safe = (part: string) => part.replace(/[^A-Za-z0-9_-]/g, '_');
  return `coalition-statement_${safe(statement.partnerId)}_period-${safe(statement.periodId)}_${safe(statement.currency)}_${safe(statement.id)}.${format.toLowerCase()}`;
}

/**
 * Writes a statement as JSON (the StatementDocument of the partner SDK: header, lines, totals —
 * what verifyStatement checks) or as CSV (a header row, one row per line, then the totals).
 * Chunks go to `write` as they are produced: memory stays flat whatever the size.
 */
export async function renderStatement(
  statements: StatementService,
  statement: StatementRow,
  format: StatementFormat,
  write: (chunk: string) => void | Promise<void>,
): Promise<void> {
  let first = true;
  if (format === 'JSON') {
    await statements.stream(statement, {
      header: (header) => write(`{"header":${JSON.stringify(header)},"lines":[`),
      line: (line) => {
        const text = `${first ? '' : ','}\n${JSON.stringify(line)}`;
        first = false;
        return write(text);
      },
      totals: (totals) => write(`\n],"totals":${JSON.stringify(totals)},"signature":${JSON.stringify(statement.jws)}}\n`),
    });
    return;
  }
  const exponent = currencyExponent(statement.currency);
  await statements.stream(statement, {
    header: () =>
      write(
        csvColumns(statement.currency)
          .map((column) => csvCell(text(column)))
          .join(',') + '\r\n',
      ),
    line: (line) => write(lineRow(line, exponent)),
    totals: (totals) => write(totalRows(totals, statement.digest, exponent)),
  });
}
