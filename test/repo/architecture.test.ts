import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The layers (docs/architecture.md, "Layers") are checked by dependency-cruiser with the repository's own
 * .dependency-cruiser.cjs: `npm run arch` passes on src/ with no violation at all (there is no baseline of
 * known ones), and the same rules refuse a new back edge or circle, shown on a small tree of files written for the test.
 */
const ROOT = resolve(__dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Runs depcruise in `cwd` over src/ and returns the violations it reports (JSON output). */
function cruise(cwd: string, ...extra: string[]): Violation[] {
  const run = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json', ...extra], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!run.stdout) throw new Error(`depcruise printed nothing: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as { summary: { violations: Violation[] } };
  return result.summary.violations;
}

describe('layering (npm run arch)', () => {
  it('src/ has no violation at all', () => {
    expect(cruise(ROOT).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  describe('on a small tree written for the test', () => {
    let tree: string;
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    };

    beforeEach(() => {
      tree = mkdtempSync(join(tmpdir(), 'hub-layers-'));
      write(
        'tsconfig.json',
        JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true }, include: ['src'] }),
      );
      write('src/common/money.ts', 'export const zero = 0n;\n');
      write(
        'src/graphql/errors.ts',
        "import { zero } from '../common/money';\nexport const problem = (message: string) => new Error(message + zero);\n",
      );
    });
    afterEach(() => rmSync(tree, { recursive: true, force: true }));

    it('accepts imports that point down', () => {
      write('src/ledger/post.ts', "import { zero } from '../common/money';\nexport const post = () => zero;\n");
      expect(cruise(tree)).toEqual([]);
    });

    it('refuses an import from the ledger up to graphql', () => {
      write('src/ledger/post.ts', "import { problem } from '../graphql/errors';\nexport const post = () => problem('no');\n");
      expect(cruise(tree)).toEqual([
        expect.objectContaining({
          from: 'src/ledger/post.ts',
          to: 'src/graphql/errors.ts',
          rule: expect.objectContaining({ name: 'ledger-not-upward' }),
        }),
      ]);
    });

    it('refuses a type-only import up from config to a domain folder', () => {
      write('src/members/tiers.ts', 'export interface Tier { name: string }\n');
      write('src/config/config.ts', "import type { Tier } from '../members/tiers';\nexport const tiers: Tier[] = [];\n");
      expect(cruise(tree).map((v) => v.rule.name)).toEqual(['base-not-upward']);
    });

    it('refuses an import from partners up to settlement inside the domain layer', () => {
      write('src/settlement/funding.ts', 'export const drawn = 1n;\n');
      write('src/partners/contract.ts', "import { drawn } from '../settlement/funding';\nexport const contract = () => drawn;\n");
      expect(cruise(tree).map((v) => v.rule.name)).toEqual(['domain-partners-members-hub-keys-not-upward']);
    });

    it('refuses a GraphQL library below graphql/', () => {
      write('src/ledger/post.ts', "import { GraphQLError } from 'graphql';\nexport const post = () => new GraphQLError('no');\n");
      expect(cruise(tree).map((v) => v.rule.name)).toEqual(['graphql-libraries-at-the-top']);
    });

    it('refuses a circle between two files of one folder', () => {
      write('src/settlement/a.ts', "import { b } from './b';\nexport const a = () => b;\n");
      write('src/settlement/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
      expect(cruise(tree).map((v) => v.rule.name)).toEqual(['no-circular']);
    });

    it('refuses a folder under src/ that no layer names', () => {
      write('src/webhooks/send.ts', "import { zero } from '../common/money';\nexport const send = () => zero;\n");
      expect(cruise(tree).map((v) => v.rule.name)).toEqual(['layered-folders-only']);
    });
  });
});
