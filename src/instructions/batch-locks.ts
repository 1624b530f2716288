import { randomInt } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { ClaimsOf } from '../common/claims';
import type { Op } from '@coalition-hub/partner-sdk';
import { lockCounterShard, lockFloored } from '../ledger/kernel';

/** The member references an instruction names directly (holds and entries are named by id, and not listed). */
function memberRefsOf(claims: ClaimsOf<Op>): string[] {
  const refs: string[] = [];
  if ('member' in claims && typeof claims.member === 'string') refs.push(claims.member);
  if ('to' in claims && typeof claims.to === 'string') refs.push(claims.to);
  return refs;
}

/**
 * Locks, in the global lock order (wallets by ascending account id, see lockFloored), the CP
 * wallets of every member a batch names, before any of its instructions runs. Two batches over
 * the same members then wait for each other at this one statement instead of each locking half of
 * them and deadlocking (docs/batches.md). A reference not enrolled (yet) has no wallet to lock.
 */
export async function lockBatchWallets(
  tx: EntityManager,
  items: ReadonlyArray<{ partnerId: string; claims: ClaimsOf<Op> }>,
): Promise<void> {
  const refsByPartner = new Map<string, Set<string>>();
  for (const item of items) {
    const refs = refsByPartner.get(item.partnerId) ?? new Set<string>();
    for (const ref of memberRefsOf(item.claims)) refs.add(ref);
    refsByPartner.set(item.partnerId, refs);
  }
  const partners = [...refsByPartner].filter(([, refs]) => refs.size > 0);
  if (partners.length === 0) return;
  const rows: Array<{ id: string }> = await tx.query(
    `SELECT w.id FROM jsonb_to_recordset($1::jsonb) AS wanted(partner_id text, member_ref text)
     JOIN member_link l ON l.partner_id = wanted.partner_id AND l.member_ref = wanted.member_ref
     JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'`,
    [JSON.stringify(partners.flatMap(([partnerId, refs]) => [...refs].map((ref) => ({ partner_id: partnerId, member_ref: ref }))))],
  );
  await lockFloored(
    tx,
    rows.map((row) => String(row.id)),
  );
}

/**
 * A batch books every counter posting on one shard, chosen at random per batch, and locks that
 * shard's row of the issuance and redemption counters its CP issues and redemptions move, in
 * account order, after the wallets (the global lock order): two batches that chose the same shard
 * wait for each other here instead of deadlocking, and two that chose different shards do not
 * wait at all (docs/batches.md). Rows a shard has not used yet are made first, at zero.
 */
export async function lockBatchCounters(
  tx: EntityManager,
  items: ReadonlyArray<{ partnerId: string; claims: ClaimsOf<Op> }>,
  counterShards: number,
): Promise<void> {
  const shard = randomInt(counterShards);
  const wanted = new Map<string, { owner: string; kind: string }>();
  for (const { partnerId, claims } of items) {
    if (claims.op !== 'issue' && claims.op !== 'redeem') continue;
    const kind = claims.op === 'issue' ? 'issuance' : 'redemption';
    wanted.set(`${partnerId}\u0000${kind}`, { owner: partnerId, kind });
  }
  await lockCounterShard(tx, [...wanted.values()], shard);
}
