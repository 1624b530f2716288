import fc from 'fast-check';
import { generatePartnerKey, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { ledgerSnapshot, type LedgerSnapshot } from './support/ledger-snapshot';
import { instructionClaims, mutationFor, signRaw } from './support/instructions';

/**
 * Random and mutated requests against a running hub over real HTTP: documents, variables,
 * headers, access tokens and signed instructions. Whatever arrives, the hub answers (no hang),
 * never with HTTP 5xx or INTERNAL_SERVER_ERROR, keeps answering, and writes nothing (every
 * signed instruction the fuzzer can produce is either refused or a replay of one already accepted).
 *
 * FUZZ_RUNS (default 400) and FUZZ_SEED (default fixed) repeat or widen a run:
 *   FUZZ_SEED=42 FUZZ_RUNS=5000 npx jest test/e2e/fuzz
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const REQUEST_TIMEOUT_MS = 10_000;

let hub: TestHub;
let acme: TestPartner;
let before: LedgerSnapshot;
/** Instructions the hub accepted before the snapshot: mutants that still verify are replays. */
const accepted: string[] = [];
const tokens: Record<'partner' | 'member' | 'finance', string> = { partner: '', member: '', finance: '' };
let strangerKey: Awaited<ReturnType<typeof generatePartnerKey>>;

const READ_DOCUMENTS = [
  '{ partners { edges { node { id name keys { kid } } } } }',
  'query($ref: String!) { memberByRef(ref: $ref) { id balance spendable } }',
  'query($jti: String!) { instructionReceipt(jti: $jti) { jti receipt } }',
  'query($id: ID!) { partner(id: $id) { id status } }',
  'query($id: ID!) { member(id: $id) { id balance } }',
  'query($p: ID, $n: Int!) { statements(periodId: $p, first: $n) { edges { node { document(format: CSV) } } } }',
  'query($n: Int, $a: String) { partnerTransactions(first: $n, after: $a) { edges { cursor node { id postings { amount } } } } }',
  '{ me { id balance history(first: 3) { edges { node { id type } } } } }',
  'query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) { __typename } }',
  '{ currentSettlementPeriod { id status } settlementPeriods { edges { node { id } } } }',
  'query($at: DateTimeISO!, $m: ID) { balancesAsOf(at: $at, memberId: $m) { balance } }',
  'query Named { __typename ...F } fragment F on Query { ledgerIntegrity { ok } }',
  '{ __schema { types { name fields { name } } } }',
  'subscription { ledgerIntegrity { ok } }',
];
const INSTRUCTION_DOCUMENTS = (
  ['enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer', 'acknowledge', 'dispute'] as const
).map(mutationFor);
const TOKENS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '!',
  '=',
  '$a',
  '$i',
  '...',
  '@include(if: $a)',
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'first',
  '100',
  '-1',
  '1e999',
  '"x"',
  '"\\u0000"',
  '"""block"""',
  '#',
  ',',
  'partners',
  'edges',
  'node',
  'id',
  'me',
  '__typename',
  'issuePoints',
  'instruction',
];

/** One edit of a text: cut, insert, duplicate or replace a span. Always changes it. */
const edit = fc.tuple(
  fc.nat(),
  fc.nat({ max: 12 }),
  fc.constantFrom('cut', 'insert', 'duplicate', 'replace'),
  fc.string({ maxLength: 6, unit: 'binary' }),
);
/** Edits that keep a header value a valid HTTP header value (printable ASCII), which clients insist on. */
const printableChar = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const headerEdit = fc.tuple(
  fc.nat(),
  fc.nat({ max: 12 }),
  fc.constantFrom('cut', 'insert', 'duplicate', 'replace'),
  fc.string({ maxLength: 6, unit: printableChar }),
);
function mutate(text: string, edits: Array<[number, number, string, string]>): string {
  let result = text;
  for (const [at, length, kind, insert] of edits) {
    const start = at % (result.length + 1);
    const end = Math.min(result.length, start + length);
    if (kind === 'cut') result = result.slice(0, start) + result.slice(end);
    else if (kind === 'insert') result = result.slice(0, start) + insert + result.slice(start);
    else if (kind === 'duplicate') result = result.slice(0, end) + result.slice(start, end) + result.slice(end);
    else result = result.slice(0, start) + insert + result.slice(end);
  }
  return result === text ? `${text}~` : result;
}

