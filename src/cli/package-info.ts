import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The repository root (the folder of this package's package.json), found by walking up from
 * this file: the same answer from `src/cli` (tests) and from `dist/src/cli` (the built CLI).
 */
export function packageRoot(): string {
  for (let folder = __dirname; ; folder = dirname(folder)) {
    const manifest = resolve(folder, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'coalition-hub') return folder;
    if (dirname(folder) === folder) throw new Error(`no coalition-hub package.json above ${__dirname}`);
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
