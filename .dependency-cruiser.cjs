/**
 * The layer rules of @stowage/core (ARCHITECTURE.md): no import from a lower layer to a
 * higher one, none between operations, no cycles (type-only imports included), and the
 * published code never imports the test helpers. Run: pnpm run -s deps (scripts/test.sh runs it).
 */
const SRC = '^packages/core/src/';
/** Bottom-up; a module may import its own layer and the layers below. */
const LAYERS = [
  ['foundation', `${SRC}((errors|progress)\\.ts$|(util|units|hash|compress|chunker|crypto|split|image)/)`],
  ['backend', `${SRC}backend/`],
  ['pack and blob index', `${SRC}(pack|blob-index)/`],
  ['repository', `${SRC}repository/`],
  ['object', `${SRC}(object|tree)/`],
  ['snapshot', `${SRC}snapshot/`],
  ['operations', `${SRC}(restore|gc|check|forget|registry|copy)/`],
  ['entry points', `${SRC}[^/]+\\.ts$`],
];
const OPS = 'restore|gc|check|forget|registry|copy';

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name.replace(/ /g, '-')}`,
  comment: `${name} may import only its own layer and the layers below it (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path, pathNot: '\\.test\\.ts$' },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
    pathNot: LAYERS.slice(0, i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-operation-imports-another',
      comment: 'operations (restore, gc, check, forget, registry, copy) build on the layers below, never on each other',
      severity: 'error',
      // the one composed operation: copy by re-chunking restores from one repository into a snapshot of another
      from: { path: `${SRC}(${OPS})/`, pathNot: ['\\.test\\.ts$', `${SRC}copy/rechunk\\.ts$`] },
      to: { path: `${SRC}(${OPS})/`, pathNot: `${SRC}$1/` },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles, type-only imports included',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'no-test-helpers-in-published-code',
      comment: 'src/testing/ and backend/faulty.ts are for tests only',
      severity: 'error',
      from: { path: SRC, pathNot: ['\\.test\\.ts$', `${SRC}testing/`] },
      to: { path: [`${SRC}testing/`, `${SRC}backend/faulty\\.ts$`] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
