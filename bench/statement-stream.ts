import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { createDataSource, migrate } from '../src/db/data-source';
import { ensureDatabase } from '../src/db/embedded';
import type { BenchDatabase } from './harness';

/**
 * Large periods stream and memory stays flat: this loads a period of N issue entries
 * (and N/4 redemptions of whole lots, so funded values are computed too) at one partner straight into the ledger (bulk SQL, with the real triggers and constraints),
 * then runs the settlement CLI — close (totals, netting, the signed statement of N lines) and a
 * full CSV and JSON export of that statement — as separate processes, and reports each one's
 * peak memory and time. Done for a small and a large N: flat memory means the ratio of peak
 * RSS stays near 1 while N grows tenfold.
 */
export interface StatementBenchOptions {
  entries: number;
  small: number;
}

const BATCH = 50_000;
const PRICE = '1.25';

/**
 * Seeds the open period with `entries` issues (and a quarter as many whole-lot redemptions) at
 * partner BENCH, numbered from `first`; a later call (first > 1) adds to the same partner and member.
 */
export async function seed(url: string, entries: number, first = 1): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { memberId, wallet, issuance, redemption } = first === 1 ? await seedPartner(client) : await findPartner(client);
    const last = first + entries - 1;
    for (let from = first; from <= last; from += BATCH) {
      const to = Math.min(from + BATCH - 1, last);
      await client.query('BEGIN');
      // Amounts 1..97 CP: at 1.25 a CP, a quarter of them round half-even.
      await client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at)
         SELECT 'BENCH', 'b-' || g, 'issue', 'bench', 'h' || g, 'bench', now() FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
      await client.query(
        `WITH e AS (
           INSERT INTO journal_entry (id, type, partner_id, jti, member_id, occurred_at, recorded_at, rates, request_hash)
           SELECT gen_random_uuid(), 'issue', 'BENCH', 'b-' || g, $3::uuid, now(), now(),
                  '{"issuePrice": "${PRICE}", "currency": "EUR"}'::jsonb, 'h' || g
           FROM generate_series($1::int, $2::int) g RETURNING id, jti
         ), p AS (
           INSERT INTO posting (entry_id, account_id, asset, amount)
           SELECT e.id, x.account_id, 'CP', x.sign * (1 + substr(e.jti, 3)::int % 97)
           FROM e CROSS JOIN (VALUES ($4::bigint, 1), ($5::bigint, -1)) AS x(account_id, sign)
         )
         INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at)
         SELECT $4, 'BENCH', e.id, 1 + substr(e.jti, 3)::int % 97, 1 + substr(e.jti, 3)::int % 97, now(), now() + interval '24 months' FROM e`,
        [from, to, memberId, wallet, issuance],
      );
      await client.query(
        `UPDATE account_balance SET balance = balance + CASE WHEN account_id = $1 THEN 1 ELSE -1 END * s.total
         FROM (SELECT sum(1 + g % 97) AS total FROM generate_series($2::int, $3::int) g) s WHERE account_id IN ($1, $4)`,
        [wallet, from, to, issuance],
      );
      // Every fourth issue's lot is redeemed whole: redeem lines, and lot consumption for the funded values.
      await client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at)
         SELECT 'BENCH', 'r-' || g, 'redeem', 'bench', 'rh' || g, 'bench', now() FROM generate_series($1::int, $2::int) g WHERE g % 4 = 0`,
        [from, to],
      );
      await client.query(
        `WITH src AS (
           SELECT g, l.id AS lot_id, l.amount FROM generate_series($1::int, $2::int) g
           JOIN journal_entry j ON j.partner_id = 'BENCH' AND j.jti = 'b-' || g JOIN lot l ON l.entry_id = j.id WHERE g % 4 = 0
         ), e AS (
           INSERT INTO journal_entry (id, type, partner_id, jti, member_id, occurred_at, recorded_at, rates, request_hash)
           SELECT gen_random_uuid(), 'redeem', 'BENCH', 'r-' || g, $3::uuid, now(), now(), '{"redeemPrice": "0.8", "currency": "EUR"}'::jsonb, 'rh' || g
           FROM src RETURNING id, jti
         ), p AS (
           INSERT INTO posting (entry_id, account_id, asset, amount)
           SELECT e.id, x.account_id, 'CP', x.sign * src.amount
           FROM e JOIN src ON e.jti = 'r-' || src.g CROSS JOIN (VALUES ($4::bigint, -1), ($5::bigint, 1)) AS x(account_id, sign)
         ), c AS (
           INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount, kind)
           SELECT src.lot_id, e.id, 'BENCH', 'BENCH', src.amount, 'redeem' FROM e JOIN src ON e.jti = 'r-' || src.g
         )
         UPDATE lot SET remaining = 0 FROM src WHERE lot.id = src.lot_id`,
        [from, to, memberId, wallet, redemption],
      );
      await client.query(
        `UPDATE account_balance SET balance = balance + CASE WHEN account_id = $1 THEN -1 ELSE 1 END * s.total
         FROM (SELECT coalesce(sum(1 + g % 97), 0) AS total FROM generate_series($2::int, $3::int) g WHERE g % 4 = 0) s WHERE account_id IN ($1, $4)`,
        [wallet, from, to, redemption],
      );
      await client.query('COMMIT');
    }
    // Over a day of traffic autovacuum would have analysed these tables; a bulk load has not.
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

interface BenchAccounts {
  memberId: string;
  wallet: string;
  issuance: string;
  redemption: string;
}

async function seedPartner(client: Client): Promise<BenchAccounts> {
  const memberId = randomUUID();
  await client.query(`INSERT INTO partner (id, name) VALUES ('BENCH', 'Bench Ltd')`);
  await client.query(
    `INSERT INTO partner_contract (partner_id, valid_from, currency, issue_price, redeem_price) VALUES ('BENCH', now() - interval '1 day', 'EUR', ${PRICE}, 1)`,
  );
  await client.query('INSERT INTO member (id) VALUES ($1)', [memberId]);
  const [{ id: wallet }] = (
    await client.query(`INSERT INTO account (owner_kind, owner_id, asset, kind) VALUES ('member', $1, 'CP', 'wallet') RETURNING id`, [
      memberId,
    ])
  ).rows;
  const [{ id: issuance }] = (
    await client.query(`INSERT INTO account (owner_kind, owner_id, asset, kind) VALUES ('partner', 'BENCH', 'CP', 'issuance') RETURNING id`)
  ).rows;
  const [{ id: redemption }] = (
    await client.query(
      `INSERT INTO account (owner_kind, owner_id, asset, kind) VALUES ('partner', 'BENCH', 'CP', 'redemption') RETURNING id`,
    )
  ).rows;
  await client.query(
    `INSERT INTO account_balance (account_id, kind, shard, balance) VALUES ($1, 'wallet', 0, 0), ($2, 'issuance', 0, 0), ($3, 'redemption', 0, 0)`,
    [wallet, issuance, redemption],
  );
  return { memberId, wallet, issuance, redemption };
}

async function findPartner(client: Client): Promise<BenchAccounts> {
  const { rows } = await client.query(
    `SELECT owner_id, id, kind FROM account WHERE (owner_kind = 'partner' AND owner_id = 'BENCH') OR kind = 'wallet'`,
  );
  const of = (kind: string) => rows.find((row) => row.kind === kind);
  return { memberId: of('wallet').owner_id, wallet: of('wallet').id, issuance: of('issuance').id, redemption: of('redemption').id };
}

interface Run {
  seconds: number;
  peakRssMiB: number;
  stdout: string;
}

function cli(url: string, args: string[]): Promise<Run> {
  const started = process.hrtime.bigint();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(__dirname, '../src/cli/main.js'), 'settlement', ...args], {
      env: { ...process.env, DATABASE_URL: url, REPORT_PEAK_RSS: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      const rss = /peak-rss-kib ([0-9]+)/.exec(stderr);
      if (code !== 0 || !rss) return fail(new Error(`settlement ${args.join(' ')} failed (${code}): ${stderr}`));
      done({ seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMiB: Number(rss[1]) / 1024, stdout });
    });
  });
}

async function measure(serverUrl: string, entries: number) {
  const url = await ensureDatabase(serverUrl, `bench_statement_${entries}`);
  const dataSource = createDataSource(url, 3);
  await dataSource.initialize();
  await dataSource.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await migrate(dataSource);
  await dataSource.destroy();
  const seeding = process.hrtime.bigint();
  await seed(url, entries);
  const seedSeconds = Number(process.hrtime.bigint() - seeding) / 1e9;
  const close = await cli(url, ['close', '1']);
  const client = new Client({ connectionString: url });
  await client.connect();
  const [{ id, line_count: lines, net_minor: net }] = (
    await client.query(`SELECT id, line_count, net_minor FROM statement WHERE partner_id = 'BENCH'`)
  ).rows;
  await client.end();
  const csv = await cli(url, ['statement', id, '-f', 'csv', '-o', '/dev/null']);
  const json = await cli(url, ['statement', id, '-f', 'json', '-o', '/dev/null']);
  const reconcile = await cli(url, ['reconcile', '1']);
  if (!reconcile.stdout.includes('period 1 reconciles')) throw new Error(`period does not reconcile:\n${reconcile.stdout}`);
  return { entries, seedSeconds, lines: Number(lines), net: String(net), close, csv, json, reconcile };
}

export async function statementStream(database: BenchDatabase, options: StatementBenchOptions): Promise<void> {
  console.log(`\n# statement streaming: ${options.small} and ${options.entries} entries in one period`);
  const results = [];
  for (const entries of [options.small, options.entries]) {
    const result = await measure(database.serverUrl, entries);
    results.push(result);
    console.log(
      `${String(entries).padStart(9)} entries (seeded in ${result.seedSeconds.toFixed(0)} s): statement of ${result.lines} lines, net ${result.net} EUR minor\n` +
        `   close (totals, netting, signed statement): ${result.close.seconds.toFixed(1)} s, peak RSS ${result.close.peakRssMiB.toFixed(0)} MiB\n` +
        `   CSV export:  ${result.csv.seconds.toFixed(1)} s (${(result.lines / result.csv.seconds).toFixed(0)} lines/s), peak RSS ${result.csv.peakRssMiB.toFixed(0)} MiB\n` +
        `   JSON export: ${result.json.seconds.toFixed(1)} s (${(result.lines / result.json.seconds).toFixed(0)} lines/s), peak RSS ${result.json.peakRssMiB.toFixed(0)} MiB\n` +
        `   reconcile (recompute + re-hash every line): ${result.reconcile.seconds.toFixed(1)} s, peak RSS ${result.reconcile.peakRssMiB.toFixed(0)} MiB`,
    );
  }
  const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
  const ratio = (a: number, b: number) => (b / a).toFixed(2);
  console.log(
    `peak RSS ×${large.entries / small.entries} entries: close ×${ratio(small.close.peakRssMiB, large.close.peakRssMiB)}, ` +
      `CSV ×${ratio(small.csv.peakRssMiB, large.csv.peakRssMiB)}, JSON ×${ratio(small.json.peakRssMiB, large.json.peakRssMiB)}, ` +
      `reconcile ×${ratio(small.reconcile.peakRssMiB, large.reconcile.peakRssMiB)} (flat = near 1)`,
  );
}
