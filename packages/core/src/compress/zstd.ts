/**
 * zstd per blob, raw when compression does not shrink it.
 *
 * Synchronous native calls (zstd-napi's binding, used directly so that batches
 * compress into and decompress into one preallocated buffer without copies).
 * The snapshot and restore pipelines run them in worker threads
 * (repository/codec-worker.ts), never on the main thread for bulk data.
 */
import { createRequire } from 'node:module';
import { corrupt } from '../errors.js';

interface CCtx {
  compress(dst: Uint8Array, src: Uint8Array, level: number): number;
  compressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number;
}
interface DCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
  decompressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): number;
}
interface Binding {
  CCtx: new () => CCtx;
  DCtx: new () => DCtx;
  compressBound(size: number): number;
}

const binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
let cctx: CCtx | undefined;
let dctx: DCtx | undefined;

/** Upper bound of a zstd frame for `size` input bytes. */
export function compressBound(size: number): number {
  return binding.compressBound(size);
}

/**
 * Compresses `src` into `dst` (which must hold compressBound(src.length) bytes).
 * Returns the frame length, or -1 when the frame would not be smaller than `src`
 * (store raw). Level 0 always returns -1.
 */
export function compressInto(dst: Uint8Array, src: Uint8Array, level: number): number {
  if (level === 0 || src.length === 0) return -1;
  cctx ??= new binding.CCtx();
  const n = cctx.compress(dst, src, level);
  return n < src.length ? n : -1;
}

/**
 * Compresses `src` into `dst` with `dict` (another blob's plaintext) as the dictionary:
 * a delta against it. Returns the frame length, or -1 when zstd refuses the dictionary.
 * The frame decodes only with the same dictionary (decompressWithDictInto).
 */
export function compressWithDictInto(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number {
  cctx ??= new binding.CCtx();
  try {
    return cctx.compressUsingDict(dst, src, dict, Math.max(1, level));
  } catch {
    return -1; // e.g. a base that starts like a formatted zstd dictionary but is not one
  }
}

/** Decompresses a delta frame made by compressWithDictInto into exactly `dst`; CORRUPT otherwise. */
export function decompressWithDictInto(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): void {
  dctx ??= new binding.DCtx();
  let n: number;
  try {
    n = dctx.decompressUsingDict(dst, src, dict);
  } catch (err) {
    throw corrupt(`delta frame does not decompress to ${dst.length} bytes with its base: ${(err as Error).message}`, err);
  }
  if (n !== dst.length) throw corrupt(`delta blob decompresses to ${n} bytes, expected ${dst.length}`);
}

/** Decompresses frame `src` into exactly `dst` (its length is the expected size); CORRUPT otherwise. */
export function decompressInto(dst: Uint8Array, src: Uint8Array): void {
  dctx ??= new binding.DCtx();
  let n: number;
  try {
    n = dctx.decompress(dst, src);
  } catch (err) {
    throw corrupt(`zstd frame does not decompress to ${dst.length} bytes: ${(err as Error).message}`, err);
  }
  if (n !== dst.length) throw corrupt(`blob decompresses to ${n} bytes, expected ${dst.length}`);
}

/** Result of compressing one blob. */
export interface Compressed {
  /** The stored bytes: zstd frame, or the input itself when that is not smaller. */
  readonly bytes: Uint8Array;
  /** True when `bytes` is a zstd frame. */
  readonly compressed: boolean;
}

/** Compresses one blob at `level`; keeps it raw when the frame would not be smaller. */
export function compressBlob(data: Uint8Array, level: number): Compressed {
  const dst = Buffer.allocUnsafe(compressBound(data.length));
  const n = compressInto(dst, data, level);
  return n < 0 ? { bytes: data, compressed: false } : { bytes: dst.subarray(0, n), compressed: true };
}

/** Decompresses one blob stored by compressBlob; CORRUPT when the frame is damaged or the size is wrong. */
export function decompressBlob(stored: Uint8Array, compressed: boolean, rawLength: number): Uint8Array {
  if (!compressed) {
    if (stored.length !== rawLength) throw corrupt(`raw blob has ${stored.length} bytes, expected ${rawLength}`);
    return stored;
  }
  const out = Buffer.allocUnsafe(rawLength);
  decompressInto(out, stored);
  return out;
}
