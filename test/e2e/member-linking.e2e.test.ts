import { hashEmail, hashPhone } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * Linking a partner's customer to an existing member attaches the partner to the member's whole
 * balance, points other partners issued included: only partners the operator trusts may do it.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let evil: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  evil = await hub.registerPartner('EVIL', 'EdDSA', { canLinkMembers: false });
  await acme.client.enrollMember({ member: 'victim', emailHash: hashEmail('victim@example.com') });
  await acme.client.issuePoints({ member: 'victim', amount: '1000', orderRef: 'acme-secret-order-42' });
});

afterAll(() => hub.stop());

describe('member linking', () => {
  it('refuses an untrusted partner that sends the e-mail hash of an existing member, and nothing is written', async () => {
    const outcome = await expectNothingWritten(hub, () =>
      evil.client.enrollMember({ member: 'x', emailHash: hashEmail('victim@example.com') }),
    );
    expect(outcome).toMatchObject({ ok: false, typename: 'MemberLinkingNotAllowed' });
  });

  it('refuses it just the same for an e-mail nobody has, so the refusal reveals no membership', async () => {
    const outcome = await expectNothingWritten(hub, () =>
      evil.client.enrollMember({ member: 'y', emailHash: hashEmail('nobody@example.com') }),
    );
    expect(outcome).toMatchObject({ ok: false, typename: 'MemberLinkingNotAllowed' });
  });

  it('lets an untrusted partner enroll without hashes: a new member, with nothing of anyone else', async () => {
    const outcome = await evil.client.enrollMember({ member: 'z' });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome));
    expect(outcome.data.linkedExisting).toBe(false);
    const redeem = await evil.client.redeemPoints({ member: 'z', amount: '1' });
    expect(redeem).toMatchObject({ ok: false, errorCode: 'INSUFFICIENT_BALANCE' });
  });

  it('links a trusted partner by phone and keeps the e-mail hash the member did not have yet', async () => {
    const phone = hashPhone('+4930123456');
    const first = await acme.client.enrollMember({ member: 'pat', phoneHash: phone });
    const second = await bolt.client.enrollMember({ member: 'pat-b', phoneHash: phone, emailHash: hashEmail('pat@example.com') });
    if (!first.ok || !second.ok) throw new Error('enrolment failed');
    expect(second.data).toMatchObject({ memberId: first.data.memberId, linkedExisting: true });
    const [row] = await hub.hub.dataSource.query('SELECT email_hash FROM member WHERE id = $1', [first.data.memberId]);
    expect(row.email_hash).toBe(hashEmail('pat@example.com'));
  });
});

describe('what a member token shows of other partners', () => {
  it("shows every entry of the member, but another partner's jti and order reference only as null", async () => {
    await bolt.client.enrollMember({ member: 'v-at-bolt', emailHash: hashEmail('victim@example.com') });
    const issued = await bolt.client.issuePoints({ member: 'v-at-bolt', amount: '5', orderRef: 'bolt-order-1' });
    if (!issued.ok) throw new Error('issue failed');
    const token = await bolt.client.memberToken('v-at-bolt');
    const me = await hub.graphql('{ me { balance history { edges { node { partnerId type jti orderRef } } } } }', {}, token);
    expect(me.data?.me.balance).toBe('1005');
    const nodes = me.data?.me.history.edges.map((edge: any) => edge.node);
    expect(nodes).toEqual([
      { partnerId: 'BOLT', type: 'issue', jti: issued.jti, orderRef: 'bolt-order-1' },
      { partnerId: 'ACME', type: 'issue', jti: null, orderRef: null },
    ]);
    expect(JSON.stringify(me)).not.toContain('acme-secret-order-42');
  });
});
