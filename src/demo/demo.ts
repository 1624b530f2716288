import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import {
  exportPrivateJwk,
  generatePartnerKey,
  hashEmail,
  importPartnerKey,
  type PartnerKey,
  PartnerClient,
  signAccessToken,
  signInstruction,
  verifyStatement,
  type Outcome,
  type StatementDocument,
  type PartnerAlgorithm,
} from '@coalition-hub/partner-sdk';
import type { Hub } from '../app';
import { DemoWebhookReceiver } from './demo-webhooks';
import { showTestClock } from './demo-sandbox';
import { Exact } from '../common/decimal';
import type { Config } from '../config/config';
import { processTime } from '../common/clock';
import { showLoyaltyEngine } from './demo-engine';

/**
 * The demo coalition: three partners with different keys and algorithms, a few members, and a
 * scenario played through the partner SDK exactly as a partner's own systems would.
 */
export interface DemoOperator {
  config: Config;
  key: { kid: string; alg: 'EdDSA'; privateKey: CryptoKey };
  /** The private key's file, in the format `operator new` writes, so `operator token <file>` mints tokens from it. */
  keyFile: string;
}

/** The demo operator's private key lives next to the demo's data, so the demo keeps one operator between runs. */
export function demoOperatorKeyFile(config: Config): string {
  return join(config.dataDir, 'demo-operator-key.json');
}

/** ACME's private key, kept beside the operator's so each run can sign a member's console link (docs/consoles.md). */
export function demoMemberKeyFile(config: Config): string {
  return join(config.dataDir, 'demo-acme-key.json');
}

/** Forgets the demo operator's key and ACME's (`--reset`): the next run makes new ones. */
export function removeDemoOperatorKey(config: Config): void {
  rmSync(demoOperatorKeyFile(config), { force: true });
  rmSync(demoMemberKeyFile(config), { force: true });
}

/** The demo operator's key, made on the first run (mode 0600) and read back after; its public half is added to the configured operator keys. */
export async function prepareDemoOperator(config: Config): Promise<DemoOperator> {
  const keyFile = demoOperatorKeyFile(config);
  if (!existsSync(keyFile)) {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    mkdirSync(config.dataDir, { recursive: true });
    const kid = `demo-operator-${processTime.now().toISOString().slice(0, 10)}`;
    writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }), { mode: 0o600 });
  }
  let jwk: JWK & { kid: string };
  let privateKey: CryptoKey;
  try {
    jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK & { kid: string };
    privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  } catch (error) {
    throw new Error(
      `${keyFile} is not a private Ed25519 JWK (${error instanceof Error ? error.message : String(error)}): remove it, or start over with \`npm start -- --reset\``,
    );
  }
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: 'EdDSA' };
  return {
    config: { ...config, operatorJwks: { keys: [...config.operatorJwks.keys, publicJwk] } },
    key: { kid: jwk.kid, alg: 'EdDSA', privateKey },
    keyFile,
  };
}

// The story is for the person watching, on stderr: stdout carries only JSON log lines (docs/observability.md).
const line = (text = '') => console.error(text);
const step = (n: number, text: string) => line(`\n${n}. ${text}`);

const short = (id: unknown) => String(id).slice(0, 8);

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `refused: ${outcome.typename} (${outcome.errorCode}) — ${outcome.message}`;
  const data = outcome.data as unknown as Record<string, unknown>;
  const unit = typeof data.asset === 'string' ? data.asset : 'CP';
  const parts = [`accepted${data.replayed ? ' (replay: original receipt returned, nothing changed)' : ''}`];
  if ('holdId' in data)
    parts.push(
      `hold ${short(data.holdId)} ${String(data.status)} for ${String(data.amount)} CP`,
      `available now ${String(data.available)} CP`,
    );
  else if ('amount' in data) parts.push(`amount ${String(data.amount)} ${unit}`, `balance now ${String(data.balance)} ${unit}`);
  if ('linkedExisting' in data) parts.push(data.linkedExisting ? 'linked to an existing member' : 'new member');
  if (Array.isArray(data.consumed))
    parts.push(
      `points from ${data.consumed.map((c: { issuerPartnerId: string; amount: string }) => `${c.issuerPartnerId} ${c.amount}`).join(' + ')}`,
    );
  if (data.reversesEntryId) parts.push(`reverses entry ${short(data.reversesEntryId)}`);
  parts.push(data.entryId ? `receipt verified (entry ${short(data.entryId)})` : 'receipt verified');
  return parts.join('; ');
}

