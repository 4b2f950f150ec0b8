/**
 * Microbenchmark of the FastCDC scanners (used by native-bench).
 *
 * Owns: timing `Cutter.cuts(data, eof = true)` over a caller-supplied buffer.
 */
import { createCutter } from './cutter.js';
import type { ChunkerParams } from './params.js';

/**
 * Scans `data` with the given implementation `rounds` times (default 5, after
 * one warm-up pass) and returns the best throughput in MB/s (10^6 bytes/s).
 */
export function benchCutter(impl: 'wasm' | 'js', params: ChunkerParams, data: Uint8Array, rounds = 5): { mbPerSec: number } {
  const cutter = createCutter(params, impl);
  cutter.cuts(data, true); // warm-up: compile / tier up the hot loop
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    cutter.cuts(data, true);
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
  }
  return { mbPerSec: data.length / 1e6 / (Math.max(best, 1) / 1e9) };
}
