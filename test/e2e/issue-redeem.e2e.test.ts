import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let cafe: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  cafe = await hub.registerPartner('CAFE', 'EdDSA');
});

afterAll(() => hub.stop());

describe('issue → redeem → balance', () => {
  it('issues at two partners, redeems at a third first-expiring-first-out, and shows one combined balance', async () => {
    const email = hashEmail('alice@example.com');
    const atAcme = await acme.client.enrollMember({ member: 'alice-1', emailHash: email });
    expect(atAcme.ok).toBe(true);
    const atBolt = await bolt.client.enrollMember({ member: 'A-77', emailHash: email });
    const atCafe = await cafe.client.enrollMember({ member: 'c-alice', emailHash: email });
    if (!atAcme.ok || !atBolt.ok || !atCafe.ok) throw new Error('enrolment failed');
    expect(atBolt.data.memberId).toBe(atAcme.data.memberId);
    expect(atBolt.data.linkedExisting).toBe(true);

    const issued = await acme.client.issuePoints({ member: 'alice-1', amount: '1000', orderRef: 'order-1' });
    expect(issued).toMatchObject({ ok: true, data: { amount: '1000', balance: '1000', replayed: false } });
    await bolt.client.issuePoints({ member: 'A-77', amount: 500n });

    const redeemed = await cafe.client.redeemPoints({ member: 'c-alice', amount: '1200' });
    if (!redeemed.ok) throw new Error(JSON.stringify(redeemed));
    // The signed receipt names the entry's postings (docs/protocol.md, "Receipts"), and they balance.
    const signedPostings = (redeemed.receipt as unknown as { postings: Array<{ account: string; amount: string }> }).postings;
    expect(signedPostings).toEqual([
      { account: `member:${atCafe.data.memberId}:CP:wallet`, amount: '-1200' },
      { account: 'partner:CAFE:CP:redemption', amount: '1200' },
    ]);
    expect(redeemed.data.balance).toBe('300');
    expect(redeemed.data.consumed).toEqual(
      expect.arrayContaining([
        { issuerPartnerId: 'ACME', amount: '1000' },
        { issuerPartnerId: 'BOLT', amount: '200' },
      ]),
    );

    const token = await acme.client.memberToken('alice-1');
    const me = await hub.graphql(
      `{ me { id balance lots { edges { node { issuerPartnerId amount remaining } } }
              history(first: 10) { edges { node { type partnerId postings { asset amount account { kind ownerKind } } } } } } }`,
      {},
      token,
    );
    expect(me.errors).toBeUndefined();
    expect(me.data?.me.balance).toBe('300');
    expect(me.data?.me.lots.edges.map((edge: any) => edge.node)).toEqual([{ issuerPartnerId: 'BOLT', amount: '500', remaining: '300' }]);
    expect(me.data?.me.history.edges.map((edge: any) => edge.node.type)).toEqual(['redeem', 'issue', 'issue']);
    for (const edge of me.data?.me.history.edges ?? []) {
      const total = edge.node.postings.reduce((sum: bigint, posting: any) => sum + BigInt(posting.amount), 0n);
      expect(total).toBe(0n);
    }
  });
});

describe('many lots', () => {
  it('redeems across more lots than one read batch, oldest-expiring first, and pages lots without gaps', async () => {
    await acme.client.enrollMember({ member: 'collector' });
    for (let i = 0; i < 150; i += 1) {
      const issued = await acme.client.issuePoints({ member: 'collector', amount: String(1 + (i % 3)) });
      if (!issued.ok) throw new Error(JSON.stringify(issued));
    }
    // 150 lots of 1, 2, 3, 1, 2, 3 … = 300 CP; spending 290 leaves the last lots issued.
    const redeemed = await acme.client.redeemPoints({ member: 'collector', amount: '290' });
    if (!redeemed.ok) throw new Error(JSON.stringify(redeemed));
    expect(redeemed.data.balance).toBe('10');
    expect(redeemed.data.consumed).toEqual([{ issuerPartnerId: 'ACME', amount: '290' }]);

    const token = await acme.client.memberToken('collector');
    const seen: Array<{ id: string; remaining: string }> = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const response: any = await hub.graphql(
        'query($after: String) { me { lots(first: 20, after: $after, includeSpent: true) { edges { node { id remaining } } pageInfo { hasNextPage endCursor } } } }',
        { after },
        token,
      );
      seen.push(...response.data.me.lots.edges.map((edge: any) => edge.node));
      if (!response.data.me.lots.pageInfo.hasNextPage) break;
      after = response.data.me.lots.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(150);
    expect(new Set(seen.map((lot) => lot.id)).size).toBe(150);
    // Spent in issue order (one lifetime for all): every lot before the last few is empty.
    const remaining = seen.map((lot) => BigInt(lot.remaining));
    const firstOpen = remaining.findIndex((value) => value > 0n);
    expect(remaining.slice(0, firstOpen).every((value) => value === 0n)).toBe(true);
    expect(remaining.reduce((sum, value) => sum + value, 0n)).toBe(10n);
  });
});
