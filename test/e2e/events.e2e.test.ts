import { TestHub, type TestPartner } from '../helpers/test-hub';
import { eventsOfAction } from './support/events';

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  await hub.asStaff(`mutation { setPartnerUnit(partnerId: "ACME", code: "STARS") { __typename } }`, {}, 'operator');
  await hub.asStaff(`mutation { setExchangeRate(partnerId: "ACME", cpPerPoint: "0.5") { __typename } }`, {}, 'operator');
});

afterAll(() => hub.stop());

async function accepted<T extends { ok: boolean }>(outcome: Promise<T>): Promise<T & { ok: true }> {
  const result = await outcome;
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result as T & { ok: true };
}

describe('points.issued', () => {
  it('is written with the issue of CP, in the scope of the issuing partner, with the amount and balance as strings', async () => {
    await accepted(acme.client.enrollMember({ member: 'ivy' }));
    let issued: any;
    const events = await eventsOfAction(hub, async () => {
      issued = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '120', orderRef: 'order-7' }));
    });
    expect(events).toEqual([
      {
        seq: expect.any(Number),
        type: 'points.issued',
        partnerId: 'ACME',
        memberId: issued.data.memberId,
        data: { jti: issued.jti, entryId: issued.data.entryId, asset: 'CP', amount: '120', balance: '120', orderRef: 'order-7' },
      },
    ]);
  });

  it("is written with the issue of a partner's own unit, naming the unit", async () => {
    let issued: any;
    const events = await eventsOfAction(hub, async () => {
      issued = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '30', asset: 'ACME.STARS' }));
    });
    expect(events).toEqual([
      {
        seq: expect.any(Number),
        type: 'points.issued',
        partnerId: 'ACME',
        memberId: issued.data.memberId,
        data: { jti: issued.jti, entryId: issued.data.entryId, asset: 'ACME.STARS', amount: '30', balance: '30' },
      },
    ]);
  });

  it('is not written for a refused issue, nor again when the same instruction is replayed', async () => {
    const refused = await eventsOfAction(hub, () => bolt.client.issuePoints({ member: 'nobody-here', amount: '5' }));
    expect(refused).toEqual([]);
    const first = await eventsOfAction(hub, () => acme.client.issuePoints({ member: 'ivy', amount: '5' }, { jti: 'events-replay-1' }));
    expect(first.map((event) => event.type)).toEqual(['points.issued']);
    const replay = await eventsOfAction(hub, async () => {
      const again = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '5' }, { jti: 'events-replay-1' }));
      expect(again.data.replayed).toBe(true);
    });
    expect(replay).toEqual([]);
  });
});
