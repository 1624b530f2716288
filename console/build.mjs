// `npm run build:console` (part of `npm run build`): builds the consoles' web app (docs/consoles.md)
// with Vite into dist/console/, which the hub serves under /console. Skipped when nothing it is
// built from changed since the last build (its sources and the versions of the packages it bundles),
// so `npm start` and `npm test` stay fast. `--force` builds anyway.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'console');
const stampFile = join(out, '.build-stamp');

function files(folder) {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

const hash = createHash('sha256');
for (const file of files(here)) hash.update(relative(here, file)).update('\0').update(readFileSync(file)).update('\0');
for (const name of ['vite', 'react', 'react-dom', 'chart.js']) {
  // The installed version (read from node_modules: chart.js exports no package.json subpath).
  hash.update(`${name}@${JSON.parse(readFileSync(join(here, '..', 'node_modules', name, 'package.json'), 'utf8')).version}\n`);
}
const stamp = hash.digest('hex');

if (
  !process.argv.includes('--force') &&
  existsSync(join(out, 'index.html')) &&
  existsSync(stampFile) &&
  readFileSync(stampFile, 'utf8') === stamp
) {
  process.exit(0);
}

const started = Date.now();
const { build } = await import('vite');
try {
  await build({
    root: here,
    configFile: false,
    base: '/console/',
    logLevel: 'warn',
    // React's automatic JSX runtime, by Vite's own TypeScript transform (no plugin needed).
    oxc: { jsx: { runtime: 'automatic' } },
    build: {
      outDir: out,
      emptyOutDir: true,
      // Served under a CSP without 'unsafe-inline': no asset may be inlined as a data: URL.
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 1000,
    },
  });
} catch (error) {
  console.error(`console build FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
writeFileSync(stampFile, stamp);
console.error(`console built into dist/console/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
