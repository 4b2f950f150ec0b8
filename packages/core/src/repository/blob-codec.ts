/**
 * Blob encoding: plaintext -> (zstd | raw) -> seal, and back with verification.
 *
 * Pure functions over batches, so they run the same in a worker thread
 * (codec-worker.ts) and inline. Encoding verifies its own output (decode and
 * compare) before anything is uploaded, as restic does; decoding verifies every
 * blob against its id.
 */
import { StowageError, corrupt } from '../errors.js';
import { compressBound, compressInto, compressWithDictInto, decompressInto, decompressWithDictInto } from '../compress/zstd.js';
import { idHasher } from '../hash/blake3.js';
import type { Cipher } from './cipher.js';
import { cipherFromSpec, type CipherSpec } from './cipher-spec.js';

/** Everything a codec needs, serialisable for worker threads. */
export interface CodecSpec {
  readonly level: number;
  readonly cipher: CipherSpec;
  /** Key of the keyed id hash, when the repository uses one. */
  readonly idKey?: Uint8Array | undefined;
  /** Re-decode every encoded blob before returning it (default true). */
  readonly verify?: boolean;
}

export interface EncodedBatch {
  /** Stored bytes of every blob, concatenated. */
  readonly stored: Buffer;
  readonly storedLengths: number[];
  readonly compressed: boolean[];
  /** True where the blob was stored as a delta against the base given for it. */
  readonly delta: boolean[];
}

/**
 * A delta is kept only when its frame is at most this fraction of the blob compressed
 * alone: below that, depending on another blob (read at restore, kept alive by gc) is
 * not worth it.
 */
export const DELTA_WORTH = 0.75;
/** A delta frame this small (a fraction of the plaintext) is kept without compressing the blob alone to compare. */
export const DELTA_SURE = 0.1;

/** One blob to decode from a buffer of stored bytes. */
export interface DecodeItem {
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
  readonly compressed: boolean;
  /** Expected id (32 bytes). */
  readonly id: Uint8Array;
  /** Delta blobs: the base's plaintext (required exactly when the location names a base). */
  readonly base?: Uint8Array | undefined;
}

export interface DecodedBatch {
  /** Plaintext of every blob, concatenated in item order. */
  readonly plain: Buffer;
  readonly lengths: number[];
}

/** A ready codec for one spec. */
export class BlobCodec {
  readonly cipher: Cipher;
  private readonly hash: (d: Uint8Array) => Buffer;
  private scratch: Buffer = Buffer.alloc(0);
  /** Compressed bytes of one blob before sealing (encrypted repositories). */
  private zbuf: Buffer = Buffer.alloc(0);
  /** A delta frame being tried. */
  private dbuf: Buffer = Buffer.alloc(0);

  constructor(readonly spec: CodecSpec) {
    this.cipher = cipherFromSpec(spec.cipher);
    this.hash = idHasher(spec.idKey);
  }

  /**
   * Encodes consecutive blobs of `data` (lengths given, from its start). `baseSpans`, when
   * given, holds an (offset, length) pair per blob: where in `data` (after the blobs) the
   * plaintext of a candidate base lies, length 0 for none. A blob is stored as a delta
   * against its base when that is at most DELTA_WORTH of its size compressed alone.
   */
  encode(data: Uint8Array, lengths: readonly number[], baseSpans?: readonly number[]): EncodedBatch {
    const bases = baseSpans && lengths.map((_, i) => (baseSpans[2 * i + 1]! > 0 ? data.subarray(baseSpans[2 * i]!, baseSpans[2 * i]! + baseSpans[2 * i + 1]!) : undefined));
    if (this.cipher.overhead === 0) return this.encodePlain(data, lengths, bases);
    return this.encodeSealed(data, lengths, bases);
  }

  /** Delta frame of `plain` against `base` in dbuf; its length, or -1 when there is none. */
  private deltaFrame(plain: Uint8Array, base: Uint8Array | undefined): number {
    if (!base || base.length === 0 || this.spec.level === 0) return -1;
    if (this.dbuf.length < compressBound(plain.length)) this.dbuf = Buffer.allocUnsafeSlow(compressBound(plain.length));
    return compressWithDictInto(this.dbuf, plain, base, this.spec.level);
  }

