import type { DataSource } from 'typeorm';
import { isDomainError } from '../src/common/errors';
import { createDataSource, migrate } from '../src/db/data-source';
import { ensureDatabase } from '../src/db/embedded';
import { KpiService, type KpiQuery } from '../src/kpis/kpi.service';
import { MemberLiftService } from '../src/kpis/member-lift';
import { refreshKpis } from '../src/kpis/rollups';
import type { BenchDatabase } from './harness';

/**
 * KPI queries over rollups (docs/kpis.md, docs/benchmarks.md). Seeds `members` members at `partners`
 * partners (a third also enrolled at a second partner), enrolled over the last year, and `entries`
 * purchase activities spread over the year since each member's enrolment, straight in SQL; runs the
 * first (full) refresh of the rollups and of the figure bases and an incremental one, both timed;
 * records `fresh` purchases after the bases; then, per kind of query (a partner's and the
 * coalition's last 3 and 12 months), times one computation in full and checks that the base rolled
 * forward answers the same, and times `queries` KPI queries as of now through KpiService (what the
 * GraphQL resolver calls), reporting p50 and p95 per kind; then the same for kpiMemberLift
 * (MemberLiftService), with a non-member report from every partner for every month.
 */
export interface KpiBenchOptions {
  members: number;
  entries: number;
  partners: number;
  queries: number;
  /** Purchases recorded after the bases, in the last 5 minutes before the queries. */
  fresh: number;
  /** Skip seeding: the database holds what an earlier run with the same sizes seeded. */
  reuse: boolean;
}

const BATCH = 100_000;
const DAY_MS = 86_400_000;

async function seed(dataSource: DataSource, options: KpiBenchOptions): Promise<void> {
  const { members, entries, partners } = options;
  await dataSource.query(`INSERT INTO partner (id, name) SELECT 'KP' || g, 'Partner ' || g FROM generate_series(1, $1::int) g`, [partners]);
  // Member g: uuid from g, enrolled (1 + g*13 % 364) days ago at partner KP(1 + g % partners); every third also at the next partner.
  for (let from = 1; from <= members; from += BATCH) {
    const to = Math.min(from + BATCH - 1, members);
    await dataSource.query(
      `WITH m AS (
         SELECT g, ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid AS id,
                now() - make_interval(days => 1 + (g * 13) % 364) AS enrolled
           FROM generate_series($1::int, $2::int) g
       ), mem AS (
         INSERT INTO member (id, created_at) SELECT id, enrolled FROM m
       )
       INSERT INTO member_link (partner_id, member_ref, member_id, created_at)
       SELECT 'KP' || (1 + g % $3::int), 'm' || g, id, enrolled FROM m
       UNION ALL
       SELECT 'KP' || (1 + (g + 1) % $3::int), 'm' || g, id, enrolled + interval '1 day' FROM m WHERE g % 3 = 0 AND $3::int > 1`,
      [from, to, partners],
    );
  }
  // Purchase i: member 1 + (i * 7919) % members, at its first (or, for every third member, alternately its second) partner,
  // recorded some day between its enrolment and now, basket 100..9999, channel web/app/store.
  for (let from = 1; from <= entries; from += BATCH) {
    const to = Math.min(from + BATCH - 1, entries);
    await dataSource.query(
      `WITH p AS (
         SELECT i, 1 + (i::bigint * 7919) % $3::int AS g FROM generate_series($1::int, $2::int) i
       )
       INSERT INTO activity (id, partner_id, jti, member_id, kind, total_minor, currency, points, occurred_at, recorded_at, detail)
       SELECT gen_random_uuid(),
              'KP' || (1 + (p.g + CASE WHEN p.g % 3 = 0 AND p.i % 2 = 0 AND $4::int > 1 THEN 1 ELSE 0 END) % $4::int),
              'k' || p.i, ('00000000-0000-4000-8000-' || lpad(to_hex(p.g), 12, '0'))::uuid, 'purchase',
              100 + (p.i * 37) % 9900, 'EUR', 0, t.at, t.at,
              jsonb_build_object('channel', (ARRAY['web', 'app', 'store'])[1 + p.i % 3])
         FROM p CROSS JOIN LATERAL (
           SELECT now() - make_interval(days => ((p.i * 31) % (1 + (p.g * 13) % 364))::int, secs => (p.i * 17) % 86400) AS at
         ) t`,
      [from, to, members, partners],
    );
    process.stderr.write(`\r  seeded ${to} of ${entries} purchases`);
  }
  process.stderr.write('\n');
  await dataSource.query('VACUUM ANALYZE');
}

