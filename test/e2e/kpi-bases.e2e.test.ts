import { hashEmail, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { isDomainError } from '../../src/common/errors';
import { KpiService, type KpiQuery } from '../../src/kpis/kpi.service';
import type { FiguresPath } from '../../src/kpis/kpi-bases';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { createMug, moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * KPI figure bases (docs/kpis.md, "Bases"): a query answered from a base rolled forward over the
 * members changed since answers exactly what the full computation answers, for partners and the
 * coalition, with and without segments, after purchases, enrolments, referrals made and qualified,
 * redemptions, earns and burns; and the full computation takes over when no base can serve
 * (asOf before any base, other lifecycle thresholds in force, a partner that starts sending
 * purchase activities, too many members changed).
 *
 * ACME and BOLT send purchase activities; CORE only issues and redeems (so there an earn or burn
 * makes a member active) and pays the referral bonuses.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let core: TestPartner;
let service: KpiService;
let mugId: string;

const at = (iso: string): void => moveClockTo(hub, iso);

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> => {
  await sendAccepted(hub, partner, op, fields);
};

let order = 0;
const buy = (partner: TestPartner, member: string, total: string, channel?: string) =>
  send(partner, 'activity', {
    activity: 'purchase',
    member,
    total,
    currency: 'EUR',
    ...(channel ? { channel } : {}),
    orderRef: `o-${++order}`,
  });

async function operator(query: string, variables: Record<string, unknown> = {}) {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!;
}

const refresh = async () => (await operator('mutation { refreshKpis { ran } }')).refreshKpis.ran as boolean;

async function codeOf(partner: TestPartner, ref: string): Promise<string> {
  const me = await hub.graphql('{ me { referralCode } }', {}, await hub.memberToken(partner, ref));
  if (me.errors) throw new Error(JSON.stringify(me.errors));
  return me.data!.me.referralCode;
}

let redemption = 0;
async function redeemMug(ref: string): Promise<void> {
  await send(acme, 'issue', { member: ref, amount: '10' });
  const redeemed = await hub.graphql(
    'mutation($reward: ID!, $key: String!) { redeemReward(rewardId: $reward, idempotencyKey: $key) { __typename } }',
    { reward: mugId, key: `mug-${++redemption}` },
    await hub.memberToken(acme, ref),
  );
  expect(redeemed.data?.redeemReward.__typename).toBe('RewardRedemption');
}

/** The query answered both ways (from a base where one serves, and in full): the same Kpis. Answers how the first was computed. */
async function same(query: Omit<KpiQuery, 'asOf'>, asOf: Date = hub.clock.now()): Promise<FiguresPath> {
  const fast = await service.explain({ ...query, asOf }, hub.clock.now());
  const full = await service.explain({ ...query, asOf }, hub.clock.now(), { full: true });
  if (isDomainError(fast) || isDomainError(full)) throw new Error('kpis refused');
  expect(full.path).toEqual({ kind: 'full', reason: 'asked' });
  expect({ query, asOf, kpis: fast.kpis }).toEqual({ query, asOf, kpis: full.kpis });
  return fast.path;
}

/** The hub's clock runs on from where a test sets it: times are that plus the seconds the test took. */
const near = (at: Date, iso: string): boolean => at.getTime() >= Date.parse(iso) && at.getTime() < Date.parse(iso) + 60_000;

const Q1 = { from: '2027-01', to: '2027-03' };
const YEAR = { from: '2026-04', to: '2027-03' };
const SCOPES = [null, 'ACME', 'BOLT', 'CORE'];
const SEGMENTS: Array<KpiQuery['segment']> = [
  null,
  { lifecycleStage: 'REPEAT' },
  { lifecycleStage: 'FIRST_VISIT' },
  { lifecycleStage: 'ONE_TIME' },
  { enrolmentChannel: 'web' },
  { enrolmentChannel: 'none' },
  { lifecycleStage: 'ONE_TIME', enrolmentChannel: 'store' },
];
const SEGMENTED = SEGMENTS.filter((segment) => segment !== null);

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  core = await hub.registerPartner('CORE');
  service = new KpiService(hub.hub.dataSource);

  at('2027-01-01T09:00:00Z');
  await operator('mutation { setPartnerContract(partnerId: "CORE", input: { issuePrice: "0.8" }) { __typename } }');
  await operator(
    'mutation { setReferralProgramme(input: { partnerId: "CORE", referrerBonus: "100", refereeBonus: "50", capPerReferrer: 50 }) { __typename } }',
  );
  mugId = await createMug(hub, acme);

  at('2027-01-10T10:00:00Z');
  for (const ref of ['a1', 'a2', 'a3', 'a4']) await send(acme, 'enroll', { member: ref, emailHash: hashEmail(`${ref}@example.com`) });
  await send(bolt, 'enroll', { member: 'b1', emailHash: hashEmail('a1@example.com') });
  await send(bolt, 'enroll', { member: 'b2' });
  await send(core, 'enroll', { member: 'c1', emailHash: hashEmail('a2@example.com') });

  at('2027-01-15T10:00:00Z');
  await buy(acme, 'a1', '1000', 'web');
  await buy(acme, 'a2', '2000', 'store');
  await buy(bolt, 'b1', '500', 'app');
  await buy(bolt, 'b2', '800');
  await send(core, 'issue', { member: 'c1', amount: '100' });

  at('2027-02-10T10:00:00Z');
  await send(acme, 'enroll', { member: 'a5', referralCode: await codeOf(acme, 'a1') });
  await buy(acme, 'a1', '1000', 'web');
  await buy(acme, 'a1', '3000', 'web');
  await buy(acme, 'a5', '1500', 'store');
  await buy(bolt, 'b2', '800', 'app');

  at('2027-03-10T10:00:00Z');
  await send(acme, 'enroll', { member: 'a6', referralCode: await codeOf(acme, 'a1') });
  await buy(acme, 'a1', '2000', 'web');
  await buy(acme, 'a2', '700', 'store');
  await buy(acme, 'a5', '1500', 'store');
  await send(core, 'redeem', { member: 'c1', amount: '50' });
  await redeemMug('a1');
  at('2027-03-25T12:00:00Z');
}, 120_000);

