// The launcher, CommonJS: bin/launch.sh (sourced by bin/stowage.js's #! line) runs node on
// this file, and `node bin/stowage.js` imports it. As CommonJS its first line runs 4-15 ms
// sooner than an ES module's (node's ES module loader is not started: 3-7 ms against 13-27
// after node's bootstrap here, more on a loaded machine), and the password's key derivation,
// which every encrypted command waits for, starts that much sooner too. See
// native-bench/README.md, "Repeat snapshots and the key derivation: session of 2026-11-30 (hrep)".
//
// Start the password's key derivation (scrypt, encrypted repositories) before the rest of
// the CLI runs, so the two overlap (src/prefetch.ts); then run the CLI. The single-file
// bundles (scripts/bundle.mjs) start faster; the plain compiled modules work as well.
// The exit code is main's result; a main still unsettled when the process is about to end
// is an error exit (src/run.ts), never exit 0.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

// STOWAGE_TIMELINE=1: the command's timeline (performance marks, ms since the process started) on stderr at exit
if (process.env.STOWAGE_TIMELINE) {
  performance.mark('launcher');
  process.once('exit', () => {
    const t = performance.nodeTiming;
    // marks and measures (core util/timeline.ts: S3 requests, packs saved, ...) with their details, in time order
    const detail = (e) => (e.detail ? ` ${JSON.stringify(e.detail)}` : '');
    const rows = [
      ['node bootstrap done', t.bootstrapComplete],
      ...performance.getEntriesByType('mark').map((m) => [m.name + detail(m), m.startTime]),
      ...performance.getEntriesByType('measure').map((m) => [`${m.name} (${m.duration.toFixed(1)} ms)${detail(m)}`, m.startTime]),
    ].sort((a, b) => a[1] - b[1]);
    rows.push(['exit', performance.now()]);
    process.stderr.write(rows.map(([n, ms]) => `timeline ${ms.toFixed(1).padStart(8)} ms  ${n}`).join('\n') + '\n');
  });
}

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'stowage.bundle.cjs');
const prefetchBundle = path.join(dist, 'prefetch.bundle.cjs');
const codeCacheBundle = path.join(dist, 'code-cache.cjs');
// the main bundle through V8's code cache (src/code-cache.ts). When the cache was accepted,
// functions are optimised later than V8's default (an interrupt budget of 1,000,000 instead of
// 132 KiB of bytecode run): a command runs for seconds, and V8's optimising compiler spent
// about 0.15-0.2 CPU-s of a 0.7 s unchanged tree snapshot (and of a 3 s first one) on
// functions that ran a few hundred times, on the two cores the command itself needs.
// Set after the cache check, so the cache stays valid (see src/code-cache.ts flagsOnHit).
// One cache per command (src/code-cache.ts commandCacheKey): a cache holds what the run that
// wrote it compiled; and one per set of node options (launch.sh's V8 flags).
const TIERING = '--interrupt-budget=1000000';

if (existsSync(bundle) && existsSync(prefetchBundle) && existsSync(codeCacheBundle)) {
  // The tiny prefetch bundle (node built-ins only) starts scrypt on libuv's thread pool first;
  // the main bundle then loads while the derivation runs (they share the result through
  // globalThis, core repository/kek.ts).
  require(prefetchBundle).prefetchFromArgs(process.argv, process.env);
  if (process.env.STOWAGE_TIMELINE) performance.mark('prefetch started');
  const codeCache = require(codeCacheBundle);
  const cli = codeCache.requireWithCodeCache(bundle, { flagsOnHit: TIERING, key: codeCache.commandCacheKey(process.argv, process.execArgv) }).exports;
  if (process.env.STOWAGE_TIMELINE) performance.mark('bundle loaded');
  cli.runToExit(() => cli.main(process.argv), { json: process.argv.includes('--json') });
} else {
  // not bundled: the compiled ES modules
  const load = (name) => import(require('node:url').pathToFileURL(path.join(dist, name)).href);
  load('prefetch.js')
    .then(async (prefetch) => {
      prefetch.prefetchFromArgs(process.argv, process.env);
      const [main, run] = await Promise.all([load('main.js'), load('run.js')]);
      run.runToExit(() => main.main(process.argv), { json: process.argv.includes('--json') });
    })
    .catch((err) => {
      process.stderr.write(`stowage: cannot load the CLI: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
