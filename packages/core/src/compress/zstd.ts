/**
 * zstd per blob, raw when compression does not shrink it.
 *
 * Synchronous native calls (zstd-napi's binding, used directly so that batches
 * compress into and decompress into one preallocated buffer without copies).
 * The snapshot and restore pipelines run them in worker threads
 * (repository/codec-worker.ts), never on the main thread for bulk data.
 */
import { createRequire } from 'node:module';
import { StowageError, corrupt } from '../errors.js';
import { freeNow } from '../util/detach.js';

interface CCtx {
  compress(dst: Uint8Array, src: Uint8Array, level: number): number;
  compressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number;
}
interface DCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
  decompressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): number;
  /** ZSTD_decompressStream: [0 when the frame is complete and flushed, bytes written, bytes consumed]. */
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
  reset(directive: number): void;
}
interface Binding {
  CCtx: new () => CCtx;
  DCtx: new () => DCtx;
  compressBound(size: number): number;
}

const binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
/** ZSTD_reset_session_only: abandons the frame in progress, keeps the parameters. */
const RESET_SESSION = 1;
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

/**
 * One zstd frame decompressed front to back, a member at a time, each straight where it goes:
 * `read(dst, at)` decodes the frame's plaintext bytes [at, at + dst.length) into `dst`, skipping
 * (decoding into a small scratch buffer) what lies between the last read and `at`. A restore
 * needs some members of a frame of up to 4 MiB (FRAME_TARGET), seldom the last ones: decoding
 * stops after the last member needed so far and goes on from there when a later job (the next
 * window) needs more, where a frame decoded whole into a buffer of its own, members copied out
 * of it, costs its tail every time and its whole length again for a member needed later.
 *
 * ZSTD_decompressStream decodes block by block into the decoder's own window buffer (at most the
 * frame's plaintext, touched only as far as decoded) and copies out what fits: one copy per
 * member, as when a member is copied out of a frame buffer. Measured on 24 frames of 4 MiB of
 * rootfs text, idle (2026-11-30): 375-381 ms in one pass (ZSTD_decompressDCtx), 377-382 ms
 * streamed whole, 199-201 ms streamed to half of each frame, per 480 MiB.
 *
 * The stored bytes given to `start` are used as they are until `settle()`, which copies what of
 * them is not consumed yet (into a buffer of just that size, the previous one freed at once), so
 * the caller may then reuse or free them (a read slot reused for the next window, a cipher output).
 */
export class FrameDecoder {
  private readonly dctx: DCtx = new binding.DCtx();
  /** The frame's stored bytes: src[srcAt, srcEnd) not consumed yet; the caller's until settle() (owned false). */
  private src: Uint8Array = new Uint8Array(0);
  private srcAt = 0;
  private srcEnd = 0;
  private owned = false;
  private skip: Buffer | undefined;
  private total = 0;
  /** Plaintext bytes of the frame decoded so far; -1 when no frame is in progress (none started, or it failed). */
  private at = -1;
  /** The caller's name of the frame in progress. */
  private name: string | undefined;
  /** Plaintext bytes decompressed by this decoder, skipped ones included (a counter for tests and benchmarks). */
  decodedBytes = 0;

  /** The name given to `start` for the frame in progress, undefined when there is none (or it failed). */
  get key(): string | undefined {
    return this.at < 0 ? undefined : this.name;
  }

  /** Plaintext length of the frame in progress (as given to `start`). */
  get length(): number {
    return this.total;
  }

  /** Plaintext offset the next read may start at (bytes decoded so far); -1 when no frame is in progress. */
  get position(): number {
    return this.at;
  }

  /** Bytes of the decoder's own buffers (the copy of the frame's stored bytes not consumed yet, the skip buffer; not zstd's window). */
  get keptBytes(): number {
    return (this.owned ? this.src.length : 0) + (this.skip?.length ?? 0);
  }

  /** Starts frame `src` (used as it is until settle()), named `name`, whose plaintext must be exactly `total` bytes long. */
  start(name: string, src: Uint8Array, total: number): void {
    this.dctx.reset(RESET_SESSION);
    this.drop();
    this.src = src;
    this.srcAt = 0;
    this.srcEnd = src.length;
    this.total = total;
    this.at = 0;
    this.name = name;
  }

  /** Stops using the stored bytes given to `start`: copies what the frame in progress has not consumed yet. */
  settle(): void {
    if (this.owned) return;
    if (this.at < 0 || this.at === this.total) return this.drop();
    const left = Buffer.allocUnsafeSlow(this.srcEnd - this.srcAt);
    left.set(this.src.subarray(this.srcAt, this.srcEnd));
    this.src = left;
    this.srcAt = 0;
    this.srcEnd = left.length;
    this.owned = true;
  }

  /** Forgets the stored bytes (freed at once when they are the decoder's own copy). */
  private drop(): void {
    if (this.owned) freeNow(this.src);
    this.src = new Uint8Array(0);
    this.srcAt = this.srcEnd = 0;
    this.owned = false;
  }

  /**
   * Decodes plaintext bytes [at, at + dst.length) of the frame in progress into `dst` (`at` not
   * before `position`). CORRUPT when the frame is damaged, ends before its length, or goes on
   * after it (found once decoded that far); the frame must then be started again.
   */
  read(dst: Uint8Array, at: number): void {
    if (this.at < 0 || at < this.at || at + dst.length > this.total) throw new RangeError('FrameDecoder.read: outside the frame or behind its position');
    try {
      while (this.at < at) {
        this.skip ??= Buffer.allocUnsafeSlow(128 * 1024);
        this.fill(this.skip.subarray(0, Math.min(this.skip.length, at - this.at)));
      }
      this.fill(dst);
    } catch (err) {
      this.at = -1;
      if (err instanceof StowageError) throw err;
      throw corrupt(`zstd frame does not decompress to ${this.total} bytes: ${(err as Error).message}`, err);
    }
  }

  /** Decodes the frame's next dst.length bytes into dst; at its end, checks that the frame ends there. */
  private fill(dst: Uint8Array): void {
    let done = 0;
    let ret = 1;
    while (done < dst.length) {
      const r = this.dctx.decompressStream(done === 0 ? dst : dst.subarray(done), this.src.subarray(this.srcAt, this.srcEnd));
      ret = r[0];
      done += r[1];
      this.srcAt += r[2];
      this.at += r[1];
      this.decodedBytes += r[1];
      if (ret === 0 && this.at < this.total) throw corrupt(`zstd frame ends after ${this.at} bytes, expected ${this.total}`);
      if (r[1] === 0 && r[2] === 0) throw corrupt(`zstd frame truncated after ${this.at} of ${this.total} bytes`);
    }
    // all of the plaintext out: the frame must end here (as a one-pass decode into exactly its length)
    for (let k = 0; this.at === this.total && ret !== 0; k++) {
      const r = this.dctx.decompressStream(dst.subarray(dst.length), this.src.subarray(this.srcAt, this.srcEnd));
      ret = r[0];
      this.srcAt += r[2];
      if (ret !== 0 && (r[2] === 0 || k > 64)) throw corrupt(`zstd frame does not end after ${this.total} bytes`);
    }
  }
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
