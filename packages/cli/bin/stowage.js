#!/usr/bin/env -S sh -c 'f=$0; [ -L "$f" ] && f=$(readlink -f "$f"); . "${f%/*}/launch.sh"'
// The #! line runs bin/launch.sh (sh, beside this file; through a symlink too), which sets
// glibc's malloc for a small peak RSS and drops NODE_EXTRA_CA_CERTS for commands that open no
// TLS connection (Node parses that file at every start), then runs node on this file. Package
// managers' shims copy the line (pnpm, npm); `node bin/stowage.js` runs without it. See
// native-bench/README.md, "Peak RSS of image snapshots and restores" and "Image snapshots' CPU:
// session of 2026-11-29 late (hsnap)".
//
// Start the password's key derivation (scrypt, encrypted repositories) before the rest of
// the CLI runs, so the two overlap (src/prefetch.ts); then run the CLI. The single-file
// bundle (scripts/bundle.mjs) starts faster; the plain compiled modules work as well.
// The exit code is main's result; a main still unsettled when the process is about to end
// is an error exit (src/run.ts), never exit 0.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

// The tiny prefetch bundle (node built-ins only) loads and starts scrypt on libuv's thread
// pool first; the main bundle then loads while the derivation runs (they share the result
// through globalThis, core repository/kek.ts).
const bundle = new URL('../dist/stowage.bundle.cjs', import.meta.url);
const prefetchBundle = new URL('../dist/prefetch.bundle.mjs', import.meta.url);
const bundled = existsSync(bundle) && existsSync(prefetchBundle);
const prefetch = bundled ? await import(prefetchBundle.href) : await import('../dist/prefetch.js');
prefetch.prefetchFromArgs(process.argv, process.env);
if (process.env.STOWAGE_TIMELINE) performance.mark('prefetch started');
// the main bundle through V8's code cache (src/code-cache.ts). When the cache was accepted,
// functions are optimised later than V8's default (an interrupt budget of 1,000,000 instead of
// 132 KiB of bytecode run): a command runs for seconds, and V8's optimising compiler spent
// about 0.15-0.2 CPU-s of a 0.7 s unchanged tree snapshot (and of a 3 s first one) on
// functions that ran a few hundred times, on the two cores the command itself needs.
// Set after the cache check, so the cache stays valid (see src/code-cache.ts flagsOnHit).
// One cache per command (src/code-cache.ts commandCacheKey): a cache holds what the run that
// wrote it compiled.
const TIERING = '--interrupt-budget=1000000';
const codeCache = bundled ? await import('../dist/code-cache.js') : undefined;
const cli = codeCache
  ? codeCache.requireWithCodeCache(fileURLToPath(bundle), { flagsOnHit: TIERING, key: codeCache.commandCacheKey(process.argv) }).exports
  : { ...(await import('../dist/main.js')), ...(await import('../dist/run.js')) };
if (process.env.STOWAGE_TIMELINE) performance.mark('bundle loaded');
cli.runToExit(() => cli.main(process.argv), { json: process.argv.includes('--json') });