afterAll(() => hub.stop());

describe('KPI figure bases', () => {
  it('has no base before the first refresh; a query for now records its combination, and the refresh prepares its base', async () => {
    expect(await same({ partnerId: 'ACME', ...Q1 })).toEqual({ kind: 'full', reason: 'no base' });
    for (const segment of SEGMENTED) expect(await same({ partnerId: 'ACME', ...Q1, segment })).toEqual({ kind: 'full', reason: 'no base' });
    // As of a past time: a base as of now would not serve it, so it is not recorded.
    await same({ partnerId: 'BOLT', from: '2027-02', to: '2027-02' }, new Date('2027-03-01T00:00:00Z'));
    const wanted = await hub.ownerQuery<{ partner_id: string; stage: string; channel: string }>(
      'SELECT partner_id, stage, channel FROM kpi_figures_wanted ORDER BY stage, channel',
    );
    expect(wanted).toHaveLength(1 + SEGMENTED.length);
    expect(wanted.every((row) => row.partner_id === 'ACME')).toBe(true);

    expect(await refresh()).toBe(true);
    // The defaults (coalition and each partner, last 3 and 12 months) and the 6 asked for with a segment, as of 11:50 (the lag).
    const bases = await hub.ownerQuery<{ n: string; as_of: Date }>('SELECT count(*) AS n, max(as_of) AS as_of FROM kpi_figures_base');
    expect(bases[0]!.n).toBe(String(2 * 4 + SEGMENTED.length));
    expect(near(bases[0]!.as_of, '2027-03-25T11:50:00Z')).toBe(true);
    for (const segment of SEGMENTS) {
      const path = await same({ partnerId: 'ACME', ...Q1, segment });
      expect(path).toMatchObject({ kind: 'base', changedMembers: 0 });
      expect(path.kind === 'base' && near(path.baseAsOf, '2027-03-25T11:50:00Z')).toBe(true);
    }
    // Refreshed again with nothing new: no new base.
    expect(await refresh()).toBe(true);
    expect((await hub.ownerQuery('SELECT 1 FROM kpi_figures_base')).length).toBe(2 * 4 + SEGMENTED.length);
  });

  it('rolls a base forward exactly over purchases, enrolments, referrals, redemptions, earns and burns recorded since', async () => {
    at('2027-03-25T12:05:00Z');
    await buy(acme, 'a2', '900', 'store'); // another purchase
    await buy(acme, 'a3', '400', 'web'); // a first purchase: channel and stage change
    await buy(bolt, 'b2', '300', 'app');
    await send(acme, 'enroll', { member: 'a7' }); // a new member in the March cohort
    await send(bolt, 'enroll', { member: 'b3', emailHash: hashEmail('a4@example.com') }); // a4, now at BOLT too
    await buy(bolt, 'b3', '250', 'store'); // active at BOLT: reach
    await send(acme, 'issue', { member: 'a6', amount: '5', orderRef: 'q-1' }); // a6's referral qualifies: bonuses at CORE
    await send(acme, 'enroll', { member: 'a8', referralCode: await codeOf(acme, 'a1') }); // a referral made since
    await redeemMug('a5');
    await send(core, 'redeem', { member: 'c1', amount: '20' });
    const midway = hub.clock.now();
    at('2027-03-25T12:07:00Z');
    await buy(acme, 'a8', '1200', 'web');

    const referrals = await hub.ownerQuery<{ n: string }>(
      "SELECT count(*) AS n FROM referral WHERE qualified_at > '2027-03-25T11:50:00Z' OR created_at > '2027-03-25T11:50:00Z'",
    );
    expect(referrals[0]!.n).toBe('2');
    for (const partnerId of SCOPES) {
      for (const period of [Q1, YEAR]) {
        const path = await same({ partnerId, ...period });
        expect(path.kind === 'base' && near(path.baseAsOf, '2027-03-25T11:50:00Z')).toBe(true);
        expect(path.kind === 'base' && path.changedMembers).toBeGreaterThanOrEqual(8);
      }
    }
    for (const segment of SEGMENTS) expect(await same({ partnerId: 'ACME', ...Q1, segment })).toMatchObject({ kind: 'base' });
    // Segments without a base of their own (BOLT, the coalition): in full, and the same.
    for (const segment of SEGMENTED) expect(await same({ partnerId: null, ...Q1, segment })).toMatchObject({ kind: 'full' });
    // As of a time between the base and now.
    expect(await same({ partnerId: 'ACME', ...Q1 }, midway)).toMatchObject({ kind: 'base' });
    expect(await same({ partnerId: null, ...YEAR }, midway)).toMatchObject({ kind: 'base' });
    // More members changed than the limit (a small one here): in full, and the same.
    const query = { partnerId: 'ACME', ...Q1, asOf: hub.clock.now() };
    const limited = await service.explain(query, hub.clock.now(), { maxChangedMembers: 3 });
    const full = await service.explain(query, hub.clock.now(), { full: true });
    if (isDomainError(limited) || isDomainError(full)) throw new Error('kpis refused');
    expect(limited.path).toEqual({ kind: 'full', reason: 'too many changes' });
    expect(limited.kpis).toEqual(full.kpis);
    // A closed period (February), asked as of now: a base of its own once asked for and refreshed.
    expect(await same({ partnerId: 'ACME', from: '2027-02', to: '2027-02' })).toEqual({ kind: 'full', reason: 'no base' });
  });

  it('computes in full when no base can serve: asOf before every base, other lifecycle thresholds in force', async () => {
    expect(await same({ partnerId: 'ACME', ...Q1 }, new Date('2027-03-20T00:00:00Z'))).toEqual({ kind: 'full', reason: 'no base' });
    at('2027-03-25T12:10:00Z');
    const before = hub.clock.now();
    at('2027-03-25T12:11:00Z');
    await operator('mutation { setKpiSettings(input: { lifecycleWindowMonths: 6, loyalMinPurchases: 2, loyalMonths: 1 }) { __typename } }');
    for (const partnerId of SCOPES) expect(await same({ partnerId, ...Q1 })).toEqual({ kind: 'full', reason: 'no base' });
    // As of before the change, the old thresholds and their base.
    expect(await same({ partnerId: 'ACME', ...Q1 }, before)).toMatchObject({ kind: 'base' });
    // A margin is not part of the figures: changing it keeps the base.
    at('2027-03-25T12:40:00Z');
    expect(await refresh()).toBe(true);
    await operator('mutation { setKpiSettings(partnerId: "ACME", input: { margin: "0.3" }) { __typename } }');
    at('2027-03-25T12:41:00Z');
    const path = await same({ partnerId: 'ACME', ...Q1 });
    expect(path.kind === 'base' && near(path.baseAsOf, '2027-03-25T12:30:00Z')).toBe(true);
    expect(await same({ partnerId: 'ACME', from: '2027-02', to: '2027-02' })).toMatchObject({ kind: 'base' });
  });

  it('computes in full when a partner sent its first purchase activity since the base ("active" changed meaning there)', async () => {
    at('2027-03-25T12:45:00Z');
    await send(core, 'enroll', { member: 'c2' });
    await buy(core, 'c1', '600', 'store');
    for (const partnerId of SCOPES) {
      expect(await same({ partnerId, ...Q1 })).toEqual({ kind: 'full', reason: 'a partner started sending purchases' });
    }
    at('2027-03-25T13:00:00Z');
    expect(await refresh()).toBe(true);
    at('2027-03-25T13:01:00Z');
    for (const partnerId of SCOPES) expect(await same({ partnerId, ...Q1 })).toMatchObject({ kind: 'base' });
  });

  it('answers like the full computation after random activity, refreshes and month ends (property)', async () => {
    // A small deterministic generator, so that a failure can be replayed.
    let seed = 20270325;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const members: Record<string, string[]> = {
      ACME: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'],
      BOLT: ['b1', 'b2', 'b3'],
      CORE: ['c1', 'c2'],
    };
    const partners: Record<string, TestPartner> = { ACME: acme, BOLT: bolt, CORE: core };
    let fresh = 0;
    let time = hub.clock.now().getTime();
    for (let round = 0; round < 10; round++) {
      for (let step = 0; step < 6; step++) {
        const partnerId = pick(['ACME', 'ACME', 'BOLT', 'CORE']);
        const partner = partners[partnerId]!;
        const what = random();
        if (what < 0.55)
          await buy(partner, pick(members[partnerId]!), String(100 + Math.floor(random() * 5000)), pick(['web', 'app', 'store']));
        else if (what < 0.7) {
          const ref = `r${++fresh}`;
          const referred = random() < 0.5 ? { referralCode: await codeOf(acme, pick(members.ACME!)) } : {};
          await send(partner, 'enroll', { member: ref, ...(partnerId === 'ACME' ? referred : {}) });
          members[partnerId]!.push(ref);
        } else if (what < 0.8) await send(partner, 'issue', { member: pick(members[partnerId]!), amount: '20', orderRef: `p-${++order}` });
        else if (what < 0.9) await redeemMug(pick(members.ACME!));
        else await send(core, 'issue', { member: pick(members.CORE!), amount: '5' });
      }
      if (random() < 0.5) expect(await refresh()).toBe(true);
      // Up to a day and a half: some rounds cross into April, when the last 3 months become February to April.
      time += Math.floor(random() * 36 * 3_600_000);
      at(new Date(time).toISOString());
      for (const period of [Q1, YEAR, { from: '2027-02', to: '2027-04' }]) {
        if (period.to === '2027-04' && hub.clock.now().toISOString() < '2027-04') continue;
        await same({ partnerId: pick(SCOPES), ...period, segment: pick(SEGMENTS) });
        await same({ partnerId: pick(SCOPES), ...period });
      }
    }
  }, 120_000);
});
