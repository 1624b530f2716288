import { MemberSummaryService } from '../../src/members/member-summary';
import { parseTiers } from '../../src/config/tiers';
import { TierService } from '../../src/members/tiers';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { queriesDuring } from './support/query-log';

/**
 * A member read looks its member up and reads the balances, combined balance and tier it asks for
 * in one statement (src/members/member-summary.ts), whichever way the query spells those fields;
 * reads of requests running side by side share that statement.
 */
let hub: TestHub;
let acme: TestPartner;
let annId: string;

const APP_REFRESH = '{ me { balance available combinedBalance { totalCp } tier { name earnedInWindow } } }';

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  const enrolled = await acme.client.enrollMember({ member: 'ann' });
  if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  annId = enrolled.data.memberId;
  for (const amount of ['250', '1000']) expect((await acme.client.issuePoints({ member: 'ann', amount })).ok).toBe(true);
  // The partner's key is cached from here on: the reads below send their own statements only.
  await hub.graphql(APP_REFRESH, {}, await hub.memberToken(acme, 'ann'));
  // …and the issues' receipts, stored in the background, are written before any statement is counted.
  await hub.hub.services.instructions.flushReceipts();
});

afterAll(() => hub.stop());

/** Each field read on its own (a statement each), as the operator reads the member by id. */
async function fieldByField() {
  const read = async (fields: string) =>
    (await hub.asStaff(`query($id: ID!) { member(id: $id) { ${fields} } }`, { id: annId }, 'operator')).member;
  return {
    ...(await read('balance')),
    ...(await read('available')),
    ...(await read('combinedBalance { totalCp }')),
    ...(await read('tier { name earnedInWindow }')),
  };
}

describe('member reads', () => {
  it("read a member's app refresh in one statement, with what each field reads on its own", async () => {
    const token = await hub.memberToken(acme, 'ann');
    const { result, queries } = await queriesDuring(hub, () => hub.graphql(APP_REFRESH, {}, token));
    expect(result.errors).toBeUndefined();
    expect(queries).toHaveLength(1);
    expect(result.data?.me).toEqual({
      balance: '1250',
      available: '1250',
      combinedBalance: { totalCp: '1250' },
      tier: { name: 'Silver', earnedInWindow: '1250' },
    });
    expect(result.data?.me).toEqual(await fieldByField());
  });

  it('follow fragments and aliases', async () => {
    const query = `query { me { ...Amounts ... on Member { rank: tier { name } } } }
      fragment Amounts on Member { spendable: available ...Total }
      fragment Total on Member { total: combinedBalance { totalCp } }`;
    const token = await hub.memberToken(acme, 'ann');
    const { result, queries } = await queriesDuring(hub, () => hub.graphql(query, {}, token));
    expect(result.errors).toBeUndefined();
    expect(queries).toHaveLength(1);
    expect(result.data?.me).toEqual({ spendable: '1250', total: { totalCp: '1250' }, rank: { name: 'Silver' } });
  });

  it('answer null for a reference not enrolled at the partner, in one statement', async () => {
    const token = await hub.memberToken(acme, 'nobody');
    const { result, queries } = await queriesDuring(hub, () => hub.graphql(APP_REFRESH, {}, token));
    expect(result).toMatchObject({ data: { me: null } });
    expect(result.errors).toBeUndefined();
    expect(queries).toHaveLength(1);
  });

  it('read a partner’s memberByRef in one statement, with what was earned hidden and combinedBalance still refused', async () => {
    const token = await acme.client.accessToken();
    const query = '{ memberByRef(ref: "ann") { id balance available tier { name earnedInWindow } } }';
    const { result, queries } = await queriesDuring(hub, () => hub.graphql(query, {}, token));
    expect(result.errors).toBeUndefined();
    expect(queries).toHaveLength(1);
    expect(result.data?.memberByRef).toEqual({
      id: annId,
      balance: '1250',
      available: '1250',
      tier: { name: 'Silver', earnedInWindow: null },
    });
    const refused = await hub.graphql('{ memberByRef(ref: "ann") { combinedBalance { totalCp } } }', {}, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('member reads side by side', () => {
  it('share one statement, each answered with its own member and parts (null for a reference not enrolled)', async () => {
    const bolt = await hub.registerPartner('BOLT');
    const bob = await bolt.client.enrollMember({ member: 'bob' });
    if (!bob.ok) throw new Error(JSON.stringify(bob));
    expect((await bolt.client.issuePoints({ member: 'bob', amount: '7' })).ok).toBe(true);
    await hub.hub.services.instructions.flushReceipts();
    const summaries = new MemberSummaryService(hub.hub.readDataSource, new TierService(parseTiers('Base:0,Silver:1000'), 365), hub.clock);
    const { result, queries } = await queriesDuring(hub, () =>
      Promise.all([
        summaries.memberByRef('ACME', 'ann', ['balance', 'earned']),
        summaries.memberByRef('BOLT', 'bob', ['spendable']),
        summaries.memberByRef('BOLT', 'ann', ['balance']),
        summaries.memberByRef('ACME', 'ann', ['balance']),
      ]),
    );
    expect(queries).toHaveLength(1);
    const [ann, bobRead, notEnrolled, annAgain] = result;
    expect(ann?.member.id).toBe(annId);
    expect(ann?.parts).toEqual(
      new Map([
        ['balance', 1250n],
        ['earned', 1250n],
      ]),
    );
    expect(bobRead?.member.id).toBe(bob.data.memberId);
    expect(bobRead?.parts).toEqual(new Map([['spendable', 7n]]));
    expect(notEnrolled).toBeNull();
    expect(annAgain?.parts).toEqual(new Map([['balance', 1250n]]));
    expect(annAgain?.member).not.toBe(ann?.member);
  });
});

describe('a token sent again', () => {
  it('is refused once it has expired on the hub clock, though it was verified before (as each time it is checked again)', async () => {
    const token = await hub.memberToken(acme, 'ann'); // five minutes
    for (let i = 0; i < 2; i += 1) expect((await hub.graphql('{ me { balance } }', {}, token)).data?.me).toEqual({ balance: '1250' });
    hub.clock.advance(10 * 60_000);
    try {
      const refused = await hub.graphql('{ me { balance } }', {}, token);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
      // A new token is read as before.
      expect((await hub.graphql('{ me { balance } }', {}, await hub.memberToken(acme, 'ann'))).data?.me).toEqual({ balance: '1250' });
    } finally {
      hub.clock.advance(-10 * 60_000);
    }
  });
});
