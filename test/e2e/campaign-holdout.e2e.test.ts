import type { ActivityFields } from '@coalition-hub/partner-sdk';
import { pgCode } from '../../src/db/with-transaction';
import { isHeldOut } from '../../src/engine/holdout';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { errorCodes } from './support/http';
import { expectNothingWritten } from './support/ledger-snapshot';
import { queriesDuring } from './support/query-log';

/**
 * Campaign holdout groups (docs/loyalty-engine.md, "Holdout") through GraphQL and the partner SDK:
 * the share is checked when a campaign is made; a held-out member gets nothing from the campaign,
 * uses none of its budget or per-member counts, and the activity records it; the same members are
 * held out on every activity and after a restart; a campaign without a holdout is as before.
 */
let hub: TestHub;
let shop: TestPartner;

const CAMPAIGN = `mutation($input: CampaignInput!) { result: createCampaign(input: $input) {
  __typename ... on ErrorResult { errorCode message } ... on Campaign { id holdoutShare pointsUsed } } }`;

async function createCampaign(input: Record<string, unknown>) {
  const response = await hub.graphql(CAMPAIGN, { input }, await hub.operatorToken());
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.result;
}

/** A campaign window around the hub's now, in UTC. */
function window(): { startsLocal: string; endsLocal: string; timeZone: string } {
  const now = hub.clock.now().getTime();
  const local = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  return { startsLocal: local(now - 86_400_000), endsLocal: local(now + 30 * 86_400_000), timeZone: 'UTC' };
}

async function activity(fields: ActivityFields) {
  const outcome = await shop.client.submitActivity(fields);
  if (!outcome.ok) throw new Error(`${outcome.errorCode}: ${outcome.message}`);
  return outcome.data;
}

const countCampaigns = async (): Promise<{ campaigns: number; partners: number }> => {
  const [row] = await hub.hub.dataSource.query(
    'SELECT (SELECT count(*)::int FROM campaign) AS campaigns, (SELECT count(*)::int FROM campaign_partner) AS partners',
  );
  return row;
};

const MEMBERS = Array.from({ length: 30 }, (_, index) => `h${index}`);
/** Member ref → member id at SHOP. */
const ids = new Map<string, string>();

beforeAll(async () => {
  hub = await TestHub.start();
  shop = await hub.registerPartner('SHOP');
  const rule = await hub.graphql(
    'mutation { setEarnRule(partnerId: "SHOP", input: { ruleId: "base", name: "Base", kind: spend, pointsPerUnit: "1" }) { __typename } }',
    {},
    await hub.operatorToken(),
  );
  expect(rule.data?.setEarnRule.__typename).toBe('EarnRule');
  for (const member of [...MEMBERS, 'plain']) await shop.client.enrollMember({ member });
  const rows: Array<{ member_ref: string; id: string }> = await hub.hub.dataSource.query(
    "SELECT member_ref, member_id::text AS id FROM member_link WHERE partner_id = 'SHOP'",
  );
  for (const row of rows) ids.set(row.member_ref, row.id);
});

afterAll(() => hub.stop());

