import { hashEmail, verifyStatement, type StatementDocument } from '@coalition-hub/partner-sdk';
import { decodeJwt, type JWK } from 'jose';
import { expectNothingWritten } from './support/ledger-snapshot';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Settlement: worked example 1 of docs/settlement.md, asserted exactly — positions,
 * obligations, hub revenue, liability change and transfers — then the period's statements,
 * signed by the hub and checked with the partner SDK, and its reconciliation.
 */
let hub: TestHub;
let alfa: TestPartner;
let bravo: TestPartner;
let charlie: TestPartner;

const RESULT = '__typename ... on ErrorResult { errorCode message }';
const FIGURE = 'lines points moneyMinor';
const PERIOD_FIELDS = `id status startsAt endsAt cutoffAt closedAt closedBy
  summary { currency entries spreadMinor breakageKeptMinor adjustmentsMinor revenueMinor fundedCreatedMinor fundedReleasedMinor liabilityChangeMinor grossMinor netMinor nettingEfficiency }
  positions(first: 5) { edges { node { partnerId netMinor issued { ${FIGURE} } exchangedIn { ${FIGURE} } redeemed { ${FIGURE} } exchangedOut { ${FIGURE} }
    issueReversals { ${FIGURE} } redeemReversals { ${FIGURE} } breakage { ${FIGURE} } adjustments { ${FIGURE} } } } }
  obligations(first: 10) { edges { node { issuer consumer points fundedMinor } } }
  transfers(first: 10) { edges { node { position payer payee amountMinor } } }`;
const CLOSE = `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { ${RESULT} ... on SettlementPeriod { ${PERIOD_FIELDS} } } }`;
const CURRENT = '{ currentSettlementPeriod { id status startsAt endsAt } }';
const STATEMENTS = `query($period: ID) { statements(periodId: $period, first: 3) { edges { node {
  id periodId partnerId currency lineCount netMinor digest jws status document(format: JSON) } } } }`;

async function setPrices(partner: TestPartner, issuePrice: string, redeemPrice: string): Promise<void> {
  const set = await hub.graphql(
    `mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { __typename } }`,
    { id: partner.id, input: { issuePrice, redeemPrice } },
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
}

async function ok<T extends { ok: boolean }>(outcome: Promise<T>): Promise<T> {
  const result = await outcome;
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result;
}

async function enrollEverywhere(ref: string): Promise<void> {
  for (const partner of [alfa, bravo, charlie])
    await ok(partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) }));
}

const byPartner = (period: any) => Object.fromEntries(period.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));

beforeAll(async () => {
  hub = await TestHub.start();
  alfa = await hub.registerPartner('ALFA');
  bravo = await hub.registerPartner('BRAVO', 'ES256');
  charlie = await hub.registerPartner('CHARLIE');
  // Prices per CP in euro cents (docs/settlement.md, worked example 1): A issues at 1.0, redeems at 0.8; B 1.2 / 0.9; C 1.0 / 1.0.
  await setPrices(alfa, '1.0', '0.8');
  await setPrices(bravo, '1.2', '0.9');
  await setPrices(charlie, '1.0', '1.0');
});

afterAll(() => hub.stop());

