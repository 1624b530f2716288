import { signAccessToken, signInstruction, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, type TestHub, type TestPartner } from '../../helpers/test-hub';

/**
 * Fixtures written as a story over time (the KPI tests): the hub's clock moves forward to each
 * moment, and each instruction is signed at the hub's time and must be accepted.
 */

/** Moves the hub's clock forward to `iso` (a fixture only moves forward). */
export function moveClockTo(hub: TestHub, iso: string): void {
  const target = Date.parse(iso);
  const now = hub.clock.now().getTime();
  if (target < now) throw new Error(`the fixture only moves forward (${iso})`);
  hub.clock.advance(target - now);
}

/** Signs `op` at the hub's time and sends it; anything but acceptance fails the fixture. Answers the receipt's data. */
export async function sendAccepted<O extends Op>(hub: TestHub, partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<unknown> {
  const signed = await signInstruction({ partnerId: partner.id, hubId: HUB_ID, key: partner.key, op, now: hub.clock.now(), fields });
  const outcome = await partner.client.submitSigned(op, signed.jws);
  if (!outcome.ok) throw new Error(`${op} ${JSON.stringify(fields)}: ${outcome.errorCode} ${outcome.message}`);
  return outcome.data;
}

/** The partner's reward "Mug" (a product for 10 CP, 3 EUR to the partner, no refund), made with its own token; answers its id. */
export async function createMug(hub: TestHub, partner: TestPartner): Promise<string> {
  const token = await signAccessToken({
    issuer: partner.id,
    subject: partner.id,
    scope: 'partner',
    audience: HUB_ID,
    key: partner.key,
    now: hub.clock.now(),
  });
  const made = await hub.graphql(
    `mutation($input: CreateRewardInput!) { createReward(input: $input) { __typename ... on Reward { id } } }`,
    {
      input: {
        kind: 'product',
        title: 'Mug',
        pricePoints: '10',
        costMinor: '300',
        costCurrency: 'EUR',
        entitlementDays: 30,
        refundPolicy: 'none',
      },
    },
    token,
  );
  if (made.data?.createReward?.__typename !== 'Reward') throw new Error(`the mug was not made: ${JSON.stringify(made)}`);
  return made.data.createReward.id as string;
}
