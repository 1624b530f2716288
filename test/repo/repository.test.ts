import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { buildSchema, type GraphQLEnumType } from 'graphql';

/**
 * The repository stands on its own: its docs live in docs/, nothing it says points to notes kept
 * elsewhere (design notes, issue numbers) or to a path on someone's machine, its relative links
 * resolve inside the repository, and it carries the licence package.json promises.
 */
const ROOT = resolve(__dirname, '../..');
const IGNORED_DIRECTORIES = new Set(['.git', 'node_modules', 'dist', '.data', 'coverage']);

/** Tracked files (git ls-files); without git, every file outside the ignored directories. */
function repositoryFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(ROOT, file)));
  } catch {
    const files: string[] = [];
    const walk = (directory: string) => {
      for (const name of readdirSync(join(ROOT, directory))) {
        const path = directory === '' ? name : `${directory}/${name}`;
        if (statSync(join(ROOT, path)).isDirectory()) {
          if (!IGNORED_DIRECTORIES.has(name)) walk(path);
        } else files.push(path);
      }
    };
    walk('');
    return files;
  }
}

/** Pictures (the README's screenshots) are not text: a run of their bytes can look like anything. */
const BINARY = /\.(png|jpe?g|gif|ico|woff2?)$/i;
const textFiles = repositoryFiles().filter((file) => !file.endsWith('package-lock.json') && !BINARY.test(file));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Every line of every text file that matches, as "file:line: text". */
function findings(pattern: RegExp, files: readonly string[] = textFiles): string[] {
  const found: string[] = [];
  for (const file of files) {
    read(file)
      .split('\n')
      .forEach((line, index) => {
        if (pattern.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('the repository', () => {
  it('has files to check (the listing works)', () => {
    expect(textFiles).toEqual(expect.arrayContaining(['README.md', 'package.json', 'src/app.ts', 'docs/ledger.md']));
  });

  it('cites docs/ rather than design or style notes kept outside the repository, or their sections', () => {
    expect(findings(/DESIGN\.md|STYLE\.md|\.\.\/shared\/|§\s?\d/)).toEqual([]);
  });

  it('cites no issue or item numbers: a comment or test name says the reason or the behaviour instead', () => {
    expect(findings(/\bissues? #\d|\bitems? \d/i)).toEqual([]);
  });

  it('names no absolute local path', () => {
    expect(findings(/(^|[\s'"`(=:])\/(work|root|home)\//)).toEqual([]);
  });

  it('has relative Markdown links that stay inside the repository and name a file or folder that exists', () => {
    const markdown = textFiles.filter((file) => file.endsWith('.md'));
    const broken: string[] = [];
    for (const file of markdown) {
      for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(ROOT, dirname(file), target.split('#')[0]!);
        const inside = path === ROOT || path.startsWith(ROOT + sep);
        if (!inside) broken.push(`${file}: ${target} leaves the repository`);
        else if (!existsSync(path)) broken.push(`${file}: ${target} does not exist`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('carries the Apache License 2.0 that package.json promises, for the hub and for the partner SDK', () => {
    for (const directory of ['.', 'partner-sdk']) {
      expect(JSON.parse(read(`${directory}/package.json`)).license).toBe('Apache-2.0');
      const licence = read(`${directory}/LICENSE`);
      expect(licence).toContain('Apache License\n                           Version 2.0, January 2004');
      expect(licence).toContain('END OF TERMS AND CONDITIONS');
      expect(licence.trim().endsWith('limitations under the License.')).toBe(true);
    }
    expect(read('NOTICE')).toContain('Copyright 2026 The Coalition Hub authors');
  });

  it('documents every typed result code of the schema in docs/errors.md, and no other', () => {
    const schema = buildSchema(read('schema/schema.graphql'));
    const codes = (schema.getType('ErrorCode') as GraphQLEnumType).getValues().map((value) => value.name);
    const documented = [...read('docs/errors.md').matchAll(/^\| `([A-Z_]+)` \| `[A-Za-z]+` \|/gm)].map((match) => match[1]);
    expect(documented).toEqual(codes);
  });
});
