/* global module */
/**
 * The layers of the hub (docs/architecture.md, "Layers"). Dependencies point one way:
 *
 *   composition root (main.ts, run-hub.ts, app.ts, cli/, demo/)  may import anything
 *   http → graphql → operations (operations/, instructions/, auth/, jobs/, engine/, rewards/, grants/, referrals/, kpis/)
 *        → domain (partners, members, exchange, events, settlement, hub-keys) → ledger (the kernel) → outbox → db → config, common
 *
 * Inside the domain: (exchange, events) → settlement → (partners, members, hub-keys). The business operations
 * (src/operations/) sit above the domain and write through the ledger kernel (src/ledger/), which imports
 * nothing above it. `npm run arch` checks this with no baseline: any back edge or circle fails.
 */
const ROOT = '^src/(main|run-hub|app)\\.ts$|^src/(cli|demo)/';

/** Each layer, top to bottom, with the folders (under src/) that form it. */
const LAYERS = [
  { name: 'http', folders: ['http'] },
  { name: 'graphql', folders: ['graphql'] },
  { name: 'operations', folders: ['operations', 'instructions', 'auth', 'jobs', 'engine', 'rewards', 'grants', 'referrals', 'kpis'] },
  { name: 'domain', folders: ['partners', 'members', 'exchange', 'events', 'settlement', 'hub-keys'] },
  { name: 'ledger', folders: ['ledger'] },
  { name: 'outbox', folders: ['outbox'] },
  { name: 'db', folders: ['db'] },
  { name: 'base', folders: ['config', 'common'] },
];

/** Inside the domain layer, top to bottom: folders there may import the ones below, never above (so never each other). */
const DOMAIN_ORDER = [['exchange', 'events'], ['settlement'], ['partners', 'members', 'hub-keys']];

const under = (folders) => `^src/(${folders.join('|')})/`;

/** One rule per layer: it may not import a layer above it (nor the composition root). */
const layerRules = LAYERS.slice(1).map((layer, index) => {
  const above = LAYERS.slice(0, index + 1).flatMap((l) => l.folders);
  return {
    name: `${layer.name}-not-upward`,
    comment: `${layer.folders.join(', ')} must not import the layers above it (${above.join(', ')}) nor the composition root`,
    severity: 'error',
    from: { path: under(layer.folders) },
    to: { path: [under(above), ROOT] },
  };
});

const domainRules = DOMAIN_ORDER.slice(1).map((folders, index) => {
  const above = DOMAIN_ORDER.slice(0, index + 1).flat();
  return {
    name: `domain-${folders.join('-')}-not-upward`,
    comment: `inside the domain layer, ${folders.join(', ')} must not import ${above.join(', ')}`,
    severity: 'error',
    from: { path: under(folders) },
    to: { path: under(above) },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Files that import each other in a loop cannot be layered; split the shared part out.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'http-not-to-root',
      comment: 'http must not import the composition root',
      severity: 'error',
      from: { path: under(['http']) },
      to: { path: ROOT },
    },
    ...layerRules,
    ...domainRules,
    {
      name: 'graphql-libraries-at-the-top',
      comment:
        'Only http/, graphql/ and the composition root use GraphQL libraries; below them the one exception is common/auth-errors.ts (the auth/role refusals, the only GraphQL errors)',
      severity: 'error',
      from: { path: '^src/', pathNot: [ROOT, under(['http', 'graphql']), '^src/common/auth-errors\\.ts$'] },
      to: { path: '^(node_modules/)?(graphql|type-graphql|graphql-scalars|@apollo/[^/]+|@escape\\.tech/graphql-armor)(/|$)' },
    },
    {
      name: 'layered-folders-only',
      comment: 'A new folder under src/ must be placed in a layer in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: [ROOT, under(LAYERS.flatMap((l) => l.folders))] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
