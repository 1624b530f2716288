import { hashEmail, HubRequestError, PartnerClient, type FetchLike } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The SDK's retries against a real hub: when the answer to an instruction is lost after the hub
 * executed it, the retry resends the same signed instruction (same jti), and the hub answers
 * with the original receipt instead of executing it twice.
 */
let hub: TestHub;
let acme: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
});

afterAll(() => hub.stop());

/** Forwards to the hub, but loses the answers to the first `lose` GraphQL requests (the hub still did the work). */
function losingFetch(lose: number) {
  const sent: string[] = [];
  const fetch: FetchLike = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    if (!url.endsWith('/graphql')) return response;
    sent.push(String(init.body));
    if (sent.length <= lose) {
      await response.text();
      throw new TypeError('fetch failed: connection reset');
    }
    return response;
  };
  return { fetch, sent };
}

const walletBalance = async (): Promise<string> =>
  (
    await hub.hub.dataSource.query(
      `SELECT b.balance::text AS balance FROM member_link l JOIN account a ON a.owner_id = l.member_id::text AND a.kind = 'wallet'
       JOIN account_balance b ON b.account_id = a.id WHERE l.partner_id = 'ACME' AND l.member_ref = 'ann'`,
    )
  )[0].balance;

it('a lost answer is retried with the same signed instruction: one entry, the original receipt', async () => {
  const before = BigInt(await walletBalance());
  const network = losingFetch(2);
  const client = new PartnerClient({
    baseUrl: hub.url,
    hubId: HUB_ID,
    partnerId: 'ACME',
    key: acme.key,
    fetch: network.fetch,
    retry: { attempts: 3, baseDelayMs: 5 },
  });
  const outcome = await client.issuePoints({ member: 'ann', amount: '25', orderRef: 'ord-7' }, { jti: 'ord-7-points' });
  expect(outcome.ok).toBe(true);
  if (!outcome.ok) return;
  expect(outcome.data).toMatchObject({ replayed: true, amount: '25' });
  expect(outcome.receipt.jti).toBe('ord-7-points');
  expect(network.sent).toHaveLength(3);
  expect(new Set(network.sent).size).toBe(1);
  expect(BigInt(await walletBalance())).toBe(before + 25n);
  const [{ entries }] = await hub.hub.dataSource.query(
    `SELECT count(*)::int AS entries FROM journal_entry WHERE partner_id = 'ACME' AND jti = 'ord-7-points'`,
  );
  expect(entries).toBe(1);
});

it('without retries the lost answer is a retryable HubRequestError naming the jti, and fetchReceipt then finds it', async () => {
  const network = losingFetch(1);
  const client = new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key, fetch: network.fetch });
  const error = await client.issuePoints({ member: 'ann', amount: '5' }, { jti: 'ord-8-points' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HubRequestError);
  expect(error).toMatchObject({ code: 'NETWORK_ERROR', retryable: true, jti: 'ord-8-points' });
  const found = await client.fetchReceipt('ord-8-points');
  expect(found?.receipt).toMatchObject({ jti: 'ord-8-points', amount: '5' });
});