const base64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const weirdString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    'a\u0000b',
    '\u0000',
    'ACME',
    'ann',
    'x'.repeat(300),
    '../../etc',
    "'; DROP TABLE posting; --",
    '\ud800',
    '1e999',
    '-0',
    '00000000-0000-0000-0000-000000000000',
  ),
);
const weirdJson = fc.oneof(weirdString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

/** Compact JWS strings: random, hand-made with odd headers and claims, mutated from accepted ones, or signed by a stranger. */
const jws = fc.oneof(
  fc.array(fc.base64String({ maxLength: 60 }), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
  fc
    .tuple(weirdJson, weirdJson, fc.string({ maxLength: 20 }))
    .map(([header, claims, signature]) => `${base64url(header)}.${base64url(claims)}.${signature}`),
  fc
    .tuple(
      fc.constantFrom('none', 'HS256', 'RS256', 'EdDSA', 'ES256'),
      fc.dictionary(fc.constantFrom('iss', 'aud', 'jti', 'op', 'member', 'amount', 'iat', 'exp'), weirdJson),
    )
    .map(
      ([alg, claims]) => `${base64url({ alg, typ: 'coalition-tx+jwt', kid: 'k' })}.${base64url({ iss: 'ACME', aud: HUB_ID, ...claims })}.`,
    ),
  fc
    .tuple(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 3 }))
    .map(([index, edits]) => mutate(accepted[index % accepted.length]!, edits)),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => {
    const [header] = accepted[a % accepted.length]!.split('.');
    const [, payload, signature] = accepted[b % accepted.length]!.split('.');
    return `${header}.${payload}.${signature}` + (a % accepted.length === b % accepted.length ? 'A' : '');
  }),
  fc
    .tuple(
      fc.constantFrom('issue', 'redeem', 'enroll', 'transfer'),
      fc.dictionary(fc.constantFrom('member', 'amount', 'orderRef', 'jti', 'iss', 'toMember'), weirdJson),
    )
    .map(([op, fields]) => ({ op, fields }))
    .map((spec) => spec),
) as fc.Arbitrary<string | { op: string; fields: Record<string, unknown> }>;

interface FuzzRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  search?: string;
}

const printable = fc.string({ unit: printableChar, maxLength: 80 });
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('partner', 'member', 'finance').map((kind) => `Bearer ${tokens[kind as keyof typeof tokens]}`),
  fc
    .tuple(fc.constantFrom('partner', 'member', 'finance'), fc.array(headerEdit, { minLength: 1, maxLength: 2 }))
    .map(([kind, edits]) => `Bearer ${mutate(tokens[kind as keyof typeof tokens], edits)}`),
  printable,
  fc.constant('Bearer '),
);
const document = fc.oneof(
  fc.constantFrom(...READ_DOCUMENTS, ...INSTRUCTION_DOCUMENTS),
  fc
    .tuple(fc.constantFrom(...READ_DOCUMENTS, ...INSTRUCTION_DOCUMENTS), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([text, edits]) => mutate(text, edits)),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((parts) => parts.join(' ')),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const variables = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(
    fc.constantFrom('ref', 'jti', 'id', 'p', 'n', 'a', 'i', 'm', 'at', 'from', 'to', 'amount'),
    fc.oneof(
      weirdJson,
      jws.filter((value): value is string => typeof value === 'string'),
    ),
  ),
  weirdJson,
);

function request(): fc.Arbitrary<
  FuzzRequest | { instruction: string | { op: string; fields: Record<string, unknown> }; document: string }
