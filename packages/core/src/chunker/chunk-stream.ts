/**
 * Drives a Cutter over a byte stream.
 *
 * Owns: buffering an AsyncIterable<Uint8Array> into batches of whole chunks
 * (carrying the undecided tail into the next batch) and the one-shot helper
 * for in-memory inputs. Cut points never depend on how the source is split
 * into pieces: they equal `chunkBuffer` on the concatenated stream.
 */
import type { Cutter } from './cutter.js';

/** Consecutive whole chunks of a stream. */
export interface ChunkBatch {
  /**
   * Freshly allocated bytes owned by the consumer (never reused by the
   * generator; keep subarray views freely). Its ArrayBuffer may be up to 1/8
   * larger than `data.length`.
   */
  readonly data: Uint8Array;
  /** Chunk lengths in stream order; they sum to data.length. */
  readonly lengths: readonly number[];
}

const INITIAL_BUFFER = 64 << 10;

/**
 * Reads `source` and yields batches of consecutive chunks covering the stream
 * in order (empty input yields nothing). Each batch holds at least
 * `batchBytes` bytes except the last; at most about batchBytes + maxSize bytes
 * are buffered. Source pieces are copied on receipt, so the source may reuse
 * its buffers.
 */
export async function* chunkBatches(source: AsyncIterable<Uint8Array>, cutter: Cutter, batchBytes = 8 << 20): AsyncGenerator<ChunkBatch> {
  if (!Number.isSafeInteger(batchBytes) || batchBytes < 1) {
    throw new RangeError(`batchBytes must be a positive integer, got ${batchBytes}`);
  }
  const capacity = batchBytes + cutter.params.maxSize;
  let buf = new Uint8Array(0);
  let filled = 0;

  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (filled === buf.length) {
        if (buf.length < capacity) {
          // grow (doubling) so small streams do not pay for a full batch buffer
          const want = Math.max(INITIAL_BUFFER, buf.length * 2, filled + piece.length - off);
          const grown = new Uint8Array(Math.min(capacity, want));
          grown.set(buf.subarray(0, filled));
          buf = grown;
        } else {
          const batch = takeBatch(cutter, buf, filled, false);
          const tail = buf.subarray(batch.data.length, filled);
          buf = new Uint8Array(capacity);
          buf.set(tail);
          filled = tail.length;
          yield batch;
          continue;
        }
      }
      const take = Math.min(piece.length - off, buf.length - filled);
      buf.set(piece.subarray(off, off + take), filled);
      filled += take;
      off += take;
    }
  }
  if (filled > 0) yield takeBatch(cutter, buf, filled, true);
}

function takeBatch(cutter: Cutter, buf: Uint8Array, filled: number, eof: boolean): ChunkBatch {
  const result = cutter.cuts(buf.subarray(0, filled), eof);
  const lengths = Array.from(result.lengths);
  let consumed = 0;
  for (const len of lengths) consumed += len;
  // A view keeps the whole ArrayBuffer alive; copy out when the slack is large.
  const data = buf.length - consumed > consumed >>> 3 ? buf.slice(0, consumed) : buf.subarray(0, consumed);
  return { data, lengths };
}

/** All chunk lengths of an in-memory input (eof = true); for small inputs. */
export function chunkBuffer(data: Uint8Array, cutter: Cutter): number[] {
  return Array.from(cutter.cuts(data, true).lengths);
}
