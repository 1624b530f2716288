import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartnerClient, OfflineQueue, type BatchItemOutcome, type FetchLike } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * submitInstructions (docs/batches.md): each instruction of a batch is applied or refused on its
 * own, idempotency per jti is that of single instructions, concurrent batches neither lose nor
 * double money, and the SDK's OfflineQueue delivers what it kept exactly once.
 */
let hub: TestHub;
let acme: TestPartner;
let cafe: TestPartner;

const BATCH_QUERY = `mutation($instructions: [String!]!) {
  submitInstructions(instructions: $instructions) {
    __typename
    ... on BatchTooLarge { errorCode limit received }
    ... on InstructionBatch {
      results {
        index jti op
        result {
          __typename
          ... on IssueReceipt { entryId balance replayed }
          ... on RedeemReceipt { entryId balance replayed }
          ... on InsufficientBalance { available requested }
          ... on ErrorResult { errorCode }
        }
      }
    }
  }
}`;

const count = async (table: string): Promise<number> => (await hub.hub.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

async function balanceOf(partner: TestPartner, member: string): Promise<bigint> {
  const answer = await hub.graphql('{ me { balance } }', {}, await partner.client.memberToken(member));
  return BigInt(answer.data?.me.balance);
}

async function enroll(partner: TestPartner, member: string, amount?: string): Promise<void> {
  const enrolled = await partner.client.enrollMember({ member });
  if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  if (amount !== undefined) {
    const issued = await partner.client.issuePoints({ member, amount });
    if (!issued.ok) throw new Error(JSON.stringify(issued));
  }
}

/** The same JWS with its signature changed (still base64url, still a JWS). */
function tampered(jws: string): string {
  const last = jws.at(-2) === 'A' ? 'B' : 'A';
  return `${jws.slice(0, -2)}${last}${jws.at(-1)}`;
}

/** Large batches on a shared, loaded test machine take longer than the SDK's default 10 s timeout. */
const patient = (partner: TestPartner): PartnerClient =>
  new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: partner.id, key: partner.key, timeoutMs: 120_000 });

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  cafe = await hub.registerPartner('CAFE', 'ES256');
});

afterAll(() => hub.stop());

