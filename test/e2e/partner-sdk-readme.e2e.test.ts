import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as fsPromises from 'node:fs/promises';
import { transformSync } from '@swc/core';
import * as sdk from '@coalition-hub/partner-sdk';
import { PARTNER_ID_PATTERN } from '../../src/partners/partner-id';
import { HUB_ID, TestHub } from '../helpers/test-hub';

/**
 * The partner SDK's README, followed literally against a real hub: its examples marked
 * `<!-- readme-example: NAME -->` are taken from the file as written, type-stripped, and run in
 * order — the partner makes a key, the operator registers it exactly as step 2 shows, the
 * partner enrolls, issues and redeems — with only the hub's address, id and an operator token
 * supplied through the environment variables the README names.
 */
const README = readFileSync(resolve(__dirname, '../../partner-sdk/README.md'), 'utf8');

function example(name: string): string {
  const match = new RegExp(`<!-- readme-example: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(README);
  if (!match) throw new Error(`the README has no example ${name}`);
  return match[1]!;
}

/** `import { a, b as c } from 'x';` → `const { a, b: c } = require('x');` */
function toRequire(line: string): string {
  const match = /^import \{([^}]*)\} from '([^']+)';$/.exec(line.trim());
  if (!match) throw new Error(`unexpected import in the README: ${line}`);
  const names = match[1]!.split(',').map((name) => name.trim().replace(/\s+as\s+/, ': '));
  return `const { ${names.join(', ')} } = __require(${JSON.stringify(match[2])});`;
}

/** Runs a README example as a partner's script would: top-level await, its imports, console output captured. */
async function run(code: string): Promise<string[]> {
  const lines = code.split('\n');
  const imports = lines.filter((line) => line.startsWith('import ')).map(toRequire);
  const body = lines.filter((line) => !line.startsWith('import ')).join('\n');
  const { code: js } = transformSync(`async function __example() {\n${body}\n}`, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    isModule: true,
  });
  const output: string[] = [];
  const console = { log: (...values: unknown[]) => void output.push(values.map(String).join(' ')) };
  const modules: Record<string, unknown> = { '@coalition-hub/partner-sdk': sdk, 'node:fs/promises': fsPromises };
  const __require = (name: string) => {
    if (!(name in modules)) throw new Error(`the README imports ${name}`);
    return modules[name];
  };
  await new Function('__require', 'console', `${imports.join('\n')}\n${js}\nreturn __example();`)(__require, console);
  return output;
}

let hub: TestHub;
let directory: string;
const cwd = process.cwd();
const env = { ...process.env };

beforeAll(async () => {
  hub = await TestHub.start();
  // The partner's working directory: the README writes partner-key.json into it.
  directory = mkdtempSync(join(tmpdir(), 'partner-readme-'));
  process.chdir(directory);
  process.env.HUB_URL = hub.url;
  process.env.HUB_ID = HUB_ID;
});

afterAll(async () => {
  process.chdir(cwd);
  process.env = env;
  rmSync(directory, { recursive: true, force: true });
  await hub.stop();
});

it('steps 1-3 work as written: make a key, get registered by the operator, enroll, issue and redeem', async () => {
  const [publicJwk] = await run(example('key'));
  expect(JSON.parse(publicJwk!)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: expect.any(String) });
  expect(JSON.parse(publicJwk!)).not.toHaveProperty('d');

  process.env.PARTNER_PUBLIC_JWK = publicJwk;
  process.env.OPERATOR_TOKEN = await hub.operatorToken();
  const [registered] = await run(example('register'));
  expect(JSON.parse(registered!)).toEqual({ data: { registerPartner: { __typename: 'Partner', id: 'ACME_COFFEE' } } });

  const output = await run(example('use'));
  expect(output).toHaveLength(3);
  expect(output[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(output[1]).toBe('150');
  expect(output[2]).toMatch(/^not enough points: /);

  const [member] = await hub.hub.dataSource.query(
    `SELECT b.balance::text FROM member_link r JOIN account a ON a.owner_id = r.member_id::text AND a.kind = 'wallet' JOIN account_balance b ON b.account_id = a.id
     WHERE r.partner_id = 'ACME_COFFEE' AND r.member_ref = 'cust-42'`,
  );
  expect(member).toEqual({ balance: '150' });
});

it('step 8 works as written: the partner pulls its events from the feed, page by page', async () => {
  // After steps 1-3: the issue of 150 (the redemption of 300 was refused, so it has no event). The feed
  // shows an event once every older writing transaction on the server has ended (docs/events.md).
  for (let waited = 0; waited < 20_000; waited += 50) {
    const [row] = await hub.ownerQuery<{ held: number }>(
      'SELECT count(*)::int AS held FROM event WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())',
    );
    if (row!.held === 0) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  expect(await run(example('events'))).toEqual(['points.issued 150']);
});

it('step 9 works as written: a batch with a refusal in it, and an offline queue drained', async () => {
  expect(await run(example('batch'))).toEqual(['0 EnrollReceipt', '1 IssueReceipt', '2 INSUFFICIENT_BALANCE', '1 0 0']);
  const [member] = await hub.hub.dataSource.query(
    `SELECT b.balance::text FROM member_link r JOIN account a ON a.owner_id = r.member_id::text AND a.kind = 'wallet' JOIN account_balance b ON b.account_id = a.id
     WHERE r.partner_id = 'ACME_COFFEE' AND r.member_ref = 'cust-43'`,
  );
  expect(member).toEqual({ balance: '45' });
});

it('says true things about canLinkMembers: without it an enroll with a hash is refused, without the hash it works', async () => {
  const other = await hub.registerPartner('BETA_BAKERY', 'EdDSA', { canLinkMembers: false });
  const refused = await other.client.enrollMember({ member: 'cust-7', emailHash: sdk.hashEmail('ada@example.com') });
  expect(refused).toMatchObject({ ok: false, errorCode: 'MEMBER_LINKING_NOT_ALLOWED' });
  expect(README).toContain('`MEMBER_LINKING_NOT_ALLOWED`');
  expect((await other.client.enrollMember({ member: 'cust-7' })).ok).toBe(true);
  expect(README).toContain("enrollMember({ member: 'cust-42' })");
});

it('uses only partner ids the hub accepts', () => {
  const ids = [...README.matchAll(/(?:partnerId|id): '([^']+)'/g)].map((match) => match[1]!);
  expect(ids.length).toBeGreaterThanOrEqual(3);
  for (const id of ids) expect(id).toMatch(PARTNER_ID_PATTERN);
});