describe('campaign holdout groups', () => {
  const base = () => ({ name: 'Half', kind: 'bonus', bonusPoints: '10', funders: [{ partnerId: 'SHOP', share: '1' }], ...window() });

  it('refuses a share above 0.5 with a typed InvalidInput and one that is not a decimal as BAD_USER_INPUT, writing nothing', async () => {
    const before = await countCampaigns();
    for (const share of ['0.6', '1', '0.500000000001', '2']) {
      const result = await expectNothingWritten(hub, () => createCampaign({ ...base(), holdoutShare: share }));
      expect({ share, result }).toEqual({
        share,
        result: {
          __typename: 'InvalidInput',
          errorCode: 'INVALID_INPUT',
          message: 'holdoutShare: a decimal from 0 to 0.5 (the share of members left out to compare with), e.g. "0.1"',
        },
      });
    }
    for (const share of ['-0.1', 'half', '0.1234567890123', '', ' 0.1', '1e-1']) {
      const response = await hub.graphql(CAMPAIGN, { input: { ...base(), holdoutShare: share } }, await hub.operatorToken());
      expect({ share, codes: errorCodes(response), data: response.data ?? null }).toEqual({ share, codes: ['BAD_USER_INPUT'], data: null });
    }
    expect(await countCampaigns()).toEqual(before);
  });

  it('gives held-out members nothing from the campaign, records them on the activity, and leaves its budget and counts alone', async () => {
    const made = await createCampaign({ ...base(), holdoutShare: '0.5', pointsCap: '100000', perMemberLimit: 5 });
    expect(made).toMatchObject({ __typename: 'Campaign', holdoutShare: '0.5', pointsUsed: '0' });
    const held = MEMBERS.filter((member) => isHeldOut(made.id, ids.get(member)!, '0.5'));
    const treated = MEMBERS.filter((member) => !held.includes(member));
    // Thirty members at 0.5: both groups are there (all on one side has a chance of 2 in a billion).
    expect(held.length).toBeGreaterThan(0);
    expect(treated.length).toBeGreaterThan(0);

    for (const member of MEMBERS) {
      const receipt = await activity({ activity: 'purchase', member, total: '1000', currency: 'EUR', orderRef: `r1-${member}` });
      if (held.includes(member)) {
        expect({ member, amount: receipt.amount, sources: receipt.contributions.map((c) => c.source), notes: receipt.notes }).toEqual({
          member,
          amount: '10',
          sources: ['rule'],
          notes: [],
        });
      } else {
        expect({ member, amount: receipt.amount, campaign: receipt.contributions.find((c) => c.sourceId === made.id)?.points }).toEqual({
          member,
          amount: '20',
          campaign: '10',
        });
        expect(receipt.notes).toEqual([]);
      }
    }

    const recorded: Array<{ member_ref: string; held_out: unknown }> = await hub.hub.dataSource.query(
      `SELECT l.member_ref, a.detail->'heldOut' AS held_out FROM activity a
         JOIN member_link l ON l.member_id = a.member_id AND l.partner_id = a.partner_id WHERE a.order_ref LIKE 'r1-%'`,
    );
    for (const row of recorded) {
      expect(row).toEqual({
        member_ref: row.member_ref,
        held_out: held.includes(row.member_ref) ? [{ campaignId: made.id, version: 1 }] : null,
      });
    }
    expect(recorded.length).toBe(MEMBERS.length);

    // The budget and the per-member counts saw the treated members only.
    const [usage]: Array<{ points_used: string; members: string[] }> = await hub.hub.dataSource.query(
      `SELECT c.points_used::text,
              (SELECT coalesce(array_agg(l.member_ref ORDER BY l.member_ref), '{}') FROM campaign_member m
                 JOIN member_link l ON l.member_id = m.member_id AND l.partner_id = 'SHOP' WHERE m.campaign_id = c.id) AS members
         FROM campaign c WHERE c.id = $1`,
      [made.id],
    );
    expect(usage).toEqual({ points_used: String(10 * treated.length), members: [...treated].sort() });

    // Holding out costs no statement: the same SQL, statement for statement, as for a member the campaign rewards.
    const sent = async (member: string) =>
      (await queriesDuring(hub, () => activity({ activity: 'purchase', member, total: '1000', currency: 'EUR', orderRef: `q-${member}` })))
        .queries;
    expect(await sent(held[0]!)).toEqual(await sent(treated[0]!));
  });

  it('holds the same members out on every activity, and after the hub restarts', async () => {
    const made = await createCampaign({ ...base(), name: 'Steady', bonusPoints: '3', holdoutShare: '0.3' });
    const heldOn = async (round: string): Promise<string[]> => {
      const out: string[] = [];
      for (const member of MEMBERS) {
        const receipt = await activity({ activity: 'purchase', member, total: '100', currency: 'EUR', orderRef: `${round}-${member}` });
        const got = receipt.contributions.some((c) => c.sourceId === made.id);
        // The campaign applies to every purchase of a member not held out, so a purchase without it is a held-out one.
        if (!got) out.push(member);
      }
      return out;
    };
    const first = await heldOn('s1');
    expect(first).toEqual(MEMBERS.filter((member) => isHeldOut(made.id, ids.get(member)!, '0.3')));
    expect(await heldOn('s2')).toEqual(first);
    await hub.restart();
    shop = { ...shop, client: hub.clientFor('SHOP', shop.key) }; // the restarted hub listens on a new port
    expect(await heldOn('s3')).toEqual(first);
  });

  it('changes nothing for a campaign without a holdout (share 0, the default)', async () => {
    const made = await createCampaign({ ...base(), name: 'Plain', bonusPoints: '4', trigger: 'review' });
    expect(made).toMatchObject({ __typename: 'Campaign', holdoutShare: '0' });
    for (const member of ['plain', ...MEMBERS]) {
      const receipt = await activity({ activity: 'action', member, action: 'review' });
      expect({ member, amount: receipt.amount, notes: receipt.notes }).toEqual({ member, amount: '4', notes: [] });
    }
    const [row]: Array<{ held: number }> = await hub.hub.dataSource.query(
      `SELECT count(*)::int AS held FROM activity WHERE kind = 'action' AND detail ? 'heldOut'`,
    );
    expect(row!.held).toBe(0);
  });

  it("cannot be changed by the hub's own database role once the campaign is made", async () => {
    const error = await hub.hub.dataSource.query('UPDATE campaign SET holdout_share = 0').then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(pgCode(error)).toBe('42501');
  });

  it('keeps the ledger whole', async () => {
    expect((await hub.integrity()).ok).toBe(true);
  });
});