describe('the three-partner worked example (A owes 760, B 600; C is owed 900)', () => {
  let period: any;

  beforeAll(async () => {
    await enrollEverywhere('m1');
    await enrollEverywhere('m2');
    const { id } = (await hub.asStaff(CURRENT)).currentSettlementPeriod;
    await ok(alfa.client.issuePoints({ member: 'm1', amount: '1000' })); // (1)
    hub.clock.advance(1000); // lots are consumed first-expiring-first-out, ties by issue time
    await ok(bravo.client.issuePoints({ member: 'm1', amount: '500' })); // (2)
    await ok(charlie.client.redeemPoints({ member: 'm1', amount: '1200' })); // (3)
    await ok(charlie.client.issuePoints({ member: 'm2', amount: '300' })); // (4)
    await ok(alfa.client.redeemPoints({ member: 'm2', amount: '300' })); // (5)
    const closed = (await hub.asStaff(CLOSE, { id })).result;
    expect(closed.__typename).toBe('SettlementPeriod');
    period = closed;
  });

  it('closes the period and opens the next', async () => {
    expect(period.status).toBe('closed');
    expect(period.closedBy).toBe('finance:test-operator');
    const next = (await hub.asStaff(CURRENT)).currentSettlementPeriod;
    expect(next.id).not.toBe(period.id);
    expect(next.status).toBe('open');
    expect(new Date(next.startsAt).getTime()).toBe(new Date(period.cutoffAt).getTime());
  });

  it('gives each partner its net position: A 760, B 600, C −900', () => {
    const positions = byPartner(period);
    expect(positions.ALFA).toMatchObject({
      netMinor: '760',
      issued: { lines: 1, points: '1000', moneyMinor: '1000' },
      redeemed: { lines: 1, points: '300', moneyMinor: '-240' },
    });
    expect(positions.BRAVO).toMatchObject({
      netMinor: '600',
      issued: { lines: 1, points: '500', moneyMinor: '600' },
      redeemed: { lines: 0 },
    });
    expect(positions.CHARLIE).toMatchObject({
      netMinor: '-900',
      issued: { lines: 1, points: '300', moneyMinor: '300' },
      redeemed: { lines: 1, points: '1200', moneyMinor: '-1200' },
    });
  });

  it('records the obligations A→C 1,000, B→C 200, C→A 300', () => {
    expect(period.obligations.edges.map((edge: any) => edge.node)).toEqual([
      { issuer: 'ALFA', consumer: 'CHARLIE', points: '1000', fundedMinor: '1000' },
      { issuer: 'BRAVO', consumer: 'CHARLIE', points: '200', fundedMinor: '240' },
      { issuer: 'CHARLIE', consumer: 'ALFA', points: '300', fundedMinor: '300' },
    ]);
  });

  it('shows the bilateral view: each pair, what each owes the other in funded value, and the net', async () => {
    const { settlementPeriod } = await hub.asStaff(
      'query($id: ID!) { settlementPeriod(id: $id) { bilateral(first: 10) { edges { node { partyA partyB aToBMinor bToAMinor netMinor } } } } }',
      { id: period.id },
    );
    expect(settlementPeriod.bilateral.edges.map((edge: any) => edge.node)).toEqual([
      { partyA: 'ALFA', partyB: 'CHARLIE', aToBMinor: '1000', bToAMinor: '300', netMinor: '700' },
      { partyA: 'BRAVO', partyB: 'CHARLIE', aToBMinor: '240', bToAMinor: '0', netMinor: '240' },
    ]);
  });

  it('realises 100 of spread and funds 360 of liability: 760 + 600 − 900 = 460 = 100 + 360', () => {
    expect(period.summary).toMatchObject({
      currency: 'EUR',
      entries: '5',
      spreadMinor: '100',
      breakageKeptMinor: '0',
      revenueMinor: '100',
      fundedCreatedMinor: '1900',
      fundedReleasedMinor: '1540',
      liabilityChangeMinor: '360',
    });
  });

  it('nets into at most participants − 1 transfers that settle every position', () => {
    const transfers = period.transfers.edges.map((edge: any) => edge.node);
    expect(transfers).toEqual([
      { position: 1, payer: 'ALFA', payee: 'CHARLIE', amountMinor: '760' },
      { position: 2, payer: 'BRAVO', payee: 'HUB', amountMinor: '460' },
      { position: 3, payer: 'BRAVO', payee: 'CHARLIE', amountMinor: '140' },
    ]);
    // Gross: every line paid separately (1000 + 240 + 600 + 300 + 1200); net: what the transfers move.
    expect(period.summary).toMatchObject({ grossMinor: '3340', netMinor: '1360' });
    expect(period.summary.nettingEfficiency).toBeCloseTo(1 - 1360 / 3340, 6);
  });

  it('reconciles: the identity holds, statements sum to their lines, the period recomputes identically', async () => {
    const { reconciliation } = await hub.asStaff(
      `query($id: ID!) { reconciliation(periodId: $id) { periodId ok differences checks { name ok detail } } }`,
      {
        id: period.id,
      },
    );
    expect(reconciliation.differences).toEqual([]);
    expect(reconciliation.ok).toBe(true);
    expect(reconciliation.checks.map((check: any) => check.name)).toEqual([
      'net positions = revenue + liability change',
      'recomputes identically',
      'transfers settle every position',
      'statement ALFA',
      'statement BRAVO',
      'statement CHARLIE',
    ]);
  });

  it('closing again changes nothing and returns the same figures', async () => {
    const again = (await hub.asStaff(CLOSE, { id: period.id })).result;
    expect(again).toEqual(period);
  });

  it('signs each statement; the SDK verifies it against the JWKS, and a tampered one fails', async () => {
    const { statements } = await hub.asStaff(STATEMENTS, { period: period.id });
    const jwks = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    expect(statements.edges.map((edge: any) => [edge.node.partnerId, edge.node.netMinor, edge.node.lineCount])).toEqual([
      ['CHARLIE', '-900', '2'],
      ['BRAVO', '600', '1'],
      ['ALFA', '760', '2'],
    ]);
    for (const { node } of statements.edges) {
      const document: StatementDocument = JSON.parse(node.document);
      const claims = await verifyStatement(document, node.jws, { jwks, hubId: HUB_ID, partnerId: node.partnerId });
      expect(claims).toMatchObject({ digest: node.digest, netMinor: node.netMinor, period: period.id });
      const tampered = structuredClone(document);
      tampered.lines[0]!.moneyMinor = String(BigInt(tampered.lines[0]!.moneyMinor) + 1n);
      await expect(verifyStatement(tampered, node.jws, { jwks, hubId: HUB_ID, partnerId: node.partnerId })).rejects.toThrow(/digest/);
      await expect(verifyStatement(document, node.jws, { jwks, hubId: HUB_ID, partnerId: 'SOMEONE_ELSE' })).rejects.toThrow();
    }
    const charlieDoc: StatementDocument = JSON.parse(statements.edges[0].node.document);
    // The same lines, a page at a time.
    const LINES =
      'query($id: ID!, $after: String) { statement(id: $id) { lines(first: 1, after: $after) { edges { node { line kind moneyMinor } } pageInfo { hasNextPage endCursor } } } }';
    const first = (await hub.asStaff(LINES, { id: statements.edges[0].node.id })).statement.lines;
    const second = (await hub.asStaff(LINES, { id: statements.edges[0].node.id, after: first.pageInfo.endCursor })).statement.lines;
    expect([...first.edges, ...second.edges].map((edge: any) => edge.node)).toEqual(
      charlieDoc.lines.map(({ line, kind, moneyMinor }) => ({ line, kind, moneyMinor })),
    );
    expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).toEqual([true, false]);
    expect(charlieDoc.lines.map((line) => [line.line, line.kind, line.points, line.price, line.moneyMinor])).toEqual([
      ['1', 'redeem', '1200', '1', '-1200'],
      ['2', 'issue', '300', '1', '300'],
    ]);
  });

  it('lets a partner read its own statements and no one else’s', async () => {
    const token = await alfa.client.accessToken();
    const own = await hub.graphql('{ statements(first: 10) { edges { node { partnerId netMinor } } } }', {}, token);
    expect(own.data?.statements.edges.map((edge: any) => edge.node.partnerId)).toEqual(['ALFA']);
    const others = await hub.graphql('{ statements(partnerId: "BRAVO", first: 10) { edges { node { id } } } }', {}, token);
    expect(others.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { statements } = await hub.asStaff(STATEMENTS, { period: period.id });
    const bravoId = statements.edges.find((edge: any) => edge.node.partnerId === 'BRAVO').node.id;
    const byId = await hub.graphql('query($id: ID!) { statement(id: $id) { id } }', { id: bravoId }, token);
    expect(byId.data?.statement).toBeNull();
    const period2 = await hub.graphql(CURRENT, {}, token);
    expect(period2.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('never changes a closed period, even from SQL (as the owner: its triggers)', async () => {
    await expect(hub.ownerQuery(`UPDATE settlement_period SET closed_by = 'x' WHERE id = $1`, [period.id])).rejects.toThrow(
      /never changes/,
    );
    await expect(hub.ownerQuery('DELETE FROM settlement_period WHERE id = $1', [period.id])).rejects.toThrow(/never changes/);
    await expect(hub.ownerQuery(`UPDATE statement SET net_minor = 0 WHERE period_id = $1`, [period.id])).rejects.toThrow(/never changes/);
    for (const table of ['settlement_line', 'settlement_total', 'settlement_obligation', 'settlement_transfer', 'settlement_summary']) {
      await expect(hub.ownerQuery(`DELETE FROM ${table} WHERE period_id = $1`, [period.id])).rejects.toThrow();
    }
    await expect(hub.ownerQuery('UPDATE settlement_line SET money_minor = 0 WHERE period_id = $1', [period.id])).rejects.toThrow();
  });
});

describe('acknowledging and disputing statements', () => {
  const STATEMENT_OF = `query($period: ID, $partner: ID) { statements(periodId: $period, partnerId: $partner, first: 1) { edges { node {
    id digest status lineCount acknowledgementJws acknowledgedAt document(format: JSON) } } } }`;
  let periodId: string;

  async function statementOf(partnerId: string) {
    return (await hub.asStaff(STATEMENT_OF, { period: periodId, partner: partnerId })).statements.edges[0].node;
  }

  beforeAll(async () => {
    const { settlementPeriods } = await hub.asStaff('{ settlementPeriods(status: closed, first: 1) { edges { node { id } } } }');
    periodId = settlementPeriods.edges[0].node.id;
  });

  it('a partner acknowledges its statement by signing the digest it checked; the hub keeps that signature', async () => {
    const statement = await statementOf('ALFA');
    const jwks = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    await verifyStatement(
      JSON.parse(statement.document),
      (await hub.asStaff(`query($id: ID!) { statement(id: $id) { jws } }`, { id: statement.id })).statement.jws,
      {
        jwks,
        hubId: HUB_ID,
        partnerId: 'ALFA',
      },
    );
    const outcome = await alfa.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest }, { jti: 'ack-1' });
    expect(outcome).toMatchObject({
      ok: true,
      data: { statementId: statement.id, digest: statement.digest, status: 'acknowledged', replayed: false },
    });
    const after = await statementOf('ALFA');
    expect(after.status).toBe('acknowledged');
    const stored = decodeJwt(after.acknowledgementJws);
    expect(stored).toMatchObject({ iss: 'ALFA', op: 'acknowledge', statement: statement.id, digest: statement.digest, jti: 'ack-1' });
    // The same jti again: the original receipt. A new one: the statement is no longer open to it.
    expect(await alfa.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest }, { jti: 'ack-1' })).toMatchObject({
      ok: true,
      data: { replayed: true },
    });
    expect(await alfa.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest })).toMatchObject({
      ok: false,
      errorCode: 'STATEMENT_STATUS_CONFLICT',
    });
  });

  it('refuses a digest that is not the statement’s, and another partner’s statement, changing nothing', async () => {
    const statement = await statementOf('BRAVO');
    expect(await bravo.client.acknowledgeStatement({ statement: statement.id, digest: '0'.repeat(64) })).toMatchObject({
      ok: false,
      errorCode: 'STATEMENT_DIGEST_MISMATCH',
    });
    expect(await charlie.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest })).toMatchObject({
      ok: false,
      errorCode: 'STATEMENT_NOT_FOUND',
    });
    expect(
      await charlie.client.disputeStatement({ statement: statement.id, digest: statement.digest, lines: [1], reason: 'not mine' }),
    ).toMatchObject({
      ok: false,
      errorCode: 'STATEMENT_NOT_FOUND',
    });
    expect((await statementOf('BRAVO')).status).toBe('issued');
  });

  it('a partner disputes lines; finance resolves with an adjustment that lands in the open period and settles there', async () => {
    const statement = await statementOf('BRAVO');
    expect(
      await bravo.client.disputeStatement({ statement: statement.id, digest: statement.digest, lines: [2], reason: 'no such line' }),
    ).toMatchObject({
      ok: false,
      errorCode: 'INVALID_INSTRUCTION',
    });
    const disputed = await bravo.client.disputeStatement({
      statement: statement.id,
      digest: statement.digest,
      lines: ['1'],
      reason: 'price should be 1.1',
    });
    expect(disputed).toMatchObject({ ok: true, data: { statementId: statement.id, lines: ['1'], status: 'disputed' } });
    const disputeId = disputed.ok ? (disputed.data as { disputeId: string }).disputeId : '';
    expect((await statementOf('BRAVO')).status).toBe('disputed');
    expect(await bravo.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest })).toMatchObject({
      ok: false,
      errorCode: 'STATEMENT_STATUS_CONFLICT',
    });

    const RESOLVE = `mutation($id: ID!, $adj: Amount!, $note: String!) { resolveDispute(disputeId: $id, adjustmentMinor: $adj, note: $note) {
      __typename ... on ErrorResult { errorCode } ... on StatementDispute { id status resolvedBy resolutionNote adjustmentEntryId lines } } }`;
    const asPartner = await hub.graphql(RESOLVE, { id: disputeId, adj: '-50', note: 'agreed' }, await bravo.client.accessToken());
    expect(asPartner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const resolved = (await hub.asStaff(RESOLVE, { id: disputeId, adj: '-50', note: 'agreed: 500 CP at 1.1' })).resolveDispute;
    expect(resolved).toMatchObject({
      __typename: 'StatementDispute',
      status: 'resolved',
      resolvedBy: 'finance:test-operator',
      lines: ['1'],
    });
    const again = await expectNothingWritten(hub, () => hub.asStaff(RESOLVE, { id: disputeId, adj: '-50', note: 'again' }));
    expect(again.resolveDispute).toEqual({
      __typename: 'DisputeAlreadyResolved',
      errorCode: 'DISPUTE_ALREADY_RESOLVED',
    });
    const unknown = await expectNothingWritten(hub, () =>
      hub.asStaff(RESOLVE, { id: '00000000-0000-4000-8000-000000000000', adj: '1', note: 'x' }),
    );
    expect(unknown.resolveDispute.errorCode).toBe('DISPUTE_NOT_FOUND');
    expect((await statementOf('BRAVO')).status).toBe('resolved');
    const own = await hub.graphql(
      '{ disputes(first: 5) { edges { node { id status adjustmentEntryId } } } }',
      {},
      await bravo.client.accessToken(),
    );
    expect(own.data?.disputes.edges.map((edge: any) => edge.node)).toEqual([
      { id: disputeId, status: 'resolved', adjustmentEntryId: resolved.adjustmentEntryId },
    ]);
    const others = await hub.graphql('{ disputes(first: 5) { edges { node { id } } } }', {}, await charlie.client.accessToken());
    expect(others.data?.disputes.edges).toEqual([]);

    // The adjustment is in the open period: closing it puts it on BRAVO's next statement, referencing the dispute.
    const { id: openId } = (await hub.asStaff(CURRENT)).currentSettlementPeriod;
    const [entry] = await hub.hub.dataSource.query('SELECT period_id::text, type, dispute_id FROM journal_entry WHERE id = $1', [
      resolved.adjustmentEntryId,
    ]);
    expect(entry).toEqual({ period_id: openId, type: 'adjustment', dispute_id: disputeId });
    const next = (await hub.asStaff(CLOSE, { id: openId })).result;
    expect(byPartner(next).BRAVO).toMatchObject({ netMinor: '-50', adjustments: { lines: 1, points: '0', moneyMinor: '-50' } });
    expect(next.summary).toMatchObject({ adjustmentsMinor: '-50', revenueMinor: '-50' });
    expect(next.transfers.edges.map((edge: any) => edge.node)).toEqual([{ position: 1, payer: 'HUB', payee: 'BRAVO', amountMinor: '50' }]);
    const line = JSON.parse((await hub.asStaff(STATEMENT_OF, { period: openId, partner: 'BRAVO' })).statements.edges[0].node.document)
      .lines[0];
    expect(line).toMatchObject({ kind: 'adjustment', moneyMinor: '-50', reference: disputeId });
    const { reconciliation } = await hub.asStaff(`query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`, { id: openId });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
  });
});

