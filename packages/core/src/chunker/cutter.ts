/**
 * The chunker contract (`Cutter`) and its factory.
 *
 * Owns: the scanner interface shared by the wasm and plain-JS FastCDC
 * implementations, and the choice between them. A Cutter is a pure scanner:
 * no I/O, no knowledge of the stream; chunk-stream.ts drives it.
 */
import { createJsCutter } from './fastcdc-js.js';
import { createWasmCutter, wasmAvailable } from './fastcdc-wasm.js';
import { validateChunkerParams, type ChunkerParams } from './params.js';

/** Result of one `Cutter.cuts` call. The arrays are views valid only until the next call on the same cutter. */
export interface CutResult {
  /** Number of chunks found. */
  readonly count: number;
  /** `count` consecutive chunk lengths, the first starting at data[0]. */
  readonly lengths: Uint32Array;
  /** The gear hash at each cut as fastcdc-rs v2020 reports it; only when wantHashes was true. */
  readonly hashes: BigUint64Array | undefined;
}

/**
 * A FastCDC (v2020, fastcdc-rs compatible) scanner.
 *
 * `cuts(data, eof)` finds consecutive chunk lengths starting at data[0].
 * When `eof` is false it only emits chunks whose cut decision is final, i.e.
 * while the bytes remaining from the chunk start are >= maxSize; the caller
 * keeps the unconsumed tail (data.length - sum(lengths)) and passes it again,
 * followed by more data, next time. When `eof` is true it chunks everything to
 * the end (the last chunk may be shorter than minSize). Returned arrays are
 * views valid only until the next call. `hashes` only when `wantHashes`.
 * A Cutter is not reentrant; use one per concurrent stream.
 */
export interface Cutter {
  readonly impl: 'wasm' | 'js';
  readonly params: ChunkerParams;
  cuts(data: Uint8Array, eof: boolean, wantHashes?: boolean): CutResult;
}

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
