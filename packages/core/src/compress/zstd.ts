/**
 * zstd per blob, raw when compression does not shrink it.
 *
 * Synchronous native calls (zstd-napi): the snapshot and restore pipelines run
 * them in worker threads (repository/codec-worker.ts), never on the main thread
 * for bulk data.
 */
import { Compressor, decompress as zstdDecompress } from 'zstd-napi';
import { corrupt } from '../errors.js';

/** Result of compressing one blob. */
export interface Compressed {
  /** The stored bytes: zstd frame, or the input itself when that is not larger. */
  readonly bytes: Uint8Array;
  /** True when `bytes` is a zstd frame. */
  readonly compressed: boolean;
}

/** Compresses `data` at `level`; keeps it raw when the frame would not be smaller. Level 0 stores raw. */
export function compressBlob(data: Uint8Array, level: number): Compressed {
  if (level === 0 || data.length === 0) return { bytes: data, compressed: false };
  const out = compressorFor(level).compress(data);
  if (out.length >= data.length) return { bytes: data, compressed: false };
  return { bytes: out, compressed: true };
}

/** Decompresses a blob stored by compressBlob; CORRUPT when the frame is damaged or the size is wrong. */
export function decompressBlob(stored: Uint8Array, compressed: boolean, rawLength: number): Uint8Array {
  if (!compressed) {
    if (stored.length !== rawLength) throw corrupt(`raw blob has ${stored.length} bytes, expected ${rawLength}`);
    return stored;
  }
  let out: Buffer;
  try {
    out = zstdDecompress(stored);
  } catch (err) {
    throw corrupt(`zstd frame does not decompress: ${(err as Error).message}`, err);
  }
  if (out.length !== rawLength) throw corrupt(`blob decompresses to ${out.length} bytes, expected ${rawLength}`);
  return out;
}

const compressors = new Map<number, Compressor>();

/** One reusable compression context per level (contexts are expensive to create). */
function compressorFor(level: number): Compressor {
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    c.setParameters({ compressionLevel: level });
    compressors.set(level, c);
  }
  return c;
}