/** `fresh` purchases by members spread over all of them, recorded in the last 5 minutes (after the bases). */
async function fresh(dataSource: DataSource, options: KpiBenchOptions): Promise<void> {
  await dataSource.query(
    `INSERT INTO activity (id, partner_id, jti, member_id, kind, total_minor, currency, points, occurred_at, recorded_at, detail)
     SELECT gen_random_uuid(), 'KP' || (1 + g % $3::int), 'fresh-' || gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
            'purchase', 100 + (i * 37) % 9900, 'EUR', 0, t.at, t.at, jsonb_build_object('channel', 'web')
       FROM generate_series(1, $1::int) i
      CROSS JOIN LATERAL (SELECT 1 + (i::bigint * 104729) % $2::int AS g) m(g)
      CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (i * 7) % 300) AS at) t`,
    [options.fresh, options.members, options.partners],
  );
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const month = (at: Date): string => at.toISOString().slice(0, 7);

export async function kpiBench(database: BenchDatabase, options: KpiBenchOptions): Promise<void> {
  console.log(
    `\n# KPI queries over rollups: ${options.members} members at ${options.partners} partners, ${options.entries} purchases over a year, ${options.queries} queries`,
  );
  const url = await ensureDatabase(database.serverUrl, 'bench_kpis');
  const dataSource = createDataSource(url, 3);
  await dataSource.initialize();
  try {
    let started = Date.now();
    if (options.reuse) {
      // The database an earlier run seeded with the same sizes, its rollups and bases as they are.
      await migrate(dataSource);
      const [counts]: Array<{ members: number; partners: number }> = await dataSource.query(
        'SELECT (SELECT count(*) FROM member)::int AS members, (SELECT count(*) FROM partner)::int AS partners',
      );
      if (counts?.members !== options.members || counts.partners !== options.partners) {
        throw new Error(`--reuse: the database holds ${counts?.members} members at ${counts?.partners} partners, not the sizes asked for`);
      }
      console.log('reusing the seeded database');
    } else {
      await dataSource.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await migrate(dataSource);
      await seed(dataSource, options);
      console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    started = Date.now();
    const first = await refreshKpis(dataSource, new Date(), (done, total) => {
      if (done % 30 === 0 || done === total) process.stderr.write(`\r  refresh: day ${done} of ${total}`);
    });
    process.stderr.write('\n');
    console.log(
      `first refresh (${first.days} days, then ${first.bases} figure bases): ${((Date.now() - started) / 1000).toFixed(1)} s, ${first.rows} member-day rows, ${first.enrolments} enrolments`,
    );
    await dataSource.query('ANALYZE kpi_member_day; ANALYZE kpi_member_fact; ANALYZE kpi_figures_base');
    started = Date.now();
    const next = await refreshKpis(dataSource, new Date());
    console.log(`incremental refresh: ${Date.now() - started} ms (${next.days} day(s) recomputed, ${next.bases} bases rolled forward)`);

    // Activity after the bases (as of now − the refresh lag): what a query as of now applies to its base.
    started = Date.now();
    await fresh(dataSource, options);
    console.log(`${options.fresh} fresh purchases recorded in the last 5 minutes (${Date.now() - started} ms)`);

    const service = new KpiService(dataSource);
    // The check in full is not a request: over a million members it may take longer than the hub lets a statement run.
    const unbounded = createDataSource(url, 1);
    const extra = (unbounded.options as { extra: { options: string } }).extra;
    unbounded.setOptions({ extra: { ...extra, options: extra.options.replace(/statement_timeout=\S+/, 'statement_timeout=0') } });
    await unbounded.initialize();
    const inFull = new KpiService(unbounded);
    const now = new Date();
    const lastMonth = month(now);
    const threeBack = month(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1)));
    const yearBack = month(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)));
    const shapes: Array<{ label: string; query: Omit<KpiQuery, 'asOf'> }> = [
      { label: 'partner, 3 months', query: { partnerId: 'KP1', from: threeBack, to: lastMonth } },
      { label: 'partner, 12 months', query: { partnerId: 'KP1', from: yearBack, to: lastMonth } },
      { label: 'coalition, 3 months', query: { partnerId: null, from: threeBack, to: lastMonth } },
      { label: 'coalition, 12 months', query: { partnerId: null, from: yearBack, to: lastMonth } },
    ];
    const later = new Date(now.getTime() + DAY_MS);
    // Each kind once in full too: its time, and the check that the base rolled forward answers exactly the same.
    for (const shape of shapes) {
      const asOf = now;
      const t0 = process.hrtime.bigint();
      const full = await inFull.explain({ ...shape.query, asOf }, later, { full: true });
      const fullMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const fast = await service.explain({ ...shape.query, asOf }, later);
      if (isDomainError(full) || isDomainError(fast)) throw new Error('kpis refused');
      if (JSON.stringify(full.kpis) !== JSON.stringify(fast.kpis))
        throw new Error(`${shape.label}: the base rolled forward differs from the full computation`);
      console.log(
        `  ${shape.label}: ${fast.kpis.activeMembers} active members, ${fast.kpis.purchases} purchases; in full ${fullMs.toFixed(0)} ms; ` +
          `from the base as of ${fast.path.kind === 'base' ? `${fast.path.baseAsOf.toISOString()} + ${fast.path.changedMembers} changed members: the same figures` : `nothing (${fast.path.reason})`}`,
      );
      if (fast.path.kind !== 'base') throw new Error(`${shape.label}: no base was used (${fast.path.reason})`);
    }

    const timings = new Map<string, number[]>(shapes.map((shape) => [shape.label, []]));
    const all: number[] = [];
    for (let index = 0; index < options.queries; index++) {
      const shape = shapes[index % shapes.length]!;
      // Each query as of a slightly different time (as dashboards asking "now" would), so no plan or row is cached by asOf.
      const asOf = new Date(now.getTime() - (index % 5) * 60_000);
      const t0 = process.hrtime.bigint();
      const outcome = await service.kpis({ ...shape.query, asOf }, later);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (isDomainError(outcome)) throw new Error(`kpis refused: ${outcome.code} ${outcome.message}`);
      timings.get(shape.label)!.push(ms);
      all.push(ms);
    }
    const line = (label: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `${label.padEnd(28)} p50 ${percentile(sorted, 50).toFixed(1)} ms  p95 ${percentile(sorted, 95).toFixed(1)} ms  (${sorted.length} queries)`,
      );
    };
    for (const [label, values] of timings) line(label, values);
    line('all', all);

    // Member lift (docs/kpis.md, "Member lift") over the same rows, with a non-member report from every partner for every month of the year.
    await dataSource.query(
      `INSERT INTO kpi_non_member_report (partner_id, month, customers, purchases, spend_minor, reported_by, recorded_at)
       SELECT p.id, m::date, 1000, 1500, 750000, 'bench', now() - interval '1 hour'
         FROM partner p CROSS JOIN generate_series(date_trunc('month', now()) - interval '11 months', date_trunc('month', now()), interval '1 month') m`,
    );
    const lift = new MemberLiftService(dataSource, dataSource);
    const liftTimings = new Map<string, number[]>(shapes.map((shape) => [shape.label, []]));
    for (let index = 0; index < options.queries; index++) {
      const shape = shapes[index % shapes.length]!;
      const asOf = new Date(now.getTime() - (index % 5) * 60_000);
      const t0 = process.hrtime.bigint();
      const outcome = await lift.lift({ ...shape.query, asOf }, new Date(now.getTime() + DAY_MS));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (isDomainError(outcome)) throw new Error(`kpiMemberLift refused: ${outcome.code} ${outcome.message}`);
      liftTimings.get(shape.label)!.push(ms);
    }
    for (const [label, values] of liftTimings) line(`lift: ${label}`, values);
    await unbounded.destroy();
  } finally {
    await dataSource.destroy();
  }
}
