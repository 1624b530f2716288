import type { StatementLine } from '@coalition-hub/partner-sdk';
import type { StatementRow, StatementService } from './statement.service';

export type StatementFormat = 'JSON' | 'CSV';

const CSV_COLUMNS: ReadonlyArray<keyof StatementLine> = ['line', 'entry', 'seq', 'recordedAt', 'kind', 'points', 'price', 'moneyMinor', 'orderRef', 'reference'];

/** RFC 4180: quote a field when it holds a comma, quote or line break; a leading =+-@ is quoted too, so a spreadsheet never runs it. */
function csvField(value: string | null): string {
  if (value === null) return '';
  const needsQuotes = /[",\r\n]/.test(value) || /^[=+\-@]/.test(value) && !/^-?[0-9]+$/.test(value);
  return needsQuotes ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes a statement as JSON (the StatementDocument of the partner SDK: header, lines, totals —
 * what verifyStatement checks) or as CSV (one row per line, then the totals as comment rows).
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
  await statements.stream(statement, {
    header: (header) =>
      write(
        `# coalition statement ${header.statementId} partner ${header.partner} period ${header.period} ${header.periodStart}..${header.cutoff} currency ${header.currency}\n` +
          `${CSV_COLUMNS.join(',')}\n`,
      ),
    line: (line) => write(`${CSV_COLUMNS.map((column) => csvField(line[column])).join(',')}\n`),
    totals: (totals) => {
      const rows = Object.entries(totals.byKind).map(([kind, total]) => `# total ${kind}: ${total.lines} lines, ${total.points} CP, ${total.moneyMinor} minor\n`);
      return write(`${rows.join('')}# net ${totals.netMinor} minor over ${totals.lines} lines\n# digest ${statement.digest}\n`);
    },
  });
}