/** An operator token of the demo's operator, valid for one hour: for the scenario, the terminal and the explorer. */
export function demoOperatorToken(config: Config, operator: DemoOperator): Promise<string> {
  return signAccessToken({
    issuer: config.operatorIssuer,
    subject: 'demo',
    scope: 'operator',
    audience: config.hubId,
    key: operator.key,
    lifetimeSeconds: 3600,
  });
}

export async function runDemo(hub: Hub, config: Config, operator: DemoOperator): Promise<void> {
  const operatorToken = await demoOperatorToken(config, operator);
  const graphql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const response = await fetch(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  /** A query or mutation that must succeed: the demo stops, loudly, if the hub answers with errors. */
  const must = async (what: string, query: string, variables: Record<string, unknown>, token: string) => {
    const result = await graphql(query, variables, token);
    if (result.errors !== undefined || result.data == null) throw new Error(`demo: ${what} failed: ${JSON.stringify(result)}`);
    return result.data;
  };
  const [{ n: loaded }] = await hub.dataSource.query(`SELECT count(*)::int AS n FROM partner WHERE id IN ('ACME', 'BOLT', 'CAFE')`);
  if (loaded > 0) {
    await showKeptDemo(hub, operatorToken, graphql);
  } else {
    await playScenario(hub, config, operator, graphql, must, operatorToken);
  }
  line(
    `\nTry it yourself — an operator token, valid for one hour (mint another with \`npm run operator -- token ${operator.keyFile}\`, add --finance for a finance token):`,
  );
  line(
    `   curl -s ${hub.url}/graphql -H 'content-type: application/json' \\\n     -H 'authorization: Bearer ${operatorToken}' \\\n     -d '{"query":"{ partners { edges { node { id name status } } } }"}'`,
  );
  line('The demo keeps its data and operator key between runs; `npm start -- --reset` starts over.');
}

async function saveDemoMemberKey(config: Config, key: PartnerKey): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(demoMemberKeyFile(config), JSON.stringify(await exportPrivateJwk(key)), { mode: 0o600 });
}

/**
 * Ready sign-in links for the consoles (docs/consoles.md), minted afresh on each start and valid for
 * one hour: Alice's member token signed by ACME, a finance and an operator token. The token is in the
 * URL fragment, which the browser keeps to itself. A demo kept from before ACME's key was saved gets
 * a new ACME key, registered by the operator.
 */
export async function demoConsoleLinks(hub: Hub, config: Config, operator: DemoOperator): Promise<string[]> {
  const lifetimeSeconds = 3600;
  const staff = (scope: 'operator' | 'finance') =>
    signAccessToken({
      issuer: config.operatorIssuer,
      subject: `demo-${scope}`,
      scope,
      audience: config.hubId,
      key: operator.key,
      lifetimeSeconds,
    });
  const file = demoMemberKeyFile(config);
  let acmeKey: PartnerKey;
  if (existsSync(file)) {
    acmeKey = await importPartnerKey(JSON.parse(readFileSync(file, 'utf8')));
  } else {
    acmeKey = await generatePartnerKey('EdDSA');
    const response = await fetch(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await staff('operator')}` },
      body: JSON.stringify({
        query: 'mutation($jwk: JSONObject!) { addPartnerKey(partnerId: "ACME", publicJwk: $jwk) { __typename } }',
        variables: { jwk: acmeKey.publicJwk },
      }),
    });
    const added = (await response.json()) as { data?: { addPartnerKey?: { __typename: string } } };
    if (added.data?.addPartnerKey?.__typename !== 'Partner')
      throw new Error(`demo: could not add ACME's console key: ${JSON.stringify(added)}`);
    await saveDemoMemberKey(config, acmeKey);
  }
  const member = await signAccessToken({
    issuer: 'ACME',
    subject: 'alice-1',
    scope: 'member',
    audience: config.hubId,
    key: acmeKey,
    lifetimeSeconds,
  });
  return [
    `Consoles (sign-in links valid for one hour, minted at each start; the token after # never reaches a server):`,
    `   Member (Alice, signed by ACME): ${hub.url}/console/member#token=${member}`,
    `   Finance:                        ${hub.url}/console/finance#token=${await staff('finance')}`,
    `   Operator:                       ${hub.url}/console/operator#token=${await staff('operator')}`,
  ];
}

