/**
 * V8's old-generation growth for one command: `withHeapGrowth(percent, fn)` runs `fn` with
 * V8's `--heap-growing-percent` set (after each full collection the next one comes once the
 * old generation grew to `1 + percent / 100` times what survived) and sets it back to V8's
 * default (0: a factor V8 picks from its GC and allocation speeds, up to 4) when `fn` settles,
 * so a code cache written at exit carries the default flags (src/code-cache.ts).
 *
 * Why (tree snapshots, issue 11): a walk of a million small files promotes about 1 KB of
 * short-lived objects a file (nodes and promises waiting for their extents), so with V8's
 * factor the old generation sat near 4x its 14-18 MB of live data; a factor of 2 took the
 * first snapshot of 1,000,000 files from 239-250 to 202-213 MB peak RSS at 25.2-27.3 against
 * 25.9-27.0 CPU-s (three alternating pairs; a factor of 1.5: 205-214 MB but about 13 % more
 * CPU, more full collections). native-bench/README.md,
 * "Tree snapshots' memory: session of 2026-11-29 night".
 */
import { setFlagsFromString } from 'node:v8';

export async function withHeapGrowth<T>(percent: number, fn: () => Promise<T>, set: (flags: string) => void = setFlagsFromString): Promise<T> {
  set(`--heap-growing-percent=${percent}`);
  try {
    return await fn();
  } finally {
    set('--heap-growing-percent=0');
  }
}