describe('malformed ids and cursors', () => {
  it('get a typed answer or BAD_USER_INPUT, never an internal error', async () => {
    const finance = await hub.operatorToken('finance');
    const partner = await alfa.client.accessToken();
    const dashes = '-'.repeat(36);
    const cursor = (key: string) => Buffer.from(`v1:${key}`).toString('base64url');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['query($id: ID!) { statement(id: $id) { id } }', { id: dashes }, partner],
      ['query($id: ID!) { disputes(statementId: $id, first: 1) { edges { cursor } } }', { id: dashes }, partner],
      [
        'query($a: String) { disputes(first: 1, after: $a) { edges { cursor } } }',
        { a: cursor(`2024-13-45 99:00:00+00|${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`) },
        partner,
      ],
      ['query($p: ID) { statements(periodId: $p, first: 1) { edges { cursor } } }', { p: 'abc' }, partner],
      ['query($id: ID!) { settlementPeriod(id: $id) { id } }', { id: '1e99' }, finance],
      ['query($id: ID!) { reconciliation(periodId: $id) { ok } }', { id: "1'; drop table statement" }, finance],
      [
        'query($a: String) { settlementPeriods(first: 1, after: $a) { edges { node { transfers(first: 1, after: $a) { edges { cursor } } } } } }',
        { a: cursor('99999999999') },
        finance,
      ],
      ['mutation($id: ID!) { resolveDispute(disputeId: $id, adjustmentMinor: "1", note: "x") { __typename } }', { id: dashes }, finance],
      ['query($m: ID) { balancesAsOf(at: "2026-01-01T00:00:00Z", memberId: $m) { balance } }', { m: dashes }, finance],
    ];
    for (const [query, variables, token] of cases) {
      const response = await hub.graphql(query, variables, token);
      const codes = (response.errors ?? []).map((error) => error.extensions?.code);
      expect({ query, codes }).toEqual({ query, codes: codes.filter((code) => code !== 'INTERNAL_SERVER_ERROR') });
    }
  });
});

it('prices the fields that recompute a period: a page of 100 whole statements is refused before anything runs', async () => {
  const response = await hub.graphql('{ statements(first: 100) { edges { node { document } } } }', {}, await alfa.client.accessToken());
  expect(response.status).toBe(400);
  expect(response.errors?.[0]?.message).toMatch(/cost .* exceeds/);
  const aliased = await hub.graphql(
    `{ ${Array.from({ length: 5 }, (_, index) => `r${index}: reconciliation(periodId: "1") { ok }`).join(' ')} }`,
    {},
    await hub.operatorToken('finance'),
  );
  expect(aliased.status).toBe(400);
});
