#!/usr/bin/env -S sh -c 'MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-2097152} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-2097152} exec node "$0" "$@"'
// The #! line runs node through sh with glibc's malloc set for a small peak RSS (issue 13),
// each variable kept when the user set it: two arenas, and blocks and free tops of 2 MiB and
// more handed back to the system. By default glibc gives each thread an arena, and once a
// buffer larger than 128 KiB was freed its threshold rises, so that each arena keeps up to
// twice that (up to 64 MiB) of free memory. No V8 flags: they would also make V8 reject the
// code cache written by `node bin/stowage.js` (src/code-cache.ts), and a 2 MiB young
// generation cost a restore about 20% more CPU for 9 MB. Package managers' shims copy the
// line (pnpm, npm); `node bin/stowage.js` runs without it. See native-bench/README.md,
// "Peak RSS of image snapshots and restores".
//
// Start the password's key derivation (scrypt, encrypted repositories) before the rest of
// the CLI runs, so the two overlap (src/prefetch.ts); then run the CLI. The single-file
// bundle (scripts/bundle.mjs) starts faster; the plain compiled modules work as well.
// The exit code is main's result; a main still unsettled when the process is about to end
// is an error exit (src/run.ts), never exit 0.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The tiny prefetch bundle (node built-ins only) loads and starts scrypt on libuv's thread
// pool first; the main bundle then loads while the derivation runs (they share the result
// through globalThis, core repository/kek.ts).
const bundle = new URL('../dist/stowage.bundle.cjs', import.meta.url);
const prefetchBundle = new URL('../dist/prefetch.bundle.mjs', import.meta.url);
const bundled = existsSync(bundle) && existsSync(prefetchBundle);
const prefetch = bundled ? await import(prefetchBundle.href) : await import('../dist/prefetch.js');
prefetch.prefetchFromArgs(process.argv, process.env);
// the main bundle through V8's code cache (src/code-cache.ts). When the cache was accepted,
// functions are optimised later than V8's default (an interrupt budget of 1,000,000 instead of
// 132 KiB of bytecode run): a command runs for seconds, and V8's optimising compiler spent
// about 0.15-0.2 CPU-s of a 0.7 s unchanged tree snapshot (and of a 3 s first one) on
// functions that ran a few hundred times, on the two cores the command itself needs.
// Set after the cache check, so the cache stays valid (see src/code-cache.ts flagsOnHit).
const TIERING = '--interrupt-budget=1000000';
const cli = bundled
  ? (await import('../dist/code-cache.js')).requireWithCodeCache(fileURLToPath(bundle), { flagsOnHit: TIERING }).exports
  : { ...(await import('../dist/main.js')), ...(await import('../dist/run.js')) };
cli.runToExit(() => cli.main(process.argv), { json: process.argv.includes('--json') });
