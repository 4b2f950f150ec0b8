// Bundles the compiled CLI (with @stowage/core) and the codec worker into single files next
// to the CLI's dist: packages/cli/dist/stowage.bundle.cjs, prefetch.bundle.cjs, code-cache.cjs, codec-worker.cjs.
// Native addons stay external (resolved from packages/cli's own dependencies).
// Start-up measured on this machine: `stowage --version` 0.25 s unbundled, 0.13 s bundled.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('packages/cli/dist/chunks', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['level', 'zstd-napi', 'zstd-napi/*', '@napi-rs/blake-hash', '@napi-rs/xattr', 'sodium-native', '@stowage/sha256-pair'],
  // CommonJS dependencies (commander) call require(): give the ESM bundle one
  banner: { js: "import { createRequire as __stowageCreateRequire } from 'node:module'; const require = __stowageCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
};

// A tiny bundle of the password prefetch (node built-ins only), loaded before the main one so
// the key derivation of an encrypted repository overlaps loading it (src/prefetch.ts), and the
// code cache loader: CommonJS, required by the CommonJS launcher bin/stowage.cjs (an ES module
// there would start node's ES module loader first, 4-15 ms before the derivation could start).
rmSync('packages/cli/dist/prefetch.bundle.mjs', { force: true });
// CommonJS, with import.meta.url (the modules resolve addons with it) the file's own URL
const cjsOwnUrl = {
  format: 'cjs',
  banner: { js: 'const __stowageImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__stowageImportMetaUrl' },
};
await build({ ...common, ...cjsOwnUrl, entryPoints: ['packages/cli/dist/prefetch.js'], outfile: 'packages/cli/dist/prefetch.bundle.cjs' });
await build({ ...common, ...cjsOwnUrl, entryPoints: ['packages/cli/dist/code-cache.js'], outfile: 'packages/cli/dist/code-cache.cjs' });
// The main bundle is CommonJS so that bin/stowage.cjs can load it through V8's code cache
// (packages/cli/src/code-cache.ts; Node 20 has no compile cache for ES modules): measured
// 0.35 -> 0.31 CPU-s per repeat snapshot, bundle loading 86-96 -> 54-66 ms. The S3 backend
// (AWS SDK) is inside it but only initialised for s3: locations (esbuild's lazy module init);
// with the code cache its size costs no parsing.
await build({
  ...common,
  ...cjsOwnUrl,
  entryPoints: ['packages/cli/dist/bundle-entry.js'],
  outfile: 'packages/cli/dist/stowage.bundle.cjs',
});
// the code caches of the bundle before (one per command: packages/cli/src/code-cache.ts)
for (const name of readdirSync('packages/cli/dist')) if (/^stowage\.bundle\.cjs\.([a-z-]+\.)?v8-cache$/.test(name)) rmSync(`packages/cli/dist/${name}`, { force: true });
rmSync('packages/cli/dist/stowage.bundle.mjs', { force: true });
// The codec worker as CommonJS: a worker thread that loads an ES module first boots Node's ESM
// loader in its isolate, about 15 ms of CPU more per worker start (measured: 55-60 against
// 41-46 ms of CPU from new Worker() to the first reply); snapshots and restores start two.
// import.meta.url (zstd.ts resolves the addon with it) becomes the file's own URL.
rmSync('packages/cli/dist/codec-worker.js', { force: true });
await build({
  ...common,
  ...cjsOwnUrl,
  entryPoints: ['packages/core/dist/repository/codec-worker.js'],
  outfile: 'packages/cli/dist/codec-worker.cjs',
});
// The tree restore's file writer thread (core restore/tree-writer-worker.ts), CommonJS for the
// same reason; restore/tree-writer.ts finds it beside the main bundle.
await build({ ...common, format: 'cjs', banner: {}, entryPoints: ['packages/core/dist/restore/tree-writer-worker.js'], outfile: 'packages/cli/dist/tree-writer.cjs' });
