/**
 * The Cutter factory: the choice between the wasm and plain-JS FastCDC scanners (the
 * contract they share, `Cutter`, is in scanner.ts). A Cutter is a pure scanner: no I/O,
 * no knowledge of the stream; chunk-stream.ts drives it.
 */
import { createJsCutter } from './fastcdc-js.js';
import { createWasmCutter, wasmAvailable } from './fastcdc-wasm.js';
import { validateChunkerParams, type ChunkerParams } from './params.js';
import type { Cutter } from './scanner.js';

export type { CutResult, Cutter } from './scanner.js';

/**
 * Creates a Cutter for `params` (validated: throws StowageError INVALID_ARGUMENT).
 * `impl`: 'wasm', 'js', or 'auto' (default) = wasm, falling back to js when
 * WebAssembly is unavailable or fails to instantiate. Both give identical results.
 */
export function createCutter(params: ChunkerParams, impl: 'wasm' | 'js' | 'auto' = 'auto'): Cutter {
  validateChunkerParams(params);
  const frozen: ChunkerParams = Object.freeze({
    minSize: params.minSize,
    avgSize: params.avgSize,
    maxSize: params.maxSize,
    level: params.level,
    seed: params.seed,
  });
  if (impl === 'js') return createJsCutter(frozen);
  if (impl === 'wasm') return createWasmCutter(frozen);
  if (wasmAvailable()) {
    try {
      return createWasmCutter(frozen);
    } catch {
      // fall through to the JS scanner (e.g. wasm disabled by policy or out of memory)
    }
  }
  return createJsCutter(frozen);
}
