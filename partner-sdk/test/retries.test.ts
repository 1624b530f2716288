import {
  generatePartnerKey,
  HubRequestError,
  PartnerClient,
  DEFAULT_TIMEOUT_MS,
  type FetchLike,
  type PartnerKey,
  type RetryOptions,
} from '../src';
import { BASE_URL, createHubKey, fakeLedger, HUB_ID, jsonResponse, PARTNER_ID, type HubKey } from './fake-hub';

let hub: HubKey;
let partnerKey: PartnerKey;
beforeAll(async () => {
  hub = await createHubKey();
  partnerKey = await generatePartnerKey();
});

/**
 * A hub that fails the first `failures.length` GraphQL requests as told, then executes
 * instructions like the real one (fakeLedger). Every instruction JWS it receives is recorded.
 */
function flakyHub(failures: Array<() => Response | Promise<Response>>) {
  const ledger = fakeLedger(hub, partnerKey);
  const instructions: string[] = [];
  const signals: Array<AbortSignal | undefined> = [];
  const fetch: FetchLike = async (url, init) => {
    if (url === `${BASE_URL}/.well-known/jwks.json`) return jsonResponse({ keys: [hub.publicJwk] });
    const body = JSON.parse(String(init.body)) as { query: string; variables: Record<string, unknown> };
    instructions.push(String(body.variables.instruction));
    signals.push(init.signal ?? undefined);
    const failure = failures.shift();
    if (failure) return failure();
    return jsonResponse(await ledger.respond({ url, headers: init.headers as Record<string, string>, ...body }));
  };
  return { fetch, instructions, signals };
}

function client(fetch: FetchLike, options: { retry?: RetryOptions; timeoutMs?: number } = {}) {
  return new PartnerClient({ baseUrl: BASE_URL, hubId: HUB_ID, partnerId: PARTNER_ID, key: partnerKey, fetch, ...options });
}

