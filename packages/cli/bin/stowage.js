#!/usr/bin/env -S sh -c 'MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-2097152} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-2097152} exec node --max-semi-space-size=2 "$0" "$@"'
// The #! line runs node through sh with the memory settings measured for issue 13 (peak RSS
// of image snapshots and restores), each kept when the user set it: glibc malloc with two
// arenas that hand blocks of 2 MiB and more (and free tops of 2 MiB) back to the system,
// instead of one arena per thread keeping up to 64 MiB each after large buffers were freed;
// and a young generation of 2 MiB semi-spaces on every isolate (node's default grows to 16 MiB).
// Package managers' shims copy the line (pnpm, npm); `node bin/stowage.js` runs without it.
// See native-bench/README.md, "Peak RSS of image snapshots and restores".
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
// the main bundle through V8's code cache (src/code-cache.ts)
const cli = bundled ? (await import('../dist/code-cache.js')).requireWithCodeCache(fileURLToPath(bundle)).exports : { ...(await import('../dist/main.js')), ...(await import('../dist/run.js')) };
cli.runToExit(() => cli.main(process.argv), { json: process.argv.includes('--json') });