> {
  const graphqlPost = fc
    .record({
      document,
      variables,
      operationName: fc.option(weirdString, { nil: undefined }),
      authorization,
      contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/graphql'),
    })
    .map(({ document: query, variables: vars, operationName, authorization: auth, contentType }): FuzzRequest => ({
      method: 'POST',
      headers: { 'content-type': contentType, ...(auth !== undefined ? { authorization: auth } : {}) },
      body: JSON.stringify({ query, variables: vars, operationName }),
    }));
  const graphqlGet = fc
    .record({ document, variables, authorization, preflight: fc.boolean() })
    .map(({ document: query, variables: vars, authorization: auth, preflight }): FuzzRequest => ({
      method: 'GET',
      headers: { ...(auth !== undefined ? { authorization: auth } : {}), ...(preflight ? { 'apollo-require-preflight': 'true' } : {}) },
      search: new URLSearchParams({ query, ...(vars !== undefined ? { variables: JSON.stringify(vars) } : {}) }).toString(),
    }));
  const rawBody = fc
    .record({
      body: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
      ),
      headers: fc.dictionary(
        fc.constantFrom(
          'content-type',
          'authorization',
          'accept',
          'x-apollo-operation-name',
          'apollo-require-preflight',
          'content-encoding',
        ),
        printable,
      ),
    })
    .map(({ body, headers }): FuzzRequest => ({ method: 'POST', headers, body }));
  const instruction = fc.record({ instruction: jws, document: fc.constantFrom(...INSTRUCTION_DOCUMENTS) });
  return fc.oneof(
    { arbitrary: graphqlPost, weight: 4 },
    { arbitrary: graphqlGet, weight: 1 },
    { arbitrary: rawBody, weight: 1 },
    { arbitrary: instruction, weight: 3 },
  );
}

/** Signs hostile claims: with ACME's real key but for another audience, or with a key the hub never saw. */
async function signHostile(spec: { op: string; fields: Record<string, unknown> }, seed: number): Promise<string> {
  const claims = instructionClaims('ACME', spec.op as never, spec.fields, seed % 2 === 0 ? { audience: 'some-other-hub' } : {});
  return seed % 2 === 0 ? signRaw(claims, acme.key) : signRaw(claims, strangerKey);
}

async function send(
  input: FuzzRequest | { instruction: string | { op: string; fields: Record<string, unknown> }; document: string },
  seed: number,
): Promise<{ status: number; text: string }> {
  let http: FuzzRequest;
  if ('instruction' in input) {
    const instruction = typeof input.instruction === 'string' ? input.instruction : await signHostile(input.instruction, seed);
    http = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: input.document, variables: { i: instruction } }),
    };
  } else {
    http = input;
  }
  const response = await fetch(`${hub.url}/graphql${http.search ? `?${http.search}` : ''}`, {
    method: http.method,
    headers: http.headers,
    body: http.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  await hub.registerPartner('BOLT');
  strangerKey = await generatePartnerKey('EdDSA');
  const enroll = await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'enroll', fields: { member: 'ann' } });
  expect(await acme.client.submitSigned('enroll', enroll.jws)).toMatchObject({ ok: true });
  accepted.push(enroll.jws);
  for (const amount of ['10', '20', '30']) {
    const issue = await signInstruction({
      partnerId: 'ACME',
      hubId: HUB_ID,
      key: acme.key,
      op: 'issue',
      fields: { member: 'ann', amount },
    });
    expect(await acme.client.submitSigned('issue', issue.jws)).toMatchObject({ ok: true });
    accepted.push(issue.jws);
  }
  const redeem = await signInstruction({
    partnerId: 'ACME',
    hubId: HUB_ID,
    key: acme.key,
    op: 'redeem',
    fields: { member: 'ann', amount: '5' },
  });
  expect(await acme.client.submitSigned('redeem', redeem.jws)).toMatchObject({ ok: true });
  accepted.push(redeem.jws);
  tokens.partner = await acme.client.accessToken(900);
  tokens.member = await hub.memberToken(acme, 'ann');
  tokens.finance = await hub.operatorToken('finance');
  before = await ledgerSnapshot(hub);
});

afterAll(() => hub.stop());

it(`answers ${RUNS} random and mutated requests without a 5xx, an internal error or a hang, and writes nothing`, async () => {
  await fc.assert(
    fc.asyncProperty(request(), fc.nat(), async (input, seed) => {
      const { status, text } = await send(input, seed);
      if (status >= 500 || text.includes('INTERNAL_SERVER_ERROR')) {
        throw new Error(`HTTP ${status}: ${text.slice(0, 500)}`);
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  // Still answering, and nothing written: every instruction the fuzzer sent was refused or replayed.
  expect(await hub.graphql('{ __typename }')).toMatchObject({ status: 200, data: { __typename: 'Query' } });
  expect(await ledgerSnapshot(hub)).toEqual(before);
}, 180_000);
