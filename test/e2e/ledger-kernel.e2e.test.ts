import type { DataSource, EntityManager } from 'typeorm';
import { AssertionError } from '../../src/common/assert';
import { newId } from '../../src/common/ids';
import { createDataSource } from '../../src/db/data-source';
import { withTransaction } from '../../src/db/with-transaction';
import { placeHold, postEntry, type PostEntryInput } from '../../src/ledger/kernel';
import { databaseUrl, testServerUrl } from '../helpers/database';
import { TestHub } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * The ledger kernel refuses, on its own, what no operation may write: postings that do not
 * balance, lot moves that do not match the postings (both bugs: assertions), and a debit beyond
 * what the member can spend (an InsufficientBalance result; the transaction rolls back).
 */
let hub: TestHub;
let dataSource: DataSource;
let walletId: string;
let redemptionId: string;

beforeAll(async () => {
  hub = await TestHub.start();
  const acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'm1' });
  const issued = await acme.client.issuePoints({ member: 'm1', amount: '100' });
  if (!issued.ok) throw new Error('issue failed');
  dataSource = createDataSource(databaseUrl(testServerUrl(), hub.databaseName), 2);
  await dataSource.initialize();
  const accounts: Array<{ id: string; kind: string }> = await dataSource.query(
    `SELECT id, kind FROM account WHERE (kind = 'wallet' AND asset = 'CP') OR (owner_id = 'ACME' AND kind = 'redemption')`,
  );
  walletId = accounts.find((row) => row.kind === 'wallet')!.id;
  redemptionId = accounts.find((row) => row.kind === 'redemption')!.id;
});

afterAll(async () => {
  await dataSource.destroy();
  await hub.stop();
});

/** A redemption entry of `amount` from the member's wallet, with its instruction row (an entry's jti names one). */
async function redemption(tx: EntityManager, amount: bigint, overrides: Partial<PostEntryInput> = {}) {
  const jti = newId();
  await tx.query(
    `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', $1, 'redeem', 'k', 'h', 'x')`,
    [jti],
  );
  const memberId: string = (await tx.query('SELECT owner_id FROM account WHERE id = $1', [walletId]))[0].owner_id;
  return postEntry(tx, {
    id: newId(),
    type: 'redeem',
    partnerId: 'ACME',
    jti,
    memberId,
    orderRef: null,
    occurredAt: hub.clock.now(),
    recordedAt: hub.clock.now(),
    requestHash: 'h',
    postings: [
      { accountId: walletId, asset: 'CP', amount: -amount, floored: true },
      { accountId: redemptionId, asset: 'CP', amount, floored: false },
    ],
    lots: { consume: { accountId: walletId, amount, consumerPartnerId: 'ACME', reason: 'redeem' } },
    counterShards: 1,
    ...overrides,
  });
}

describe('postEntry', () => {
  it('refuses postings that do not balance, and writes nothing', async () => {
    await expectNothingWritten(hub, async () => {
      const posting = withTransaction(dataSource, (tx) =>
        redemption(tx, 10n, {
          postings: [
            { accountId: walletId, asset: 'CP', amount: -10n, floored: true },
            { accountId: redemptionId, asset: 'CP', amount: 9n, floored: false },
          ],
        }),
      );
      await expect(posting).rejects.toThrow(AssertionError);
      await expect(posting).rejects.toThrow(/does not balance/);
    });
  });

  it('refuses lot moves that do not match the postings, and writes nothing', async () => {
    await expectNothingWritten(hub, async () => {
      const posting = withTransaction(dataSource, (tx) =>
        redemption(tx, 10n, { lots: { consume: { accountId: walletId, amount: 7n, consumerPartnerId: 'ACME', reason: 'redeem' } } }),
      );
      await expect(posting).rejects.toThrow(/lot moves do not match the postings/);
    });
  });

  it('refuses to debit more points than the wallet has: InsufficientBalance, and nothing written', async () => {
    await expectNothingWritten(hub, async () => {
      const result = await withTransaction(dataSource, (tx) => redemption(tx, 101n));
      expect(result).toMatchObject({ code: 'INSUFFICIENT_BALANCE', details: { available: '100', requested: '101', asset: 'CP' } });
    });
  });

  it('refuses to spend points on hold: InsufficientBalance, and the hold stays', async () => {
    await expectNothingWritten(hub, async () => {
      const result = await withTransaction(dataSource, async (tx) => {
        const memberId: string = (await tx.query('SELECT owner_id FROM account WHERE id = $1', [walletId]))[0].owner_id;
        const jti = newId();
        await tx.query(
          `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', $1, 'authorize', 'k', 'h', 'x')`,
          [jti],
        );
        const left = await placeHold(tx, {
          id: newId(),
          partnerId: 'ACME',
          jti,
          memberId,
          walletId,
          amount: 60n,
          orderRef: null,
          createdAt: hub.clock.now(),
          expiresAt: new Date(hub.clock.now().getTime() + 600_000),
        });
        expect(left).toBe(40n);
        // The lots hold 100 and the balance is 100, so only the spendable check can refuse 50.
        return redemption(tx, 50n);
      });
      expect(result).toMatchObject({ code: 'INSUFFICIENT_BALANCE', details: { available: '40', requested: '50', asset: 'CP' } });
    });
  });

  it('refuses a hold larger than what can be spent', async () => {
    await expectNothingWritten(hub, async () => {
      const result = await withTransaction(dataSource, async (tx) => {
        const memberId: string = (await tx.query('SELECT owner_id FROM account WHERE id = $1', [walletId]))[0].owner_id;
        const jti = newId();
        await tx.query(
          `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', $1, 'authorize', 'k', 'h', 'x')`,
          [jti],
        );
        return placeHold(tx, {
          id: newId(),
          partnerId: 'ACME',
          jti,
          memberId,
          walletId,
          amount: 101n,
          orderRef: null,
          createdAt: hub.clock.now(),
          expiresAt: new Date(hub.clock.now().getTime() + 600_000),
        });
      });
      expect(result).toMatchObject({ code: 'INSUFFICIENT_BALANCE', details: { available: '100', requested: '101' } });
    });
  });

  it('posts a valid redemption: the new balance, the lots taken, FIFO', async () => {
    const posted = await withTransaction(dataSource, (tx) => redemption(tx, 30n));
    expect(posted).toMatchObject({
      balances: new Map([[walletId, 70n]]),
      takes: [expect.objectContaining({ issuerPartnerId: 'ACME', amount: 30n })],
    });
  });
});