describe('a batch with successes and refusals', () => {
  it('applies each success and refuses each failure on its own, writing nothing for the failures', async () => {
    await enroll(acme, 'bea', '100');
    await enroll(acme, 'bob');
    const earlier = await acme.client.sign('issue', { member: 'bea', amount: '7' }, { jti: 'batch-earlier' });
    expect((await acme.client.submitSigned('issue', earlier.jws)).ok).toBe(true);
    const entriesBefore = await count('journal_entry');
    const instructionsBefore = await count('instruction');

    const first = await acme.client.sign('issue', { member: 'bea', amount: '50' }, { jti: 'batch-first' });
    const sameJtiOther = await acme.client.sign('issue', { member: 'bea', amount: '51' }, { jti: 'batch-first' });
    const badSignature = tampered((await acme.client.sign('issue', { member: 'bea', amount: '1000' })).jws);
    const tooMuch = await acme.client.sign('redeem', { member: 'bob', amount: '1000' });
    const spend = await acme.client.sign('redeem', { member: 'bea', amount: '30' });
    const nobody = await acme.client.sign('issue', { member: 'nobody', amount: '5' });
    const fromCafe = await cafe.client.sign('enroll', { member: 'cid' });
    const list = [first.jws, badSignature, tooMuch.jws, earlier.jws, first.jws, sameJtiOther.jws, spend.jws, nobody.jws, fromCafe.jws];

    const answer = await hub.graphql(BATCH_QUERY, { instructions: list });
    expect(answer.errors).toBeUndefined();
    const results = answer.data?.submitInstructions.results;
    expect(results.map((item: { index: number }) => item.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(results.map((item: { result: { __typename: string } }) => item.result.__typename)).toEqual([
      'IssueReceipt',
      'InvalidSignature',
      'InsufficientBalance',
      'IssueReceipt',
      'IssueReceipt',
      'IdempotencyConflict',
      'RedeemReceipt',
      'UnknownMember',
      'EnrollReceipt',
    ]);
    // An instruction that did not verify has no op or jti: nothing it says can be trusted.
    expect(results[1]).toMatchObject({ op: null, jti: null });
    expect(results[0]).toMatchObject({ op: 'issue', jti: 'batch-first', result: { balance: '157', replayed: false } });
    expect(results[2].result).toMatchObject({ available: '0', requested: '1000' });
    // The earlier jti and the in-batch duplicate answer with their original outcomes.
    expect(results[3].result.replayed).toBe(true);
    expect(results[4].result).toMatchObject({ replayed: true, entryId: results[0].result.entryId, balance: '157' });
    expect(results[6].result).toMatchObject({ balance: '127', replayed: false });

    // Two movements written (issue, redeem) and three instructions (with the enroll); nothing else.
    expect(await count('journal_entry')).toBe(entriesBefore + 2);
    expect(await count('instruction')).toBe(instructionsBefore + 3);
    expect(await balanceOf(acme, 'bea')).toBe(127n);
    expect(await balanceOf(acme, 'bob')).toBe(0n);

    // The same batch again changes nothing: every accepted jti replays, every refusal is refused again.
    const again = await hub.graphql(BATCH_QUERY, { instructions: list });
    const typenames = again.data?.submitInstructions.results.map((item: { result: { __typename: string } }) => item.result.__typename);
    expect(typenames).toEqual(results.map((item: { result: { __typename: string } }) => item.result.__typename));
    expect(await count('journal_entry')).toBe(entriesBefore + 2);
    expect(await balanceOf(acme, 'bea')).toBe(127n);
  });

  it("keeps the batch order when items need their operation (a capped partner's issues) between one-statement items", async () => {
    const capped = await hub.registerPartner('CAPD');
    const set = await hub.graphql(
      'mutation { setPartnerContract(partnerId: "CAPD", input: { netDebitCapMinor: "100000000" }) { __typename } }',
      {},
      await hub.operatorToken(),
    );
    expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
    await enroll(acme, 'ord');
    await enroll(capped, 'ord');
    // 'ord' at ACME and 'ord' at CAPD are two members (a member reference is the partner's own). The capped
    // partner's issues end each run of one-statement items; ACME's items must still apply in the batch's order.
    const steps: Array<[TestPartner, 'issue' | 'redeem', string]> = [
      [acme, 'issue', '10'],
      [capped, 'issue', '5'],
      [acme, 'redeem', '12'],
      [acme, 'issue', '1'],
      [capped, 'issue', '2'],
      [acme, 'redeem', '11'],
    ];
    const list = await Promise.all(
      steps.map(async ([partner, op, amount]) => (await partner.client.sign(op, { member: 'ord', amount })).jws),
    );
    const results = (await hub.graphql(BATCH_QUERY, { instructions: list })).data?.submitInstructions.results;
    // ACME: 10, then 12 of 10 is refused, 11, 0; CAPD: 5, 7. Out of order, the redemption of 12 would have found 11.
    expect(
      results.map((item: { result: { __typename: string; balance?: string } }) => [item.result.__typename, item.result.balance]),
    ).toEqual([
      ['IssueReceipt', '10'],
      ['IssueReceipt', '5'],
      ['InsufficientBalance', undefined],
      ['IssueReceipt', '11'],
      ['IssueReceipt', '7'],
      ['RedeemReceipt', '0'],
    ]);
    expect(await balanceOf(acme, 'ord')).toBe(0n);
    expect(await balanceOf(capped, 'ord')).toBe(7n);
  });

  it('answers each item of a run in order, and with isolated items the one that fails is told apart from the others', async () => {
    await enroll(acme, 'iso');
    const item = (jti: string, amount: string) => ({
      op: 'issue',
      partnerId: 'ACME',
      jti,
      kid: 'k',
      hash: jti,
      jws: 'not-checked-here',
      member: 'iso',
      amount,
      orderRef: null,
      occurredAt: new Date().toISOString(),
      entryId: crypto.randomUUID(),
    });
    const run = (items: unknown[], isolated: boolean) =>
      hub.ownerQuery<{ outcomes: Array<Record<string, unknown>> }>(
        "SELECT apply_cp_movements($1, now(), 1, $2, $3, now() - interval '1 year', $4) AS outcomes",
        [JSON.stringify(items), ['Base'], ['0'], isolated],
      );
    // An amount beyond bigint makes the item fail: the whole statement fails without isolation ...
    const failing = [item('iso-1', '3'), item('iso-2', '99999999999999999999'), item('iso-3', '4')];
    await expect(run(failing, false)).rejects.toThrow(/out of range/);
    expect(await balanceOf(acme, 'iso')).toBe(0n);
    // ... and with it, the other items are applied and the failed one answers its SQLSTATE, in order.
    const outcomes = (await run(failing, true))[0]!.outcomes;
    expect(outcomes.map((outcome) => (outcome.failed as string | undefined) ?? (outcome.result as { balance: string }).balance)).toEqual([
      '3',
      '22003',
      '7',
    ]);
    expect(await balanceOf(acme, 'iso')).toBe(7n);
    // Five hundred items answer five hundred outcomes, in their order.
    const many = Array.from({ length: 500 }, (_, index) => item(`iso-many-${index}`, '1'));
    const all = (await run(many, false))[0]!.outcomes;
    expect(all.map((outcome) => (outcome.result as { balance: string }).balance)).toEqual(many.map((_, index) => String(8 + index)));
  });

  it('counts each instruction at /metrics by its op and outcome, as single instructions are counted', async () => {
    await enroll(acme, 'metered', '10');
    const metrics = async () => (await fetch(`${hub.url}/metrics`)).text();
    const sample = (text: string, labels: string): number => {
      const line = text.split('\n').find((candidate) => candidate.startsWith(`coalition_instructions_total{${labels}} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const before = await metrics();
    const list = [
      (await acme.client.sign('issue', { member: 'metered', amount: '1' })).jws,
      tampered((await acme.client.sign('issue', { member: 'metered', amount: '1' })).jws),
      (await acme.client.sign('redeem', { member: 'metered', amount: '1000' })).jws,
      (await acme.client.sign('issue', { member: 'metered', amount: '2' })).jws,
    ];
    expect((await hub.graphql(BATCH_QUERY, { instructions: list })).errors).toBeUndefined();
    const after = await metrics();
    const delta = (labels: string) => sample(after, labels) - sample(before, labels);
    expect(delta('op="issue",outcome="IssueReceipt"')).toBe(2);
    expect(delta('op="unknown",outcome="InvalidSignature"')).toBe(1);
    expect(delta('op="redeem",outcome="InsufficientBalance"')).toBe(1);
  });

  it('answers an empty batch with no results', async () => {
    const answer = await hub.graphql(BATCH_QUERY, { instructions: [] });
    expect(answer.data?.submitInstructions).toEqual({ __typename: 'InstructionBatch', results: [] });
  });

  it('returns verified receipts through the SDK, one outcome per instruction in order', async () => {
    await enroll(acme, 'sdk-sam', '10');
    const outcomes = await acme.client.submitMany([
      { op: 'issue', fields: { member: 'sdk-sam', amount: '5' } },
      { op: 'redeem', fields: { member: 'sdk-sam', amount: '100' } },
      { op: 'redeem', fields: { member: 'sdk-sam', amount: '15' }, jti: 'sdk-sam-spend' },
    ]);
    expect(outcomes.map((outcome) => [outcome.index, outcome.op, outcome.ok])).toEqual([
      [0, 'issue', true],
      [1, 'redeem', false],
      [2, 'redeem', true],
    ]);
    const spent = outcomes[2] as Extract<BatchItemOutcome, { ok: true }>;
    expect(spent.jti).toBe('sdk-sam-spend');
    expect(spent.receipt).toMatchObject({ jti: 'sdk-sam-spend', op: 'redeem', balance: '0' });
    expect(outcomes[1]).toMatchObject({ ok: false, errorCode: 'INSUFFICIENT_BALANCE' });
    expect(await acme.client.submitBatch([])).toEqual([]);
  });
});

describe('limits', () => {
  it('refuses 501 instructions whole with BatchTooLarge and writes nothing', async () => {
    await enroll(acme, 'many');
    const signed = await Promise.all(Array.from({ length: 501 }, () => acme.client.sign('issue', { member: 'many', amount: '1' })));
    // Far over the 64 KiB of other requests: a batch may be as large as a full batch needs.
    expect(JSON.stringify(signed.map((item) => item.jws)).length).toBeGreaterThan(64 * 1024);
    const answer = await expectNothingWritten(hub, () => hub.graphql(BATCH_QUERY, { instructions: signed.map((item) => item.jws) }));
    expect(answer.data?.submitInstructions).toEqual({
      __typename: 'BatchTooLarge',
      errorCode: 'BATCH_TOO_LARGE',
      limit: 500,
      received: 501,
    });
    await expect(acme.client.submitBatch(signed.map((item) => item.jws))).rejects.toThrow(RangeError);

    // 500 of them are one batch.
    const outcomes = await patient(acme).submitBatch(signed.slice(0, 500).map((item) => item.jws));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(500);
    expect(await balanceOf(acme, 'many')).toBe(500n);
  }, 180_000);

  it('still refuses a body over 64 KiB that is not a batch', async () => {
    const padding = 'x'.repeat(70 * 1024);
    const answer = await hub.graphql('query($p: String) { __typename }', { p: padding });
    expect(answer.status).toBe(413);
    const disguised = await hub.graphql(
      `mutation($p: String) { submitInstructions(instructions: []) { __typename } } query Other { __typename }`,
      {
        p: padding,
      },
    );
    expect(disguised.status).toBe(413);
  });
});

describe('the partner rate limit', () => {
  it('charges a batch of N instructions N: over the limit, all of that partner are RateLimited and nothing is written', async () => {
    const limited = await TestHub.start({ env: { RATE_LIMIT_PARTNER_PER_SECOND: '3', RATE_LIMIT_PARTNER_BURST: '0' } });
    try {
      const partner = await limited.registerPartner('ACME');
      const signed = await Promise.all(Array.from({ length: 4 }, () => partner.client.sign('enroll', { member: `rl-${Math.random()}` })));
      const answer = await expectNothingWritten(limited, () =>
        limited.graphql(BATCH_QUERY, { instructions: signed.map((item) => item.jws) }),
      );
      const typenames = answer.data?.submitInstructions.results.map((item: { result: { __typename: string } }) => item.result.__typename);
      expect(typenames).toEqual(['RateLimited', 'RateLimited', 'RateLimited', 'RateLimited']);
    } finally {
      await limited.stop();
    }
  });
});

describe('concurrent batches over the same members', () => {
  it('neither loses nor doubles money, and refuses exactly what could not be paid', async () => {
    const members = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    for (const member of members) await enroll(acme, member, '200');
    const entriesBefore = await count('journal_entry');
    // The two batches take the members in opposite orders, so that their locks cross.
    const first = members.flatMap((member) => Array.from({ length: 10 }, () => ({ member, amount: 10n })));
    const second = [...members].reverse().flatMap((member) => Array.from({ length: 10 }, () => ({ member, amount: 15n })));
    const sign = (items: typeof first) =>
      Promise.all(items.map((item) => acme.client.sign('redeem', { member: item.member, amount: String(item.amount) })));
    const [firstSigned, secondSigned] = await Promise.all([sign(first), sign(second)]);
    const [firstOutcomes, secondOutcomes] = await Promise.all([
      patient(acme).submitBatch(firstSigned.map((item) => item.jws)),
      patient(acme).submitBatch(secondSigned.map((item) => item.jws)),
    ]);
    const spent = new Map<string, bigint>(members.map((member) => [member, 0n]));
    let accepted = 0;
    for (const [items, outcomes] of [
      [first, firstOutcomes],
      [second, secondOutcomes],
    ] as const) {
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) {
          accepted += 1;
          spent.set(items[i]!.member, spent.get(items[i]!.member)! + items[i]!.amount);
        } else {
          expect(outcome.errorCode).toBe('INSUFFICIENT_BALANCE');
        }
      });
    }
    for (const member of members) {
      const balance = await balanceOf(acme, member);
      expect(balance).toBe(200n - spent.get(member)!);
      expect(balance).toBeGreaterThanOrEqual(0n);
      // 250 asked of 200: some refused, and a refusal only when less than its amount was left.
      expect(balance).toBeLessThan(15n);
    }
    expect(await count('journal_entry')).toBe(entriesBefore + accepted);
    expect((await hub.integrity()).ok).toBe(true);
  }, 180_000);
});

describe('the offline queue', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offline-queue-'));
  });

  afterAll(() => rm(directory, { recursive: true, force: true }));

  /** The partner's client, reaching the hub only while `state.up`; it may also lose the answer to the next request. */
  function tillClient(state: { up: boolean; loseNextAnswer?: boolean }): PartnerClient {
    const fetch: FetchLike = async (url, init) => {
      if (!state.up) throw new TypeError('fetch failed: connect ECONNREFUSED');
      const response = await globalThis.fetch(url, init);
      if (state.loseNextAnswer && url.endsWith('/graphql')) {
        state.loseNextAnswer = false;
        await response.text();
        throw new TypeError('fetch failed: connection reset');
      }
      return response;
    };
    return new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key, fetch, timeoutMs: 120_000 });
  }

  it('keeps instructions while the hub is down, survives a restart, and applies each exactly once when it is back', async () => {
    await enroll(acme, 'till-tom', '100');
    const path = join(directory, 'till.jsonl');
    const state = { up: false, loseNextAnswer: false };
    const queue = await OfflineQueue.open(path, tillClient(state), { batchSize: 4 });
    for (let i = 0; i < 6; i += 1) await queue.add('issue', { member: 'till-tom', amount: '10' }, { jti: `till-issue-${i}` });
    await queue.add('redeem', { member: 'till-tom', amount: '1000' }, { jti: 'till-too-much' });
    await queue.add('redeem', { member: 'till-tom', amount: '25' }, { jti: 'till-spend' });

    const whileDown = await queue.drain();
    expect(whileDown).toMatchObject({ accepted: [], refused: [], remaining: 8 });
    expect(whileDown.stoppedBy?.code).toBe('NETWORK_ERROR');
    expect(await balanceOf(acme, 'till-tom')).toBe(100n);

    // The till "crashes" (the queue is never closed) and starts again on the same file.
    const reopened = await OfflineQueue.open(path, tillClient(state), { batchSize: 4 });
    expect(reopened.list().map((item) => item.jti)).toEqual([
      ...Array.from({ length: 6 }, (_, i) => `till-issue-${i}`),
      'till-too-much',
      'till-spend',
    ]);

    // Back up, but the answer to the first batch is lost after the hub applied it.
    state.up = true;
    state.loseNextAnswer = true;
    const lost = await reopened.drain();
    expect(lost.stoppedBy?.code).toBe('NETWORK_ERROR');
    expect(lost.remaining).toBe(8);
    expect(await balanceOf(acme, 'till-tom')).toBe(140n);

    const back = await reopened.drain();
    expect(back.stoppedBy).toBeUndefined();
    expect(back.remaining).toBe(0);
    expect(back.accepted.map((outcome) => [outcome.jti, outcome.data.replayed])).toEqual([
      ['till-issue-0', true],
      ['till-issue-1', true],
      ['till-issue-2', true],
      ['till-issue-3', true],
      ['till-issue-4', false],
      ['till-issue-5', false],
      ['till-spend', false],
    ]);
    expect(back.refused.map((outcome) => [outcome.jti, outcome.errorCode])).toEqual([['till-too-much', 'INSUFFICIENT_BALANCE']]);
    expect(await balanceOf(acme, 'till-tom')).toBe(100n + 60n - 25n);
    expect(await count("instruction WHERE jti LIKE 'till-%'")).toBe(7);

    // Nothing is left to send, after another restart too.
    const afterwards = await OfflineQueue.open(path, tillClient(state));
    expect(afterwards.size).toBe(0);
    expect(await afterwards.drain()).toMatchObject({ accepted: [], refused: [], remaining: 0 });
    await afterwards.close();
    await reopened.close();
    await queue.close();
  });
});