const unavailable = (retryAfter?: string) => () =>
  new Response(JSON.stringify({ errors: [{ message: 'the database is unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }), {
    status: 503,
    headers: { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) },
  });
const status =
  (code: number, headers: Record<string, string> = {}) =>
  () =>
    new Response('busy', { status: code, headers });
const refused = (code: string) => () =>
  jsonResponse({ errors: [{ message: 'no', extensions: { code } }] }, code === 'UNAUTHENTICATED' ? 401 : 200);
const networkDown = () => {
  throw new TypeError('fetch failed');
};

describe('request timeout', () => {
  it('aborts a request the hub does not answer after timeoutMs, as HubRequestError TIMEOUT naming the jti', async () => {
    const hanging: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const started = Date.now();
    const error = await client(hanging, { timeoutMs: 50 })
      .issuePoints({ member: 'cust-42', amount: '10' }, { jti: 'order-1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error).toMatchObject({ code: 'TIMEOUT', jti: 'order-1', retryable: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives every request a timeout signal by default (10 s)', async () => {
    const flaky = flakyHub([]);
    await client(flaky.fetch).issuePoints({ member: 'cust-42', amount: '10' });
    expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
    expect(flaky.signals[0]).toBeInstanceOf(AbortSignal);
  });

  it('refuses a timeout that is not a positive whole number of milliseconds', () => {
    expect(() => client(flakyHub([]).fetch, { timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe('opt-in retries', () => {
  it('resends the same signed instruction (same JWS, same jti) after 503 SERVICE_UNAVAILABLE, a network error and a 504, and returns its verified receipt', async () => {
    const flaky = flakyHub([unavailable('0'), networkDown, status(504)]);
    const retries: number[] = [];
    const outcome = await client(flaky.fetch, {
      retry: { attempts: 4, baseDelayMs: 1, onRetry: ({ attempt }) => retries.push(attempt) },
    }).issuePoints({ member: 'cust-42', amount: '10' }, { jti: 'order-2' });
    expect(outcome.ok).toBe(true);
    expect(outcome.jti).toBe('order-2');
    expect(retries).toEqual([1, 2, 3]);
    expect(flaky.instructions).toHaveLength(4);
    expect(new Set(flaky.instructions).size).toBe(1);
  });

  it('retries a SERVICE_UNAVAILABLE GraphQL error even on HTTP 200, and HTTP 429 and 502', async () => {
    const flaky = flakyHub([
      () => jsonResponse({ errors: [{ message: 'down', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }),
      status(429),
      status(502),
    ]);
    const outcome = await client(flaky.fetch, { retry: { attempts: 4, baseDelayMs: 1 } }).issuePoints({ member: 'cust-42', amount: '10' });
    expect(outcome.ok).toBe(true);
    expect(new Set(flaky.instructions).size).toBe(1);
  });

  it('treats a typed ServiceUnavailable result like a 503: nothing was written, so the same instruction is resent', async () => {
    const typed = () =>
      jsonResponse({ data: { result: { __typename: 'ServiceUnavailable', errorCode: 'SERVICE_UNAVAILABLE', message: 'try again' } } });
    const retried = flakyHub([typed]);
    expect(
      (await client(retried.fetch, { retry: { attempts: 2, baseDelayMs: 1 } }).issuePoints({ member: 'cust-42', amount: '10' })).ok,
    ).toBe(true);
    expect(new Set(retried.instructions).size).toBe(1);
    const once = flakyHub([typed]);
    await expect(client(once.fetch).issuePoints({ member: 'cust-42', amount: '10' })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryable: true,
    });
  });

  it('waits out a typed RateLimited result and resends the same instruction; without attempts left it is the outcome', async () => {
    const limited = () =>
      jsonResponse({
        data: { result: { __typename: 'RateLimited', errorCode: 'RATE_LIMITED', message: 'too many', retryAfterSeconds: 1 } },
      });
    const delays: number[] = [];
    const retried = flakyHub([limited]);
    const outcome = await client(retried.fetch, {
      retry: { attempts: 2, baseDelayMs: 1, retryAfterMaxMs: 20, onRetry: ({ delayMs }) => delays.push(delayMs) },
    }).issuePoints({ member: 'cust-42', amount: '10' });
    expect(outcome.ok).toBe(true);
    expect(delays).toEqual([20]); // retryAfterSeconds (1 s), capped at retryAfterMaxMs
    expect(retried.instructions).toHaveLength(2);
    expect(new Set(retried.instructions).size).toBe(1);
    const once = flakyHub([limited]);
    expect(await client(once.fetch).issuePoints({ member: 'cust-42', amount: '10' })).toMatchObject({
      ok: false,
      errorCode: 'RATE_LIMITED',
      retryAfterSeconds: 1,
    });
  });

  it('honours Retry-After, capped at retryAfterMaxMs', async () => {
    const delays: number[] = [];
    const flaky = flakyHub([status(429, { 'retry-after': '3600' }), unavailable('0')]);
    await client(flaky.fetch, {
      retry: { attempts: 3, baseDelayMs: 1, retryAfterMaxMs: 30, onRetry: ({ delayMs }) => delays.push(delayMs) },
    }).issuePoints({
      member: 'cust-42',
      amount: '10',
    });
    expect(delays[0]).toBe(30);
    expect(delays[1]).toBeLessThanOrEqual(2);
  });

  it('waits a random time under an exponential ceiling (full jitter), never above maxDelayMs', async () => {
    const delays: number[] = [];
    const flaky = flakyHub(Array.from({ length: 7 }, () => status(503)));
    await client(flaky.fetch, {
      retry: { attempts: 8, baseDelayMs: 4, maxDelayMs: 20, onRetry: ({ delayMs }) => delays.push(delayMs) },
    }).issuePoints({
      member: 'cust-42',
      amount: '10',
    });
    expect(delays).toHaveLength(7);
    delays.forEach((delay, index) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(20, 4 * 2 ** index));
    });
  });

  it('gives up after `attempts` and throws the last error, naming the jti to ask about later', async () => {
    const flaky = flakyHub(Array.from({ length: 5 }, () => unavailable()));
    const error = await client(flaky.fetch, { retry: { attempts: 3, baseDelayMs: 1 } })
      .issuePoints({ member: 'cust-42', amount: '10' }, { jti: 'order-3' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, jti: 'order-3' });
    expect(flaky.instructions).toHaveLength(3);
  });

  it.each([
    ['UNAUTHENTICATED', refused('UNAUTHENTICATED')],
    ['FORBIDDEN', refused('FORBIDDEN')],
    ['BAD_USER_INPUT', refused('BAD_USER_INPUT')],
    ['HTTP 500', status(500)],
    ['HTTP 400', status(400)],
  ])('never retries a refusal or an error sending again cannot fix: %s', async (_name, failure) => {
    const flaky = flakyHub([failure]);
    await expect(
      client(flaky.fetch, { retry: { attempts: 5, baseDelayMs: 1 } }).issuePoints({ member: 'cust-42', amount: '10' }),
    ).rejects.toBeInstanceOf(HubRequestError);
    expect(flaky.instructions).toHaveLength(1);
  });

  it('never retries a typed refusal: it is an outcome, and nothing was written', async () => {
    const flaky = flakyHub([]);
    const outcome = await client(flaky.fetch, { retry: { attempts: 5, baseDelayMs: 1 } }).redeemPoints({
      member: 'cust-42',
      amount: '999999',
    });
    expect(outcome).toMatchObject({ ok: false, errorCode: 'INSUFFICIENT_BALANCE' });
    expect(flaky.instructions).toHaveLength(1);
  });

  it('is off unless asked for: one attempt', async () => {
    const flaky = flakyHub([unavailable('0')]);
    await expect(client(flaky.fetch).issuePoints({ member: 'cust-42', amount: '10' })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(flaky.instructions).toHaveLength(1);
  });
});
