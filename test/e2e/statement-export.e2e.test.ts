import { hashEmail, verifyStatement, type StatementDocument } from '@coalition-hub/partner-sdk';
import { parse } from 'csv-parse/sync';
import type { JWK } from 'jose';
import { csvColumns } from '../../src/settlement/export';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Statement exports opened in a spreadsheet: a partner's orderRef is text the partner chose, so
 * OWASP's CSV-injection payloads go through the real hub as orderRefs, the period is closed and
 * the statement exported. Every cell a spreadsheet could evaluate must start with a quote, the
 * header must come first and the totals last, and the money columns must stay numbers.
 */
let hub: TestHub;
let acme: TestPartner;

/** From OWASP's CSV-injection page; the hub accepts printable ASCII without spaces as a reference. */
const ACCEPTED_PAYLOADS = [
  '=1+2',
  '=HYPERLINK("http://evil","x")',
  '-2+3',
  '@SUM(1+1)',
  '+1+1',
  '=1+2";=1+2',
  `=1+2'" ;,=1+2`.replace(/ /g, ''),
];
/** These carry a space, a tab or a carriage return: the hub's reference rule refuses them before anything is written. */
const REFUSED_PAYLOADS = [`+cmd|' /C calc'!A0`, `=cmd|' /C notepad'!'A1'`, '\t=1+2', '\r=1+2', '=1+2\r\n=3'];

const EVALUATED = /^[=+\-@\t\r]/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;
const STATEMENT = `query($period: ID) { statements(periodId: $period, first: 1) { edges { node {
  id periodId partnerId lineCount netMinor digest jws csv: document(format: CSV) json: document(format: JSON) fileName(format: CSV) } } } }`;

let statement: {
  id: string;
  periodId: string;
  lineCount: string;
  netMinor: string;
  digest: string;
  jws: string;
  csv: string;
  json: string;
  fileName: string;
};

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  const contract = await hub.graphql(
    `mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { __typename } }`,
    { id: 'ACME', input: { issuePrice: '1.25', redeemPrice: '0.8' } },
    await hub.operatorToken(),
  );
  expect(contract.data?.setPartnerContract.__typename).toBe('PartnerContract');
  const enrolled = await acme.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
  expect(enrolled.ok).toBe(true);
  // 150 CP at 1.25 minor each: 187.5, half to even 188 minor = 1.88 EUR.
  for (const orderRef of ACCEPTED_PAYLOADS)
    expect((await acme.client.issuePoints({ member: 'ann', amount: '150', orderRef })).ok).toBe(true);
  // A redemption is money the hub owes: a negative amount, which must stay a number.
  expect((await acme.client.redeemPoints({ member: 'ann', amount: '100', orderRef: '-100' })).ok).toBe(true);
  const { currentSettlementPeriod } = await hub.asStaff('{ currentSettlementPeriod { id } }');
  const closed = await hub.asStaff(`mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }`, {
    id: currentSettlementPeriod.id,
  });
  expect(closed.closeSettlementPeriod.__typename).toBe('SettlementPeriod');
  statement = (await hub.asStaff(STATEMENT, { period: currentSettlementPeriod.id })).statements.edges[0].node;
});

afterAll(() => hub.stop());

const rows = (): string[][] => parse(statement.csv, { relax_column_count: false });
const columns = csvColumns('EUR');
const column = (name: string) => columns.indexOf(name);

it('puts the header row first: no comment or metadata row before it', () => {
  expect(statement.csv.startsWith('"line","entry"')).toBe(true);
  expect(rows()[0]).toEqual(columns);
  expect(statement.csv.split('\r\n').some((line) => line.startsWith('#'))).toBe(false);
});

