/**
 * The chunker contract: a Cutter is a pure scanner (no I/O, no knowledge of the
 * stream), implemented by the wasm and plain-JS FastCDC scanners and driven by
 * chunk-stream.ts. cutter.ts chooses between the implementations.
 */
import type { ChunkerParams } from './params.js';

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
