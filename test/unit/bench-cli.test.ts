import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * `npm run bench -- …` (docs/benchmarks.md) as a script sees it: --help prints the usage and starts
 * nothing (no database, exit 0); a mistyped option or benchmark is one line and the usage, exit 2.
 * Runs the built file, as npm run bench does (npm test builds first).
 */
const RUN = join(__dirname, '..', '..', 'dist', 'bench', 'run.js');
const bench = (...args: string[]) => spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', timeout: 30_000 });

it('prints its usage for --help and starts nothing', () => {
  const help = bench('compare', '--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage:\nnpm run bench -- hot-partner/);
  expect(help.stdout).toContain('npm run bench -- compare');
  expect(help.stderr).toBe('');
});

it.each([
  [['compare', '--bogus'], /^Unknown option '--bogus'\n\nUsage:/],
  [['nosuch'], /^unknown benchmark nosuch: one of hot-partner, .*\n\nUsage:/],
])('refuses %j with exit code 2, one line and the usage, no stack trace', (args, message) => {
  const refused = bench(...args);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(message);
  expect(refused.stderr).not.toMatch(/\n\s+at /);
});
