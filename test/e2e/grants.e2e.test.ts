import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';

/** Grants with reasons (docs/grants-and-referrals.md): compensation and surprise-and-delight, within a partner's caps and budget. */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const GRANTS = `{ grants(first: 10) { edges { node { entryId memberId period kind reasonCode caseReference note amount } } pageInfo { hasNextPage endCursor } } }`;

/** A read with the partner's own bearer token. */
const asPartner = async (partner: TestPartner, query: string): Promise<any> =>
  partner.client.graphql(query, {}, { token: await partner.client.accessToken() });

async function setPolicy(partnerId: string, input: Record<string, unknown>) {
  const set = await hub.graphql(
    `mutation($id: ID!, $input: GrantPolicyInput!) { setGrantPolicy(partnerId: $id, input: $input) {
       __typename ... on GrantPolicy { partnerId memberCapPoints periodCapGrants budgetPoints } ... on ErrorResult { errorCode } } }`,
    { id: partnerId, input },
    await hub.operatorToken(),
  );
  return set.data?.setGrantPolicy;
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  for (const ref of ['ann', 'bob', 'cat']) {
    for (const partner of [acme, bolt]) await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
  }
});

afterAll(() => hub.stop());

describe('grants', () => {
  it('refuses a grant before the operator sets a policy, and writes nothing', async () => {
    const outcome = await expectNothingWritten(hub, () =>
      acme.client.grantPoints({ member: 'ann', amount: '10', kind: 'surprise_and_delight', reasonCode: 'goodwill' }),
    );
    expect(outcome).toMatchObject({ ok: false, typename: 'GrantsNotConfigured' });
  });

  it('lets only the operator set a policy, and checks it', async () => {
    const partnerSets = await hub.graphql(
      `mutation { setGrantPolicy(partnerId: "ACME", input: { memberCapPoints: "100", periodCapGrants: 5, budgetPoints: "250" }) { __typename } }`,
      {},
      await acme.client.accessToken(),
    );
    expect(partnerSets.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await setPolicy('ACME', { memberCapPoints: '0', periodCapGrants: 5, budgetPoints: '250' })).toMatchObject({
      errorCode: 'INVALID_INPUT',
    });
    expect(await setPolicy('NOPE', { memberCapPoints: '1', periodCapGrants: 5, budgetPoints: '250' })).toMatchObject({
      errorCode: 'NOT_FOUND',
    });
    expect(await setPolicy('ACME', { memberCapPoints: '100', periodCapGrants: 4, budgetPoints: '250' })).toMatchObject({
      __typename: 'GrantPolicy',
      memberCapPoints: '100',
      periodCapGrants: 4,
      budgetPoints: '250',
    });
    expect(await setPolicy('BOLT', { memberCapPoints: '1000', periodCapGrants: 100, budgetPoints: '10000' })).toMatchObject({
      __typename: 'GrantPolicy',
    });
  });

  it('credits compensation after a complaint, with its reason and case reference, as an entry of type grant', async () => {
    const granted = await acme.client.grantPoints({
      member: 'ann',
      amount: '40',
      kind: 'compensation',
      reasonCode: 'late_delivery',
      caseReference: 'CASE-1001',
      note: 'parcel arrived a week late',
    });
    expect(granted).toMatchObject({
      ok: true,
      data: { amount: '40', balance: '40', kind: 'compensation', reasonCode: 'late_delivery', caseReference: 'CASE-1001' },
    });
    // The member sees it in their history, with its reason.
    const me = await hub.graphql(
      '{ me { balance history(first: 5) { edges { node { type partnerId rates } } } } }',
      {},
      await hub.memberToken(acme, 'ann'),
    );
    expect(me.data?.me.balance).toBe('40');
    expect(me.data?.me.history.edges[0].node).toMatchObject({
      type: 'grant',
      partnerId: 'ACME',
      rates: { grantKind: 'compensation', reasonCode: 'late_delivery', issuePrice: '1' },
    });
    // The partner sees its grant; another partner does not.
    const mine = await asPartner(acme, GRANTS);
    expect(mine.grants.edges.map((edge: any) => edge.node)).toEqual([
      {
        entryId: (granted as any).data.entryId,
        memberId: (granted as any).data.memberId,
        period: hub.clock.now().toISOString().slice(0, 7),
        kind: 'compensation',
        reasonCode: 'late_delivery',
        caseReference: 'CASE-1001',
        note: 'parcel arrived a week late',
        amount: '40',
      },
    ]);
    expect((await asPartner(bolt, GRANTS)).grants.edges).toEqual([]);
  });

  it('refuses compensation without a case reference (the SDK will not sign it; the hub refuses it too)', async () => {
    await expect(acme.client.grantPoints({ member: 'ann', amount: '1', kind: 'compensation', reasonCode: 'damaged_item' })).rejects.toThrow(
      TypeError,
    );
    const jws = await signRaw(
      instructionClaims('ACME', 'grant', { member: 'ann', amount: '1', kind: 'compensation', reasonCode: 'damaged_item' }),
      acme.key,
    );
    expect(await expectNothingWritten(hub, () => sendInstruction(hub, 'grant', jws))).toMatchObject({
      __typename: 'InvalidInstruction',
      claim: 'caseReference',
    });
    const badReason = await signRaw(
      instructionClaims('ACME', 'grant', { member: 'ann', amount: '1', kind: 'surprise_and_delight', reasonCode: 'because' }),
      acme.key,
    );
    expect(await expectNothingWritten(hub, () => sendInstruction(hub, 'grant', badReason))).toMatchObject({
      __typename: 'InvalidInstruction',
    });
  });

  it('refuses a grant over the per-member cap, the grants per month, or the budget, writing nothing', async () => {
    // ann has 40 of her 100; a grant of 61 would take her to 101.
    const overMember = await expectNothingWritten(hub, () =>
      acme.client.grantPoints({ member: 'ann', amount: '61', kind: 'surprise_and_delight', reasonCode: 'goodwill' }),
    );
    expect(overMember).toMatchObject({ ok: false, typename: 'GrantCapExceeded', errorCode: 'GRANT_CAP_EXCEEDED' });
    const raw = await sendInstruction(
      hub,
      'grant',
      await signRaw(
        instructionClaims('ACME', 'grant', { member: 'ann', amount: '61', kind: 'surprise_and_delight', reasonCode: 'goodwill' }),
        acme.key,
      ),
    );
    expect(raw).toMatchObject({ __typename: 'GrantCapExceeded', cap: 'member', limit: '100', used: '40' });
    // Budget 250: 40 used; bob 100 and cat 100 take it to 240; 11 more is over the budget.
    for (const ref of ['bob', 'cat'])
      expect(
        await acme.client.grantPoints({ member: ref, amount: '100', kind: 'surprise_and_delight', reasonCode: 'goodwill' }),
      ).toMatchObject({ ok: true });
    const overBudget = await sendInstruction(
      hub,
      'grant',
      await signRaw(
        instructionClaims('ACME', 'grant', { member: 'ann', amount: '11', kind: 'surprise_and_delight', reasonCode: 'other' }),
        acme.key,
      ),
    );
    expect(overBudget).toMatchObject({ __typename: 'GrantBudgetExhausted', budget: '250', remaining: '10' });
    // The fourth grant of the month is the last one (cap 4); the fifth is refused.
    expect(await acme.client.grantPoints({ member: 'ann', amount: '5', kind: 'surprise_and_delight', reasonCode: 'other' })).toMatchObject({
      ok: true,
    });
    const fifth = await expectNothingWritten(hub, () =>
      acme.client.grantPoints({ member: 'ann', amount: '1', kind: 'surprise_and_delight', reasonCode: 'other' }),
    );
    expect(fifth).toMatchObject({ ok: false, typename: 'GrantCapExceeded' });
    const usage = await asPartner(acme, '{ grantUsage { grants points } }');
    expect(usage.grantUsage).toEqual({ grants: 4, points: '245' });
  });

  it('never exceeds the budget when grants race for it', async () => {
    await setPolicy('BOLT', { memberCapPoints: '1000', periodCapGrants: 100, budgetPoints: '50' });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        bolt.client.grantPoints({
          member: ['ann', 'bob', 'cat'][i % 3]!,
          amount: '10',
          kind: 'surprise_and_delight',
          reasonCode: 'goodwill',
        }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(5);
    expect(outcomes.filter((outcome) => !outcome.ok).every((outcome) => (outcome as any).typename === 'GrantBudgetExhausted')).toBe(true);
    const usage = await asPartner(bolt, '{ grantUsage { grants points } }');
    expect(usage.grantUsage).toEqual({ grants: 5, points: '50' });
  });

  it('keeps the ledger whole', async () => {
    expect((await hub.integrity()).ok).toBe(true);
  });
});
