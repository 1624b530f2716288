import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import {
  generatePartnerKey,
  HubRequestError,
  OfflineQueue,
  replayQueueLog,
  requestHash,
  resignInstruction,
  signInstruction,
  type BatchItemOutcome,
  type PartnerKey,
  type QueueClient,
} from '../src';
import { HUB_ID, PARTNER_ID } from './fake-hub';

/**
 * The offline queue's file handling and its rule for leaving the queue, against a scripted client
 * (no hub): the e2e test (test/e2e/batch-instructions.e2e.test.ts) drains one into a real hub.
 */
let key: PartnerKey;
let directory: string;

beforeAll(async () => {
  key = await generatePartnerKey('EdDSA', 'acme-1');
});

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sdk-queue-'));
});

afterEach(() => rm(directory, { recursive: true, force: true }));

type Answer = (jti: string) => BatchItemOutcome | 'unreachable';

/** A client that signs for real and answers each submitted instruction as `answer` says; it records what it was sent. */
function scripted(answer: Answer) {
  const sent: string[][] = [];
  const client: QueueClient = {
    sign: (op, fields, opts) => signInstruction({ partnerId: PARTNER_ID, hubId: HUB_ID, key, op, fields, jti: opts?.jti }),
    resign: (jws) => resignInstruction(decodeJwt(jws) as Record<string, unknown>, key),
    async submitBatch(jwsList) {
      sent.push(jwsList.map((jws) => String(decodeJwt(jws).jti)));
      const outcomes = jwsList.map((jws, index) => {
        const outcome = answer(String(decodeJwt(jws).jti));
        return outcome === 'unreachable' ? outcome : { ...outcome, index };
      });
      if (outcomes.includes('unreachable')) throw new HubRequestError('NETWORK_ERROR', 'could not reach the hub');
      return outcomes as BatchItemOutcome[];
    },
  };
  return { client, sent };
}

const accepted = (jti: string): BatchItemOutcome =>
  ({
    ok: true,
    index: 0,
    op: 'issue',
    jti,
    typename: 'IssueReceipt',
    data: { replayed: false },
    receipt: {},
  }) as unknown as BatchItemOutcome;
const refused = (jti: string, errorCode: string): BatchItemOutcome =>
  ({ ok: false, index: 0, op: 'issue', jti, typename: 'X', errorCode, message: errorCode }) as BatchItemOutcome;

describe('the queue file', () => {
  it('is fsynced JSON lines that a reopened queue reads back in order', async () => {
    const path = join(directory, 'q.jsonl');
    const queue = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    await queue.add('issue', { member: 'ann', amount: '5' }, { jti: 'a' });
    await queue.add('issue', { member: 'bob', amount: '6' }, { jti: 'b' });
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).add.jti)).toEqual(['a', 'b']);
    // No close: as after a crash.
    const reopened = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    expect(reopened.list().map((item) => item.jti)).toEqual(['a', 'b']);
    expect(reopened.list()[0]!.jws).toBe(queue.list()[0]!.jws);
    await reopened.close();
    await queue.close();
  });

  it('drops a torn last line (an append a crash cut short) and rewrites the file without it', async () => {
    const path = join(directory, 'q.jsonl');
    const queue = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    await queue.add('issue', { member: 'ann', amount: '5' }, { jti: 'a' });
    await queue.close();
    await appendFile(path, '{"add":{"jti":"b","jws":"eyJ');
    const reopened = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    expect(reopened.list().map((item) => item.jti)).toEqual(['a']);
    expect((await readFile(path, 'utf8')).endsWith('\n')).toBe(true);
    await reopened.add('issue', { member: 'bob', amount: '6' }, { jti: 'b' });
    await reopened.close();
    expect(replayQueueLog(await readFile(path, 'utf8')).map((item) => item.jti)).toEqual(['a', 'b']);
  });

  it('refuses a file damaged before its last line rather than guess', async () => {
    const path = join(directory, 'q.jsonl');
    await writeFile(path, 'not json\n{"add":{"jti":"a","jws":"x"}}\n');
    await expect(OfflineQueue.open(path, scripted(() => 'unreachable').client)).rejects.toThrow(/line 1 is not JSON/);
  });

  it('replays adds minus dones, the newest JWS of a jti winning', () => {
    const log = [
      { add: { jti: 'a', jws: 'a1' } },
      { add: { jti: 'b', jws: 'b1' } },
      { done: ['a'] },
      { add: { jti: 'b', jws: 'b2' } },
      { add: { jti: 'c', jws: 'c1' } },
    ]
      .map((record) => JSON.stringify(record))
      .join('\n');
    expect(replayQueueLog(`${log}\n`)).toEqual([
      { jti: 'b', jws: 'b2' },
      { jti: 'c', jws: 'c1' },
    ]);
  });

  it('refuses a jti that is queued already', async () => {
    const queue = await OfflineQueue.open(join(directory, 'q.jsonl'), scripted(() => 'unreachable').client);
    await queue.add('issue', { member: 'ann', amount: '5' }, { jti: 'a' });
    await expect(queue.add('issue', { member: 'ann', amount: '9' }, { jti: 'a' })).rejects.toThrow(/queued already/);
    expect(queue.size).toBe(1);
    await queue.close();
  });
});