type Graphql = (query: string, variables: Record<string, unknown>, token: string) => Promise<{ data?: any; errors?: unknown[] }>;

/** A later run: the demo coalition from an earlier run is still there; it is described, not played again. */
async function showKeptDemo(hub: Hub, operatorToken: string, graphql: Graphql): Promise<void> {
  const [counts] = await hub.dataSource.query(
    `SELECT (SELECT count(*) FROM partner)::int AS partners, (SELECT count(*) FROM member)::int AS members, (SELECT count(*) FROM journal_entry)::int AS entries`,
  );
  line('\n=== Coalition Hub demo ===');
  line(
    `The demo coalition from an earlier run is still here (${counts.partners} partners, ${counts.members} members, ${counts.entries} journal entries): the scenario is not played again.`,
  );
  const integrity = await graphql('{ ledgerIntegrity { ok entriesChecked } }', {}, operatorToken);
  const report = integrity.data?.ledgerIntegrity;
  line(`ledgerIntegrity: ${report?.ok ? 'OK' : 'DIFFERENCES FOUND'} (${report?.entriesChecked} entries)`);
}

async function playScenario(
  hub: Hub,
  config: Config,
  operator: DemoOperator,
  graphql: Graphql,
  must: Must,
  operatorToken: string,
): Promise<void> {
  line('\n=== Coalition Hub demo ===');
  step(1, 'The operator registers three partners, each with its own key and contract (prices in minor units per CP):');
  const partners: Record<string, PartnerClient> = {};
  const keys: Record<string, PartnerKey> = {};
  // Worked example 1 of docs/settlement.md: what each partner pays per CP it issues, and is paid per CP redeemed with it.
  const plan: Array<[string, string, PartnerAlgorithm, { issuePrice: string; redeemPrice: string }]> = [
    ['ACME', 'Acme Groceries', 'EdDSA', { issuePrice: '1.0', redeemPrice: '0.8' }],
    ['BOLT', 'Bolt Fuel', 'ES256', { issuePrice: '1.2', redeemPrice: '0.9' }],
    ['CAFE', 'Cafe Corner', 'EdDSA', { issuePrice: '1.0', redeemPrice: '1.0' }],
  ];
  for (const [code, name, alg, contract] of plan) {
    const id = code;
    const key = await generatePartnerKey(alg);
    const result = await graphql(
      `
        mutation ($input: RegisterPartnerInput!) {
          registerPartner(input: $input) {
            __typename
            ... on Partner {
              contract {
                currency
                issuePrice
                redeemPrice
              }
            }
            ... on ErrorResult {
              message
            }
          }
        }
      `,
      { input: { id, name, publicJwks: [key.publicJwk], canLinkMembers: true, contract } },
      operatorToken,
    );
    const registered = result.data?.registerPartner;
    if (registered?.__typename !== 'Partner') throw new Error(`demo: could not register ${id}: ${JSON.stringify(result)}`);
    keys[code] = key;
    if (code === 'ACME') await saveDemoMemberKey(config, key);
    partners[code] = new PartnerClient({ baseUrl: hub.url, hubId: config.hubId, partnerId: id, key });
    const terms = registered.contract;
    line(
      `   ${id.padEnd(10)} ${name.padEnd(15)} signs with ${alg.padEnd(5)} key ${key.kid}; pays ${terms.issuePrice} per CP it issues, is paid ${terms.redeemPrice} per CP redeemed (${terms.currency})`,
    );
  }
  const [acme, bolt, cafe] = [partners.ACME!, partners.BOLT!, partners.CAFE!];
  const aliceEmail = hashEmail('alice@example.com');

  step(2, 'ACME and BOLT also run their own programs: the operator names their units and sets exchange rates:');
  const units: Array<[PartnerClient, string, string]> = [
    [acme, 'STARS', '0.333333333333'],
    [bolt, 'MILES', '2.333333333333'],
  ];
  for (const [partner, code, cpPerPoint] of units) {
    const unit = await must(
      'setPartnerUnit',
      'mutation($id: ID!, $code: String!) { setPartnerUnit(partnerId: $id, code: $code) { __typename ... on PartnerUnit { asset } ... on ErrorResult { message } } }',
      { id: partner.partnerId, code },
      operatorToken,
    );
    const rate = await must(
      'setExchangeRate',
      'mutation($id: ID!, $rate: Decimal!) { setExchangeRate(partnerId: $id, cpPerPoint: $rate) { __typename ... on ExchangeRate { asset cpPerPoint } ... on ErrorResult { message } } }',
      { id: partner.partnerId, rate: cpPerPoint },
      operatorToken,
    );
    if (unit.setPartnerUnit.__typename !== 'PartnerUnit' || rate.setExchangeRate.__typename !== 'ExchangeRate')
      throw new Error(`demo: unit ${code}: ${JSON.stringify([unit, rate])}`);
    line(`   ${rate.setExchangeRate.asset.padEnd(16)} 1 point = ${rate.setExchangeRate.cpPerPoint} CP`);
  }
  const stars = `${acme.partnerId}.STARS`;
  const receiver = await DemoWebhookReceiver.start(hub.url);
  const endpointId = await receiver.register(hub.url, acme);
  line(`   ACME registers a webhook endpoint ${receiver.url} for all its events (endpoint ${short(endpointId)}, with an HMAC secret too)`);

  step(3, 'Partners enroll their customers (same verified e-mail → one coalition member):');
  line(`   ACME enrolls alice-1:  ${describe(await acme.enrollMember({ member: 'alice-1', emailHash: aliceEmail }))}`);
  line(`   BOLT enrolls A-77:     ${describe(await bolt.enrollMember({ member: 'A-77', emailHash: aliceEmail }))}`);
  line(`   CAFE enrolls c-alice:  ${describe(await cafe.enrollMember({ member: 'c-alice', emailHash: aliceEmail }))}`);
  line(`   CAFE enrolls c-bob:    ${describe(await cafe.enrollMember({ member: 'c-bob', emailHash: hashEmail('bob@example.com') }))}`);

  step(4, 'Alice earns at two partners:');
  line(`   ACME issues 1000:      ${describe(await acme.issuePoints({ member: 'alice-1', amount: '1000', orderRef: 'acme-order-1' }))}`);
  line(`   BOLT issues 500:       ${describe(await bolt.issuePoints({ member: 'A-77', amount: '500', orderRef: 'bolt-fill-9' }))}`);

  step(5, 'Alice spends 1200 at a third partner (oldest-expiring points first):');
  const redeem = await signInstruction({
    partnerId: cafe.partnerId,
    hubId: config.hubId,
    key: keys.CAFE!,
    op: 'redeem',
    fields: { member: 'c-alice', amount: '1200', orderRef: 'cafe-till-3' },
  });
  line(`   CAFE redeems 1200:     ${describe(await cafe.submitSigned('redeem', redeem.jws))}`);

  step(6, 'The network hiccups and CAFE resends the very same signed request:');
  line(`   CAFE resends:          ${describe(await cafe.submitSigned('redeem', redeem.jws))}`);

  step(7, 'CAFE reuses that jti for a different amount:');
  line(`   CAFE, same jti, 50:    ${describe(await cafe.redeemPoints({ member: 'c-alice', amount: '50' }, { jti: redeem.jti }))}`);

  step(8, 'A fraudster forges an ACME issue with a key of their own (same kid):');
  const forgerKey = await generatePartnerKey('EdDSA', keys.ACME!.kid);
  const forger = new PartnerClient({ baseUrl: hub.url, hubId: config.hubId, partnerId: acme.partnerId, key: forgerKey });
  line(`   forged issue 1000000:  ${describe(await forger.issuePoints({ member: 'alice-1', amount: '1000000' }))}`);

  step(9, 'Alice tries to spend more than she has:');
  line(`   ACME redeems 5000:     ${describe(await acme.redeemPoints({ member: 'alice-1', amount: '5000' }))}`);

  step(10, `ACME gives Alice points of its own program (${stars}):`);
  line(
    `   ACME issues 30 STARS:  ${describe(await acme.issuePoints({ member: 'alice-1', amount: '30', asset: stars, orderRef: 'acme-order-2' }))}`,
  );

  step(11, 'In her app (member token), Alice asks for a quote for her 30 STARS in CP, then takes it:');
  const aliceToken = await acme.memberToken('alice-1');
  const quoted = await must(
    'quoteExchange',
    `query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) {
      __typename ... on ExchangeQuote { quote amountRequested amountIn cpAmount amountOut rateFrom rateTo rounding residualCp expiresAt } ... on ErrorResult { message } } }`,
    { from: stars, to: 'CP', amount: '30' },
    aliceToken,
  );
  const offer = quoted.quoteExchange;
  if (offer.__typename !== 'ExchangeQuote') throw new Error(`demo: no quote: ${JSON.stringify(offer)}`);
  const seconds = Math.round((Date.parse(offer.expiresAt) - processTime.ms()) / 1000);
  const exactCp = new Exact(offer.amountIn).times(offer.rateFrom).toFixed();
  line(
    `   quote:    ${offer.amountIn} STARS × ${offer.rateFrom} = ${exactCp} CP → ${offer.amountOut} CP (${offer.rounding}); hub-signed, valid ${seconds} s`,
  );
  line(
    `             takes ${offer.amountIn} of the ${offer.amountRequested} STARS asked (the rest is not converted); residual ${offer.residualCp} CP, booked to the hub's rounding account`,
  );
  const exchanged = await must(
    'exchangePoints',
    `mutation($quote: String!) { exchangePoints(quote: $quote) {
      __typename ... on ExchangeReceipt { entryId amountIn amountOut residualCp fromBalance toBalance replayed } ... on ErrorResult { errorCode message } } }`,
    { quote: offer.quote },
    aliceToken,
  );
  const done = exchanged.exchangePoints;
  if (done.__typename !== 'ExchangeReceipt') throw new Error(`demo: exchange refused: ${JSON.stringify(done)}`);
  line(
    `   exchange: accepted; ${done.amountIn} STARS → ${done.amountOut} CP; now ${done.fromBalance} STARS and ${done.toBalance} CP (entry ${short(done.entryId)})`,
  );
  const again = (
    await must(
      'exchangePoints',
      'mutation($quote: String!) { exchangePoints(quote: $quote) { __typename ... on ExchangeReceipt { replayed entryId } } }',
      { quote: offer.quote },
      aliceToken,
    )
  ).exchangePoints;
  line(
    `   again:    ${again.replayed && again.entryId === done.entryId ? 'the same quote sent twice returns the same receipt (replayed), nothing changed' : JSON.stringify(again)}`,
  );

  step(12, 'Two-phase redemption at CAFE: hold 100 for a basket, then charge only the 80 it came to:');
  const held = await cafe.authorizeRedemption({ member: 'c-alice', amount: '100', orderRef: 'cafe-basket-4' });
  line(`   CAFE authorizes 100:   ${describe(held)}`);
  if (!held.ok) throw new Error('demo: authorize refused');
  const captured = await cafe.captureRedemption({ hold: held.data.holdId, amount: '80', orderRef: 'cafe-till-4' });
  line(`   CAFE captures 80:      ${describe(captured)}`);
  if (!captured.ok) throw new Error('demo: capture refused');
  const hold = (
    await must('hold', 'query($id: ID!) { hold(id: $id) { status amount captured } }', { id: held.data.holdId }, await cafe.accessToken())
  ).hold;
  const spendable = (await must('me', '{ me { balance available } }', {}, aliceToken)).me;
  line(
    `   ${`hold ${short(held.data.holdId)}:`.padEnd(23)}${hold.status} ${hold.captured} of ${hold.amount}; ${BigInt(hold.amount) - BigInt(hold.captured)} released → balance ${spendable.balance} CP, available ${spendable.available} CP`,
  );

  step(13, 'Alice returns part of that basket: CAFE refunds 30 of the 80 points:');
  line(
    `   CAFE reverses 30:      ${describe(await cafe.reversePoints({ entry: captured.data.entryId, amount: '30', orderRef: 'cafe-refund-4' }))}`,
  );

  step(14, "Alice's combined balance, as her app shows it (member token signed by ACME):");
  const me = (
    await must(
      'me',
      `{ me { balance available combinedBalance { totalCp assets { asset amount cpPerPoint cpValue } }
      lots { edges { node { issuerPartnerId remaining expiresAt } } }
      history { edges { node { partnerId reversesEntryId postings { asset amount account { ownerKind } } } } } } }`,
      {},
      aliceToken,
    )
  ).me;
  line(`   combined: ${me.combinedBalance.totalCp} CP in all (CP balance ${me.balance}, available ${me.available}), by asset:`);
  for (const asset of me.combinedBalance.assets) {
    line(
      `     ${String(asset.asset).padEnd(16)} ${String(asset.amount).padStart(6)} × ${asset.cpPerPoint ?? '?'} = ${asset.cpValue ?? 'no rate'} CP`,
    );
  }
  line(
    `   lots: ${me.lots.edges.map((e: any) => `${e.node.remaining} from ${e.node.issuerPartnerId} (expires ${String(e.node.expiresAt).slice(0, 10)})`).join(', ')}`,
  );
  // Each entry as it moved Alice's own wallets (her legs of its postings), newest first.
  const moves = me.history.edges.map(({ node }: any) => {
    const legs = node.postings
      .filter((p: any) => p.account.ownerKind === 'member')
      .map((p: any) => `${p.amount.startsWith('-') ? '−' + p.amount.slice(1) : '+' + p.amount} ${p.asset}`);
    return `${node.partnerId} ${legs.join(' ')}${node.reversesEntryId ? ' (refund)' : ''}`;
  });
  line(`   history, newest first: ${moves.join(', ')}`);

  step(15, 'Finance checks the ledger invariants:');
  const integrity = await graphql(
    '{ ledgerIntegrity { ok entriesChecked accountsChecked lotsChecked differences { check subject expected actual } } }',
    {},
    operatorToken,
  );
  const report = integrity.data?.ledgerIntegrity;
  line(
    `   ledgerIntegrity: ${report?.ok ? 'OK' : 'DIFFERENCES FOUND'} (${report?.entriesChecked} entries, ${report?.accountsChecked} accounts, ${report?.lotsChecked} lots)`,
  );
  for (const difference of report?.differences ?? [])
    line(`     ${difference.check}: ${difference.subject} expected ${difference.expected}, found ${difference.actual}`);

  await settleTheDay(hub, config, operator, cafe, must);

  step(18, "ACME's webhook receiver got the hub's events, each checked with the SDK's verifyWebhook:");
  await receiver.waitFor(6, 15_000);
  for (const delivery of receiver.deliveries.slice(0, 8)) {
    if (delivery.event)
      line(
        `   ${delivery.event.type.padEnd(18)} webhook-id ${short(delivery.event.id)}  signatures ${delivery.signatures} verified  ${JSON.stringify(delivery.event.data).slice(0, 80)}`,
      );
    else line(`   webhook refused by the receiver: ${delivery.refused}`);
  }
  if (receiver.deliveries.length === 0) line('   (nothing arrived yet: deliveries are retried, see webhookEndpoints { deliveries })');

  // The loyalty engine (docs/loyalty-engine.md): rules and a campaign, a stamp card, a referral, a catalogue reward (steps 19–21).
  await showLoyaltyEngine(must, operatorToken, { acme, bolt, cafe }, 19);

  // Sandbox and test clocks (docs/sandbox.md): the demo runs as a sandbox unless SANDBOX=false or NODE_ENV=production.
  if (config.sandbox) await showTestClock(hub, config, must, operatorToken, 22);
}

