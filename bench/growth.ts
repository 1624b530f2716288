import { Client } from 'pg';

/**
 * The growth load of the compare benchmark (docs/benchmarks.md, "Growth"): `members` more members
 * (member, member_link at one of the partners, CP wallet and its balance row) and `entries`
 * more issue entries to them (instruction, journal_entry, balanced postings wallet +n /
 * partner issuance −n, lot), written in batches of plain INSERT … SELECT generate_series as the
 * database owner, through the real constraints and triggers: the postings' balance check and
 * the trigger that moves stored balances, the period trigger, foreign keys, every index. So the
 * ledger integrity check holds afterwards. Entries are spread over the last year (recorded_at),
 * the partners and the new members. Webhook events and tier bookkeeping of these historic
 * entries are not written: this is history, not traffic.
 *
 * Member ids are md5('growth-member-<n>')::uuid, so that the entries find their member's
 * wallet without a lookup table; a second load into the same database continues the numbering.
 * Batches load on `workers` connections side by side; each sets coalition.counter_shard to its
 * own shard, so that their partner counter postings do not wait for one another.
 */
export interface GrowthOptions {
  entries: number;
  members: number;
  partners: string[];
  progress: (line: string) => void;
  /** Rows per transaction. */
  batch?: number;
  /** Connections loading batches side by side (each books its counter postings on its own shard). */
  workers?: number;
}

/** Runs `count` batches of `size` from `first` on `workers` connections, each batch in its own transaction. */
async function inBatches(
  databaseUrl: string,
  workers: number,
  first: number,
  count: number,
  size: number,
  load: (client: Client, from: number, to: number) => Promise<void>,
  done: (loaded: number) => void,
): Promise<void> {
  let next = first;
  const last = first + count - 1;
  let loaded = 0;
  const worker = async (shard: number) => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (;;) {
        const from = next;
        if (from > last) return;
        const to = Math.min(from + size - 1, last);
        next = to + 1;
        await client.query('BEGIN');
        try {
          await client.query(`SELECT set_config('coalition.counter_shard', $1, true)`, [String(shard)]);
          await load(client, from, to);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        loaded += to + 1 - from;
        done(loaded);
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, (_, shard) => worker(shard)));
}

export async function growthLoad(databaseUrl: string, options: GrowthOptions): Promise<void> {
  const size = options.batch ?? 50_000;
  const workers = options.workers ?? 2;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let firstMember: number;
  let firstEntry: number;
  try {
    firstMember = Number((await client.query(`SELECT count(*) AS n FROM member_link WHERE member_ref LIKE 'growth-%'`)).rows[0].n) || 0;
    firstEntry = Number((await client.query(`SELECT count(*) AS n FROM instruction WHERE jti LIKE 'growth-%'`)).rows[0].n) || 0;
  } finally {
    await client.end();
  }
  await inBatches(
    databaseUrl,
    workers,
    firstMember,
    options.members,
    size,
    async (client, from, to) => {
      await client.query(
        `INSERT INTO member (id, created_at)
         SELECT md5('growth-member-' || g)::uuid, now() - (g % 365) * interval '1 day' FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
      await client.query(
        `INSERT INTO member_link (partner_id, member_ref, member_id)
         SELECT ($3::text[])[1 + g % cardinality($3::text[])], 'growth-' || g, md5('growth-member-' || g)::uuid
         FROM generate_series($1::int, $2::int) g`,
        [from, to, options.partners],
      );
      await client.query(
        `WITH a AS (
           INSERT INTO account (owner_kind, owner_id, asset, kind)
           SELECT 'member', md5('growth-member-' || g)::uuid::text, 'CP', 'wallet' FROM generate_series($1::int, $2::int) g
           RETURNING id
         )
         INSERT INTO account_balance (account_id, kind, shard, balance) SELECT id, 'wallet', 0, 0 FROM a`,
        [from, to],
      );
    },
    (loaded) => options.progress(`growth: members ${loaded}/${options.members} (${elapsed()})`),
  );
  const totalMembers = firstMember + options.members;
  let reported = 0;
  await inBatches(
    databaseUrl,
    workers,
    firstEntry,
    options.entries,
    size,
    async (client, from, to) => {
      // Entry g: member g mod members (at that member's partner), 1 to 97 CP, some day of the last year.
      const source = `SELECT g, 'growth-' || g AS jti, ($4::text[])[1 + (g % $3::int) % cardinality($4::text[])] AS partner_id,
                        md5('growth-member-' || (g % $3::int))::uuid AS member_id, 1 + g % 97 AS amount,
                        now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second' AS at
                      FROM generate_series($1::int, $2::int) g`;
      await client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at, member_id)
         SELECT partner_id, jti, 'issue', 'growth', 'growth-' || g, 'growth', at, member_id FROM (${source}) s`,
        [from, to, totalMembers, options.partners],
      );
      await client.query(
        `WITH s AS (${source}),
         e AS (
           INSERT INTO journal_entry (id, type, partner_id, jti, member_id, occurred_at, recorded_at, rates, request_hash)
           SELECT md5(s.jti)::uuid, 'issue', s.partner_id, s.jti, s.member_id, s.at, s.at, '{"issuePrice": "1", "currency": "EUR"}'::jsonb, 'growth-' || s.g
           FROM s RETURNING id, jti
         ),
         t AS (
           SELECT e.id AS entry_id, s.partner_id, s.amount, s.at, w.id AS wallet, i.id AS issuance
           FROM e JOIN s ON s.jti = e.jti
           JOIN account w ON w.owner_kind = 'member' AND w.owner_id = s.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
           JOIN account i ON i.owner_kind = 'partner' AND i.owner_id = s.partner_id AND i.asset = 'CP' AND i.kind = 'issuance'
         ),
         p AS (
           INSERT INTO posting (entry_id, account_id, asset, amount)
           SELECT t.entry_id, x.account_id, 'CP', x.amount
           FROM t CROSS JOIN LATERAL (VALUES (t.wallet, t.amount), (t.issuance, -t.amount)) AS x(account_id, amount)
         )
         INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at)
         SELECT t.wallet, t.partner_id, t.entry_id, t.amount, t.amount, t.at, t.at + interval '24 months' FROM t`,
        [from, to, totalMembers, options.partners],
      );
    },
    (loaded) => {
      if (loaded - reported >= size * 4 || loaded === options.entries) {
        reported = loaded;
        options.progress(`growth: entries ${loaded}/${options.entries} (${elapsed()})`);
      }
    },
  );
}