describe('draining', () => {
  it('keeps everything while the hub is unreachable', async () => {
    const path = join(directory, 'q.jsonl');
    const queue = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    await queue.add('issue', { member: 'ann', amount: '5' }, { jti: 'a' });
    const result = await queue.drain();
    expect(result).toMatchObject({ accepted: [], refused: [], remaining: 1 });
    expect(result.stoppedBy?.code).toBe('NETWORK_ERROR');
    const reopened = await OfflineQueue.open(path, scripted(() => 'unreachable').client);
    expect(reopened.size).toBe(1);
    await reopened.close();
    await queue.close();
  });

  it('removes accepted and definitively refused instructions, keeps rate-limited and failed ones, and stops there', async () => {
    const path = join(directory, 'q.jsonl');
    const answers: Record<string, BatchItemOutcome> = {
      a: accepted('a'),
      b: refused('b', 'INSUFFICIENT_BALANCE'),
      c: refused('c', 'RATE_LIMITED'),
      d: { ok: false, index: 0, op: 'issue', jti: 'd', typename: null, errorCode: null, message: 'internal error' },
      e: accepted('e'),
      f: accepted('f'),
    };
    const { client, sent } = scripted((jti) => answers[jti]!);
    const queue = await OfflineQueue.open(path, client, { batchSize: 5 });
    for (const jti of ['a', 'b', 'c', 'd', 'e', 'f']) await queue.add('issue', { member: 'ann', amount: '1' }, { jti });
    const result = await queue.drain();
    expect(result.accepted.map((outcome) => outcome.jti)).toEqual(['a', 'e']);
    expect(result.refused.map((outcome) => [outcome.jti, outcome.errorCode])).toEqual([['b', 'INSUFFICIENT_BALANCE']]);
    // The first batch left some waiting: the second is not sent before they go.
    expect(sent).toEqual([['a', 'b', 'c', 'd', 'e']]);
    expect(result.remaining).toBe(3);
    expect(queue.list().map((item) => item.jti)).toEqual(['c', 'd', 'f']);
    // What was settled stays settled after a restart.
    const reopened = await OfflineQueue.open(path, client);
    expect(reopened.list().map((item) => item.jti)).toEqual(['c', 'd', 'f']);
    await reopened.close();
    await queue.close();
  });

  it('sends batches of at most batchSize, oldest first, and empties the file when all is settled', async () => {
    const path = join(directory, 'q.jsonl');
    const { client, sent } = scripted((jti) => accepted(jti));
    const queue = await OfflineQueue.open(path, client, { batchSize: 2 });
    for (const jti of ['a', 'b', 'c', 'd', 'e']) await queue.add('issue', { member: 'ann', amount: '1' }, { jti });
    const result = await queue.drain();
    expect(sent).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(result.remaining).toBe(0);
    expect(await readFile(path, 'utf8')).toBe('');
    await queue.close();
  });

  it('re-signs an instruction that expired while kept: same jti and request hash, fresh exp', async () => {
    const path = join(directory, 'q.jsonl');
    const { client } = scripted((jti) => accepted(jti));
    const old = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key,
      op: 'issue',
      fields: { member: 'ann', amount: '5' },
      jti: 'old',
      now: new Date(Date.now() - 3600_000),
    });
    let submitted: string[] = [];
    const queue = await OfflineQueue.open(path, {
      ...client,
      submitBatch: async (jwsList) => {
        submitted = [...jwsList];
        return client.submitBatch(jwsList);
      },
    });
    await queue.enqueue(old.jws);
    await queue.drain();
    const sentClaims = decodeJwt(submitted[0]!);
    expect(sentClaims.jti).toBe('old');
    expect(sentClaims.exp).toBeGreaterThan(Date.now() / 1000);
    expect(requestHash(sentClaims as Record<string, unknown>)).toBe(old.requestHash);
    await queue.close();
  });

  it('refuses a batch size above the hub limit', async () => {
    await expect(OfflineQueue.open(join(directory, 'q.jsonl'), scripted(() => 'unreachable').client, { batchSize: 501 })).rejects.toThrow(
      RangeError,
    );
  });
});
