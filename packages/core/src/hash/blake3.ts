/**
 * BLAKE3-256, the id hash of blobs and repository files.
 *
 * Hides the binding (@napi-rs/blake-hash, synchronous native calls). A blob id is
 * the BLAKE3 of its plaintext; a repository file's name is the BLAKE3 of its
 * stored bytes, so every name verifies its content.
 */
import { blake3 as nativeBlake3, Blake3Hasher } from '@napi-rs/blake-hash';

/** Length in bytes of every id (blob, pack, file). */
export const ID_BYTES = 32;

/** BLAKE3-256 of `data` as 32 raw bytes. */
export function blake3(data: Uint8Array): Buffer {
  return nativeBlake3(toBuffer(data));
}

/** BLAKE3-256 of `data` as 64 lowercase hex characters. */
export function blake3Hex(data: Uint8Array): string {
  return blake3(data).toString('hex');
}

/** Keyed BLAKE3-256 (32-byte key), for repositories whose ids must not be guessable. */
export function keyedBlake3(key: Uint8Array, data: Uint8Array): Buffer {
  const h = Blake3Hasher.newKeyed(toBuffer(key));
  h.update(toBuffer(data));
  return h.digestBuffer();
}

/** A function from plaintext to a 32-byte id. */
export type IdHasher = (data: Uint8Array) => Buffer;

/**
 * The id hasher of a repository: plain BLAKE3, or keyed BLAKE3 when a key is given.
 *
 * Ids are copied out of the binding's Buffer into Node's small-buffer pool (Buffer.from): a
 * Buffer made by a native addon is an external allocation with a finalizer of its own, which
 * the garbage collector handles one by one. With tiny chunks (hundreds of thousands of ids in
 * flight) that overhead dominated: a 128,946-chunk snapshot peaked at 464 MB RSS with the
 * binding's Buffers and 324 MB with pooled copies, at the same CPU time.
 */
export function idHasher(key?: Uint8Array): IdHasher {
  if (!key) return (data) => Buffer.from(nativeBlake3(toBuffer(data)));
  // One keyed hasher, reset per call (reset keeps the key): creating a native hasher per
  // chunk costs 10-20 us, as much as hashing a 64 KiB chunk.
  const h = Blake3Hasher.newKeyed(Buffer.from(key));
  return (data) => {
    h.reset();
    h.update(toBuffer(data));
    return Buffer.from(h.digestBuffer());
  };
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** One hasher for textHash (reset per call). */
let textHasher: Blake3Hasher | undefined;

/**
 * The first `bytes` (at most 32) bytes of BLAKE3-256 of `text`'s UTF-8 bytes: the same as
 * blake3(Buffer.from(text, 'utf8')).subarray(0, bytes), for many short texts (a file map's
 * path keys, one per archive member). One reused hasher and a hex digest (a JS string), so no
 * Buffer of the binding is made per call (an external allocation with a finalizer the
 * collector handles one by one): 1.3 against 2.1-2.8 us per path.
 */
export function textHash(text: string, bytes = ID_BYTES): Buffer {
  textHasher ??= new Blake3Hasher();
  textHasher.reset();
  textHasher.update(Buffer.from(text, 'utf8'));
  return Buffer.from(textHasher.digest('hex').slice(0, 2 * bytes), 'hex');
}

/** An incremental BLAKE3-256 (for files read in pieces, e.g. check --read-data). */
export function blake3Stream(): { update(data: Uint8Array): void; digestHex(): string } {
  const h = new Blake3Hasher();
  return {
    update: (data) => void h.update(toBuffer(data)),
    digestHex: () => h.digestBuffer().toString('hex'),
  };
}
