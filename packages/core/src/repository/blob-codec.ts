/**
 * Blob encoding: plaintext -> (zstd | raw) -> seal, and back with verification.
 *
 * Pure functions over batches, so they run the same in a worker thread
 * (codec-worker.ts) and inline. Encoding verifies its own output (decode and
 * compare) before anything is uploaded, as restic does; decoding verifies every
 * blob against its id.
 */
import { StowageError, corrupt } from '../errors.js';
import { compressBlob, decompressBlob } from '../compress/zstd.js';
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
}

/** One blob to decode from a buffer of stored bytes. */
export interface DecodeItem {
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
  readonly compressed: boolean;
  /** Expected id (32 bytes). */
  readonly id: Uint8Array;
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

  constructor(readonly spec: CodecSpec) {
    this.cipher = cipherFromSpec(spec.cipher);
    this.hash = idHasher(spec.idKey);
  }

  /** Encodes consecutive blobs of `data` (lengths given). */
  encode(data: Uint8Array, lengths: readonly number[]): EncodedBatch {
    const parts: Buffer[] = [];
    const storedLengths: number[] = [];
    const compressedFlags: boolean[] = [];
    let off = 0;
    for (const len of lengths) {
      const plain = data.subarray(off, off + len);
      off += len;
      const c = compressBlob(plain, this.spec.level);
      const sealed = this.cipher.seal(c.bytes);
      if (this.spec.verify !== false) {
        const back = decompressBlob(this.cipher.open(sealed, 'freshly encoded blob'), c.compressed, len);
        if (!Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(plain)) {
          throw new Error('internal error: encoded blob does not decode to its plaintext');
        }
      }
      parts.push(sealed);
      storedLengths.push(sealed.length);
      compressedFlags.push(c.compressed);
    }
    return { stored: Buffer.concat(parts), storedLengths, compressed: compressedFlags };
  }

  /** Decodes and verifies blobs; CORRUPT naming the blob when one does not match its id. */
  decode(data: Uint8Array, items: readonly DecodeItem[], what: string): DecodedBatch {
    const parts: Uint8Array[] = [];
    const lengths: number[] = [];
    for (const it of items) {
      const idHex = Buffer.from(it.id).toString('hex');
      if (it.offset + it.length > data.length) throw corrupt(`blob ${idHex} in ${what}: stored bytes missing (pack truncated?)`);
      let plain: Uint8Array;
      try {
        const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `blob ${idHex} in ${what}`);
        plain = decompressBlob(opened, it.compressed, it.rawLength);
      } catch (err) {
        if (err instanceof StowageError) throw corrupt(`blob ${idHex} in ${what}: ${err.message}`, err);
        throw err;
      }
      if (!this.hash(plain).equals(it.id)) throw corrupt(`blob ${idHex} in ${what}: content does not match its id (hash mismatch)`);
      parts.push(plain);
      lengths.push(plain.length);
    }
    return { plain: Buffer.concat(parts), lengths };
  }

  /** Id of a plaintext under this repository's id hash. */
  id(plain: Uint8Array): Buffer {
    return this.hash(plain);
  }
}