it('quotes every field and doubles embedded quotes', () => {
  const lines = statement.csv.split('\r\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) expect(line).toMatch(/^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$/);
});

it('neutralises every OWASP payload a partner sent as an orderRef with a leading single quote', () => {
  const refs = rows()
    .slice(1)
    .map((row) => row[column('order_ref')]);
  for (const payload of ACCEPTED_PAYLOADS) expect(refs).toContain(`'${payload}`);
  expect(refs).toContain(`'-100`);
});

it('leaves no cell a spreadsheet would evaluate, except the numbers of the numeric columns', () => {
  const numeric = new Set(['line', 'seq', 'points', 'price_minor_per_point', 'amount_minor', 'amount_EUR']);
  for (const row of rows().slice(1)) {
    row.forEach((cell, index) => {
      const name = columns[index]!;
      if (numeric.has(name) && !(name === 'line' && ['total', 'net', 'sha256'].includes(cell)))
        expect(cell).toMatch(/^$|^-?[0-9]+(\.[0-9]+)?$/);
      else expect(cell).not.toMatch(EVALUATED);
    });
  }
});

it('labels money unambiguously: minor units, and exact major units in a column named after the currency', () => {
  const lines = rows()
    .slice(1)
    .filter((row) => NUMBER.test(row[0]!));
  expect(lines).toHaveLength(Number(statement.lineCount));
  expect(lines.map((row) => row[0])).toEqual(lines.map((_, index) => String(index + 1)));
  const issue = lines.find((row) => row[column('order_ref')] === "'=1+2")!;
  expect([
    issue[column('kind')],
    issue[column('points')],
    issue[column('price_minor_per_point')],
    issue[column('amount_minor')],
    issue[column('amount_EUR')],
  ]).toEqual(['issue', '150', '1.25', '188', '1.88']);
  const redeem = lines.find((row) => row[column('kind')] === 'redeem')!;
  // 100 CP at 0.8: the hub owes 80 minor units; negative, numeric, not prefixed.
  expect([redeem[column('amount_minor')], redeem[column('amount_EUR')]]).toEqual(['-80', '-0.80']);
  for (const row of lines) {
    const minor = BigInt(row[column('amount_minor')]!);
    const major = row[column('amount_EUR')]!;
    expect(major).toMatch(/^-?[0-9]+\.[0-9]{2}$/);
    expect(BigInt(major.replace('.', ''))).toBe(minor);
  }
});

it('puts the totals last: one row per kind, the net, and the digest the hub signed', () => {
  const all = rows();
  const firstSummary = all.findIndex((row) => !NUMBER.test(row[0]!) && row[0] !== 'line');
  const summary = all.slice(firstSummary);
  expect(summary.map((row) => row[0])).toEqual(['total', 'total', 'net', 'sha256']);
  const byKind = Object.fromEntries(summary.filter((row) => row[0] === 'total').map((row) => [row[column('kind')], row]));
  expect(byKind.issue![column('amount_minor')]).toBe(String(188 * ACCEPTED_PAYLOADS.length));
  expect(byKind.issue![column('reference')]).toBe(`${ACCEPTED_PAYLOADS.length} lines`);
  expect(byKind.redeem![column('amount_minor')]).toBe('-80');
  const net = summary.find((row) => row[0] === 'net')!;
  expect(net[column('amount_minor')]).toBe(statement.netMinor);
  expect(net[column('amount_EUR')]).toBe(
    `${(BigInt(statement.netMinor) / 100n).toString()}.${(BigInt(statement.netMinor) % 100n).toString().padStart(2, '0')}`,
  );
  expect(summary.at(-1)![column('reference')]).toBe(statement.digest);
});

it('names the file after the partner, period, currency and statement; the JSON document still verifies', async () => {
  expect(statement.fileName).toBe(
    `coalition-statement_ACME_period-${statement.periodId}_EUR_${statement.id.replace(/[^A-Za-z0-9_-]/g, '_')}.csv`,
  );
  const jwks = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const document = JSON.parse(statement.json) as StatementDocument;
  await expect(verifyStatement(document, statement.jws, { jwks, hubId: HUB_ID, partnerId: 'ACME' })).resolves.toMatchObject({
    digest: statement.digest,
  });
  expect(document.lines.map((line) => line.orderRef)).toContain('=1+2');
});

it('refuses orderRefs with spaces, tabs or carriage returns before anything is written', async () => {
  for (const orderRef of REFUSED_PAYLOADS) {
    await expect(acme.client.issuePoints({ member: 'ann', amount: '1', orderRef })).rejects.toThrow(TypeError);
    await expectNothingWritten(hub, async () => {
      const result = await sendInstruction(
        hub,
        'issue',
        await signRaw(instructionClaims('ACME', 'issue', { member: 'ann', amount: '1', orderRef }), acme.key),
      );
      expect(result.__typename).not.toBe('IssueReceipt');
      expect(result.errorCode).toEqual(expect.any(String));
    });
  }
});
