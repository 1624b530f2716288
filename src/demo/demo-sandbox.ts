import { generatePartnerKey, PartnerClient } from '@coalition-hub/partner-sdk';
import type { Hub } from '../app';
import type { Config } from '../config/config';
import { processTime } from '../common/clock';

export type Must = (what: string, query: string, variables: Record<string, unknown>, token: string) => Promise<any>;

const DAY_MS = 86_400_000;
const line = (text = '') => console.error(text);
const MEMBER = `query($id: ID!) { member(id: $id) { balance pending available tier { name } testClock { frozenTime } } }`;
const ADVANCE = `mutation($id: ID!, $to: DateTimeISO!) { advanceTestClock(id: $id, frozenTime: $to) {
  __typename ... on TestClockAdvanced { testClock { frozenTime } dueTimesRun holdsExpired lotsVested lotsExpired pointsExpired }
  ... on ErrorResult { errorCode message } } }`;

/**
 * The demo's last step in a sandbox hub (docs/sandbox.md): a test clock, a member living on it, and two
 * advances that show vesting and expiry happen at once instead of in weeks. A partner of its own (LAB) keeps
 * the three demo partners' contracts as they are.
 */
export async function showTestClock(hub: Hub, config: Config, must: Must, operatorToken: string, n: number): Promise<void> {
  line(`\n${n}. Sandbox: a test clock moves one member through time (docs/sandbox.md):`);
  const key = await generatePartnerKey('EdDSA');
  await must(
    'registerPartner',
    `mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }`,
    { input: { id: 'LAB', name: 'Sandbox Lab', publicJwks: [key.publicJwk], contract: { issuePrice: '1.0', redeemPrice: '1.0' } } },
    operatorToken,
  );
  await must(
    'setPartnerContract',
    'mutation { setPartnerContract(partnerId: "LAB", input: { pendingDays: 14, lotLifetimeMonths: 1 }) { __typename } }',
    {},
    operatorToken,
  );
  const lab = new PartnerClient({ baseUrl: hub.url, hubId: config.hubId, partnerId: 'LAB', key });
  const created = (
    await must(
      'createTestClock',
      `mutation($input: CreateTestClockInput!) { createTestClock(input: $input) { __typename ... on TestClock { id frozenTime } } }`,
      { input: { name: 'demo clock', frozenTime: processTime.now().toISOString() } },
      operatorToken,
    )
  ).createTestClock;
  if (created.__typename !== 'TestClock') throw new Error(`demo: createTestClock refused: ${JSON.stringify(created)}`);
  const start = Date.parse(created.frozenTime);
  const enrolled = await lab.enrollMember({ member: 'lab-dana' });
  if (!enrolled.ok) throw new Error(`demo: enroll refused: ${JSON.stringify(enrolled)}`);
  const memberId = enrolled.data.memberId;
  await must(
    'attachMemberToTestClock',
    'mutation($m: ID!, $c: ID!) { attachMemberToTestClock(memberId: $m, testClockId: $c) { __typename } }',
    { m: memberId, c: created.id },
    operatorToken,
  );
  line(`   test clock ${created.id.slice(0, 8)} frozen at ${created.frozenTime}; LAB's member lab-dana lives on it`);
  const issued = await lab.issuePoints({ member: 'lab-dana', amount: '1200' });
  if (!issued.ok) throw new Error(`demo: issue refused: ${JSON.stringify(issued)}`);
  const show = async (label: string) => {
    const m = (await must('member', MEMBER, { id: memberId }, operatorToken)).member;
    line(
      `   ${label.padEnd(28)} clock ${String(m.testClock.frozenTime).slice(0, 10)}: balance ${m.balance}, pending ${m.pending}, available ${m.available}, tier ${m.tier.name}`,
    );
  };
  await show('LAB issues 1200 (14-day window):');
  for (const [days, label] of [
    [15, 'advance 15 days (vesting):'],
    [45, 'advance to day 45 (expiry):'],
    [400, 'advance to day 400 (tier):'],
  ] as const) {
    const to = new Date(start + days * DAY_MS).toISOString();
    const advanced = (await must('advanceTestClock', ADVANCE, { id: created.id, to }, operatorToken)).advanceTestClock;
    if (advanced.__typename !== 'TestClockAdvanced') throw new Error(`demo: advance refused: ${JSON.stringify(advanced)}`);
    line(
      `   ${label.padEnd(28)} ran ${advanced.dueTimesRun} due time(s): ${advanced.lotsVested} lot(s) vested, ${advanced.lotsExpired} expired (${advanced.pointsExpired} CP), ${advanced.holdsExpired} hold(s) expired`,
    );
    await show('   then:');
  }
  line(`   in the explorer: { testClocks { ... on TestClockConnection { edges { node { id name frozenTime memberCount } } } } }`);
}
