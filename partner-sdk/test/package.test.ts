import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The package a partner installs: `npm pack` from a checkout that was never built (no dist/)
 * must build and ship the compiled SDK with its types, and nothing else. Packs a copy of the
 * package's sources (this checkout's dist/ is left alone), then loads the tarball's entry point
 * in a fresh Node process.
 */
const root = resolve(__dirname, '..');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'partner-sdk-pack-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

it('npm pack builds dist/ (prepack) and ships it with the types, the README and the operation manifest, without sources or tests', () => {
  const copy = join(work, 'partner-sdk');
  mkdirSync(copy);
  for (const entry of ['package.json', 'tsconfig.json', 'README.md', 'operations.json', 'src'])
    cpSync(join(root, entry), join(copy, entry), { recursive: true });
  // Dependencies and the compiler, as `npm install` would have put them in a fresh clone.
  symlinkSync(resolve(root, '../node_modules'), join(work, 'node_modules'), 'dir');
  if (existsSync(join(root, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: copy,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [packed] = JSON.parse(output.slice(output.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((file) => file.path);
  expect(files).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'operations.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/client.js',
      'dist/error-codes.d.ts',
    ]),
  );
  expect(files.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'operations.json'].includes(file))).toEqual([]);

  execFileSync('tar', ['-xzf', join(work, packed!.filename), '-C', work]);
  // The SDK's own dependencies, as npm would install them next to it.
  if (existsSync(join(root, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(work, 'package', 'node_modules'), 'dir');
  const loaded = execFileSync(
    process.execPath,
    [
      '-e',
      `const sdk = require(${JSON.stringify(join(work, 'package', 'dist', 'index.js'))}); console.log(JSON.stringify({ client: typeof sdk.PartnerClient, codes: sdk.ERROR_CODES.length, timeout: sdk.DEFAULT_TIMEOUT_MS }))`,
    ],
    { encoding: 'utf8' },
  );
  expect(JSON.parse(loaded)).toEqual({ client: 'function', codes: expect.any(Number), timeout: 10_000 });
}, 120_000);