type Must = (what: string, query: string, variables: Record<string, unknown>, token: string) => Promise<any>;

/** Step 16: finance closes the period; CAFE checks its signed statement and acknowledges it. */
async function settleTheDay(hub: Hub, config: Config, operator: DemoOperator, cafe: PartnerClient, must: Must): Promise<void> {
  const financeToken = await signAccessToken({
    issuer: config.operatorIssuer,
    subject: 'demo-finance',
    scope: 'finance',
    audience: config.hubId,
    key: operator.key,
    lifetimeSeconds: 3600,
  });
  step(16, 'Finance closes the settlement period: net positions, then who pays whom after multilateral netting:');
  const { currentSettlementPeriod } = await must('current period', '{ currentSettlementPeriod { id } }', {}, financeToken);
  const closed = (
    await must(
      'close',
      `mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename ... on SettlementPeriod { id status
        summary { currency revenueMinor spreadMinor breakageKeptMinor liabilityChangeMinor grossMinor netMinor nettingEfficiency }
        positions(first: 10) { edges { node { partnerId netMinor } } }
        transfers(first: 10) { edges { node { payer payee amountMinor } } } } } }`,
      { id: currentSettlementPeriod.id },
      financeToken,
    )
  ).closeSettlementPeriod;
  const currency = closed.summary.currency;
  for (const { node } of closed.positions.edges) {
    const owes = BigInt(node.netMinor) >= 0n;
    line(
      `   ${String(node.partnerId).padEnd(10)} ${owes ? 'owes the hub' : 'is owed    '} ${String(node.netMinor.replace('-', '')).padStart(8)} ${currency} (minor units)`,
    );
  }
  line(
    `   hub: revenue ${closed.summary.revenueMinor} (spread ${closed.summary.spreadMinor}, breakage ${closed.summary.breakageKeptMinor}) + funded liability ${closed.summary.liabilityChangeMinor} for points still out`,
  );
  for (const { node } of closed.transfers.edges)
    line(`   pay: ${String(node.payer).padEnd(10)} → ${String(node.payee).padEnd(10)} ${node.amountMinor} ${currency}`);
  line(
    `   gross ${closed.summary.grossMinor}, net ${closed.summary.netMinor}: netting saves ${(closed.summary.nettingEfficiency * 100).toFixed(1)}%`,
  );
  const { reconciliation } = await must(
    'reconcile',
    'query($id: ID!) { reconciliation(periodId: $id) { ok differences } }',
    { id: closed.id },
    financeToken,
  );
  line(
    `   reconciliation: ${reconciliation.ok ? 'OK (positions = revenue + liability change; statements = their lines; recomputes identically)' : reconciliation.differences.join('; ')}`,
  );

  step(17, 'CAFE downloads its hub-signed statement, verifies it with the SDK, and acknowledges it with its own signature:');
  const { statements } = await must(
    'statements',
    'query($period: ID) { statements(periodId: $period, first: 1) { edges { node { id digest jws lineCount netMinor document(format: JSON) } } } }',
    { period: closed.id },
    await cafe.accessToken(),
  );
  const statement = statements.edges[0].node;
  const jwks = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: [] };
  const document = JSON.parse(statement.document) as StatementDocument;
  await verifyStatement(document, statement.jws, { jwks, hubId: config.hubId, partnerId: cafe.partnerId });
  line(
    `   statement ${short(statement.id)}: ${statement.lineCount} lines, net ${statement.netMinor} ${currency}, signature and digest ${statement.digest.slice(0, 12)}… verified`,
  );
  for (const entry of document.lines)
    line(
      `     ${entry.line}. ${entry.kind.padEnd(16)} ${entry.points.padStart(6)} CP × ${String(entry.price).padEnd(5)} = ${entry.moneyMinor.padStart(7)}`,
    );
  line(`   CAFE acknowledges: ${describe(await cafe.acknowledgeStatement({ statement: statement.id, digest: statement.digest }))}`);
}
