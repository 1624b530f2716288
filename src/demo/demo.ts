import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import {
  generatePartnerKey,
  hashEmail,
  type PartnerKey,
  PartnerClient,
  signAccessToken,
  signInstruction,
  type Outcome,
  type PartnerAlgorithm,
} from '@coalition-hub/partner-sdk';
import type { Hub } from '../app';
import type { Config } from '../config/config';

/**
 * The demo coalition: three partners with different keys and algorithms, a few members, and a
 * scenario played through the partner SDK exactly as a partner's own systems would.
 */
export interface DemoOperator {
  config: Config;
  key: { kid: string; alg: 'EdDSA'; privateKey: CryptoKey };
}

/** A throw-away operator key for this run, added to the configured ones. */
export async function prepareDemoOperator(config: Config): Promise<DemoOperator> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `demo-operator-${Date.now().toString(36)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' };
  return {
    config: { ...config, operatorJwks: { keys: [...config.operatorJwks.keys, jwk] } },
    key: { kid, alg: 'EdDSA', privateKey },
  };
}

const line = (text = '') => console.log(text);
const step = (n: number, text: string) => line(`\n${n}. ${text}`);

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `refused: ${outcome.typename} (${outcome.errorCode}) — ${outcome.message}`;
  const data = outcome.data as unknown as Record<string, unknown>;
  const parts = [`accepted${data.replayed ? ' (replay: original receipt returned, nothing changed)' : ''}`];
  if ('amount' in data) parts.push(`amount ${String(data.amount)} CP`, `balance now ${String(data.balance)} CP`);
  if ('linkedExisting' in data) parts.push(data.linkedExisting ? 'linked to an existing member' : 'new member');
  if (Array.isArray(data.consumed)) parts.push(`points from ${data.consumed.map((c: { issuerPartnerId: string; amount: string }) => `${c.issuerPartnerId} ${c.amount}`).join(' + ')}`);
  parts.push(data.entryId ? `receipt verified (entry ${String(data.entryId).slice(0, 8)})` : 'receipt verified');
  return parts.join('; ');
}

export async function runDemo(hub: Hub, config: Config, operator: DemoOperator): Promise<void> {
  const operatorToken = await signAccessToken({ issuer: config.operatorIssuer, subject: 'demo', scope: 'operator', audience: config.hubId, key: operator.key, lifetimeSeconds: 3600 });
  const graphql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const response = await fetch(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  // Partner ids must be new in this database; a reused external database gets a run suffix.
  const existing = await hub.dataSource.query('SELECT count(*)::int AS n FROM partner');
  const suffix = existing[0].n > 0 ? `_${Date.now().toString(36).toUpperCase().slice(-4)}` : '';

  line('\n=== Coalition Hub demo ===');
  step(1, 'The operator registers three partners, each with its own key:');
  const partners: Record<string, PartnerClient> = {};
  const keys: Record<string, PartnerKey> = {};
  const plan: Array<[string, string, PartnerAlgorithm]> = [
    ['ACME', 'Acme Groceries', 'EdDSA'],
    ['BOLT', 'Bolt Fuel', 'ES256'],
    ['CAFE', 'Cafe Corner', 'EdDSA'],
  ];
  for (const [code, name, alg] of plan) {
    const id = `${code}${suffix}`;
    const key = await generatePartnerKey(alg);
    const result = await graphql(
      'mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename ... on ErrorResult { message } } }',
      { input: { id, name, publicJwks: [key.publicJwk], canLinkMembers: true } },
      operatorToken,
    );
    if (result.data?.registerPartner?.__typename !== 'Partner') throw new Error(`demo: could not register ${id}: ${JSON.stringify(result)}`);
    keys[code] = key;
    partners[code] = new PartnerClient({ baseUrl: hub.url, hubId: config.hubId, partnerId: id, key });
    line(`   ${id.padEnd(10)} ${name.padEnd(15)} signs with ${alg} key ${key.kid}`);
  }
  const [acme, bolt, cafe] = [partners.ACME!, partners.BOLT!, partners.CAFE!];
  const aliceEmail = hashEmail('alice@example.com');

  step(2, 'Partners enroll their customers (same verified e-mail → one coalition member):');
  line(`   ACME enrolls alice-1:  ${describe(await acme.enrollMember({ member: 'alice-1', emailHash: aliceEmail }))}`);
  line(`   BOLT enrolls A-77:     ${describe(await bolt.enrollMember({ member: 'A-77', emailHash: aliceEmail }))}`);
  line(`   CAFE enrolls c-alice:  ${describe(await cafe.enrollMember({ member: 'c-alice', emailHash: aliceEmail }))}`);
  line(`   CAFE enrolls c-bob:    ${describe(await cafe.enrollMember({ member: 'c-bob', emailHash: hashEmail('bob@example.com') }))}`);

  step(3, 'Alice earns at two partners:');
  line(`   ACME issues 1000:      ${describe(await acme.issuePoints({ member: 'alice-1', amount: '1000', orderRef: 'acme-order-1' }))}`);
  line(`   BOLT issues 500:       ${describe(await bolt.issuePoints({ member: 'A-77', amount: '500', orderRef: 'bolt-fill-9' }))}`);

  step(4, 'Alice spends 1200 at a third partner (oldest-expiring points first):');
  const redeem = await signInstruction({ partnerId: cafe.partnerId, hubId: config.hubId, key: keys.CAFE!, op: 'redeem', fields: { member: 'c-alice', amount: '1200', orderRef: 'cafe-till-3' } });
  line(`   CAFE redeems 1200:     ${describe(await cafe.submitSigned('redeem', redeem.jws))}`);

  step(5, 'The network hiccups and CAFE resends the very same signed request:');
  line(`   CAFE resends:          ${describe(await cafe.submitSigned('redeem', redeem.jws))}`);

  step(6, 'CAFE reuses that jti for a different amount:');
  line(`   CAFE, same jti, 50:    ${describe(await cafe.redeemPoints({ member: 'c-alice', amount: '50' }, { jti: redeem.jti }))}`);

  step(7, 'A fraudster forges an ACME issue with a key of their own (same kid):');
  const forgerKey = await generatePartnerKey('EdDSA', keys.ACME!.kid);
  const forger = new PartnerClient({ baseUrl: hub.url, hubId: config.hubId, partnerId: acme.partnerId, key: forgerKey });
  line(`   forged issue 1000000:  ${describe(await forger.issuePoints({ member: 'alice-1', amount: '1000000' }))}`);

  step(8, 'Alice tries to spend more than she has:');
  line(`   ACME redeems 5000:     ${describe(await acme.redeemPoints({ member: 'alice-1', amount: '5000' }))}`);

  step(9, "Alice's combined balance, as her app shows it (member token signed by ACME):");
  const me = await graphql('{ me { balance lots { edges { node { issuerPartnerId remaining expiresAt } } } history { edges { node { type partnerId } } } } }', {}, await acme.memberToken('alice-1'));
  line(`   balance ${me.data?.me?.balance} CP; lots: ${me.data?.me?.lots.edges.map((e: any) => `${e.node.remaining} from ${e.node.issuerPartnerId} (expires ${String(e.node.expiresAt).slice(0, 10)})`).join(', ')}`);
  line(`   history: ${me.data?.me?.history.edges.map((e: any) => `${e.node.type}@${e.node.partnerId}`).join(', ')}`);

  step(10, 'Finance checks the ledger invariants:');
  const integrity = await graphql('{ ledgerIntegrity { ok entriesChecked accountsChecked differences { check } } }', {}, operatorToken);
  const report = integrity.data?.ledgerIntegrity;
  line(`   ledgerIntegrity: ${report?.ok ? 'OK' : 'DIFFERENCES FOUND'} (${report?.entriesChecked} entries, ${report?.accountsChecked} accounts)`);

  line('\nTry it yourself — an operator token valid for one hour:');
  line(`   curl -s ${hub.url}/graphql -H 'content-type: application/json' \\\n     -H 'authorization: Bearer ${operatorToken}' \\\n     -d '{"query":"{ partners { edges { node { id name status } } } }"}'`);
}
