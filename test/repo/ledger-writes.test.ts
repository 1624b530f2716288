import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The ledger kernel (src/ledger/) owns the ledger tables: no file outside it writes them
 * (docs/ledger.md, "The kernel"). Operations decide and call postEntry, placeHold or voidHold.
 */
const ROOT = resolve(__dirname, '../..');
const LEDGER_TABLES = ['account', 'account_balance', 'journal_entry', 'posting', 'lot', 'lot_consumption', 'hold'];
const WRITE = new RegExp(
  `\\b(?:INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|TRUNCATE(?:\\s+TABLE)?)\\s+(?:ONLY\\s+)?(${LEDGER_TABLES.join('|')})\\b`,
  'gi',
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every write statement against a ledger table in a file, as "file: STATEMENT table". */
function ledgerWrites(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(WRITE)].map((match) => `${relative(ROOT, path)}: ${match[0].replace(/\s+/g, ' ')}`);
}

describe('ledger tables are written only by the kernel', () => {
  const files = sourceFiles(join(ROOT, 'src'));

  it('finds the kernel writes, so the search itself works', () => {
    const kernel = files.filter((file) => relative(ROOT, file).startsWith(join('src', 'ledger')));
    const found = kernel.flatMap(ledgerWrites).map((write) => write.split(': ')[1]!.split(' ').pop()!.toLowerCase());
    for (const table of ['journal_entry', 'posting', 'lot', 'lot_consumption', 'hold', 'account', 'account_balance']) {
      expect(found).toContain(table);
    }
  });

  it('finds no INSERT, UPDATE, DELETE or TRUNCATE of a ledger table outside src/ledger/', () => {
    const outside = files.filter((file) => !relative(ROOT, file).startsWith(join('src', 'ledger') + '/'));
    expect(outside.flatMap(ledgerWrites)).toEqual([]);
  });
});