  /**
   * Encrypted repositories: compress each blob into a reused buffer and seal it straight
   * into one output buffer; verification opens the sealed bytes (AEAD tag included).
   */
  private encodeSealed(data: Uint8Array, lengths: readonly number[], bases?: readonly (Uint8Array | undefined)[]): EncodedBatch {
    let bound = 0;
    let maxLen = 0;
    for (const len of lengths) {
      bound += len + this.cipher.overhead; // stored raw when compression does not shrink it
      if (len > maxLen) maxLen = len;
    }
    if (this.zbuf.length < compressBound(maxLen)) this.zbuf = Buffer.allocUnsafeSlow(compressBound(maxLen));
    const out = Buffer.allocUnsafeSlow(bound);
    const storedLengths: number[] = [];
    const compressedFlags: boolean[] = [];
    const deltaFlags: boolean[] = [];
    let off = 0;
    let pos = 0;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      const plain = data.subarray(off, off + len);
      off += len;
      const base = bases?.[i];
      let d = this.deltaFrame(plain, base);
      const sure = d >= 0 && d <= len * DELTA_SURE;
      const n = sure ? -1 : compressInto(this.zbuf, plain, this.spec.level);
      if (!sure && d >= 0 && d > (n >= 0 ? n : len) * DELTA_WORTH) d = -1;
      const compressed = n >= 0 || d >= 0;
      const frame = d >= 0 ? this.dbuf.subarray(0, d) : n >= 0 ? this.zbuf.subarray(0, n) : plain;
      const m = this.cipher.sealInto(out, pos, frame);
      if (this.spec.verify !== false) this.verifyEncoded(plain, this.cipher.open(out.subarray(pos, pos + m), 'freshly encoded blob'), compressed, d >= 0 ? base! : undefined);
      storedLengths.push(m);
      compressedFlags.push(compressed);
      deltaFlags.push(d >= 0);
      pos += m;
    }
    return { stored: out.subarray(0, pos), storedLengths, compressed: compressedFlags, delta: deltaFlags };
  }

  /** Plaintext repositories: compress every blob straight into one output buffer. */
  private encodePlain(data: Uint8Array, lengths: readonly number[], bases?: readonly (Uint8Array | undefined)[]): EncodedBatch {
    let bound = 0;
    for (const len of lengths) bound += compressBound(len);
    const out = Buffer.allocUnsafeSlow(bound);
    const storedLengths: number[] = [];
    const compressedFlags: boolean[] = [];
    const deltaFlags: boolean[] = [];
    let off = 0;
    let pos = 0;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      const plain = data.subarray(off, off + len);
      off += len;
      const base = bases?.[i];
      let d = this.deltaFrame(plain, base);
      const sure = d >= 0 && d <= len * DELTA_SURE;
      let n = sure ? -1 : compressInto(out.subarray(pos), plain, this.spec.level);
      let compressed = n >= 0;
      if (!sure && d >= 0 && d > (compressed ? n : len) * DELTA_WORTH) d = -1;
      if (d >= 0) {
        out.set(this.dbuf.subarray(0, d), pos);
        n = d;
        compressed = true;
      } else if (!compressed) {
        out.set(plain, pos);
        n = len;
      }
      if (this.spec.verify !== false) this.verifyEncoded(plain, out.subarray(pos, pos + n), compressed, d >= 0 ? base! : undefined);
      storedLengths.push(n);
      compressedFlags.push(compressed);
      deltaFlags.push(d >= 0);
      pos += n;
    }
    return { stored: out.subarray(0, pos), storedLengths, compressed: compressedFlags, delta: deltaFlags };
  }

  /** Re-decodes a freshly encoded blob and compares it with its plaintext (guards against codec bugs). */
  private verifyEncoded(plain: Uint8Array, stored: Uint8Array, compressed: boolean, base?: Uint8Array): void {
    let back: Uint8Array = stored;
    if (compressed) {
      if (this.scratch.length < plain.length) this.scratch = Buffer.allocUnsafe(Math.max(plain.length, 1 << 20));
      back = this.scratch.subarray(0, plain.length);
      if (base) decompressWithDictInto(back, stored, base);
      else decompressInto(back, stored);
    }
    if (Buffer.compare(back, plain) !== 0) throw new Error('internal error: encoded blob does not decode to its plaintext');
  }

  /** Decodes and verifies blobs into one buffer; CORRUPT naming the blob when one does not match its id. */
  decode(data: Uint8Array, items: readonly DecodeItem[], what: string): DecodedBatch {
    let total = 0;
    for (const it of items) total += it.rawLength;
    const out = Buffer.allocUnsafeSlow(total);
    return { plain: out, lengths: this.decodeInto(data, items, out, what) };
  }

  /**
   * Decodes and verifies blobs into `out` (consecutively, from its start; it must hold the
   * sum of the items' raw lengths, and may be shared memory). Returns the lengths.
   */
  decodeInto(data: Uint8Array, items: readonly DecodeItem[], out: Uint8Array, what: string): number[] {
    const lengths: number[] = [];
    let pos = 0;
    for (const it of items) {
      const idHex = (): string => Buffer.from(it.id).toString('hex');
      if (it.offset + it.length > data.length) throw corrupt(`blob ${idHex()} in ${what}: stored bytes missing (pack truncated?)`);
      if (pos + it.rawLength > out.length) throw new RangeError('decodeInto: output buffer too small');
      const dst = out.subarray(pos, pos + it.rawLength);
      try {
        const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `blob ${idHex()} in ${what}`);
        if (it.base) decompressWithDictInto(dst, opened, it.base);
        else if (it.compressed) decompressInto(dst, opened);
        else if (opened.length !== it.rawLength) throw corrupt(`raw blob has ${opened.length} bytes, expected ${it.rawLength}`);
        else dst.set(opened);
      } catch (err) {
        if (err instanceof StowageError) {
          const prefix = `blob ${idHex()} in ${what}`;
          throw corrupt(err.message.startsWith(prefix) ? err.message : `${prefix}: ${err.message}`, err);
        }
        throw err;
      }
      if (!this.hash(dst).equals(it.id)) throw corrupt(`blob ${idHex()} in ${what}: content does not match its id (hash mismatch)`);
      lengths.push(it.rawLength);
      pos += it.rawLength;
    }
    return lengths;
  }

  /** Id of a plaintext under this repository's id hash. */
  id(plain: Uint8Array): Buffer {
    return this.hash(plain);
  }
}

/** A location's fields as a decode item; `basePlain` is required when the location is a delta blob. */
export function decodeItem(
  loc: { readonly offset: number; readonly length: number; readonly rawLength: number; readonly compressed: boolean; readonly base?: Uint8Array | undefined },
  id: Uint8Array,
  offset: number,
  basePlain?: Uint8Array,
): DecodeItem {
  if (loc.base && !basePlain) throw new Error(`internal error: delta blob ${Buffer.from(id).toString('hex')} decoded without its base`);
  return { offset, length: loc.length, rawLength: loc.rawLength, compressed: loc.compressed, id, ...(loc.base && { base: basePlain }) };
}
