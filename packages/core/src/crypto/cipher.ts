/**
 * The sealing layer of stored bytes.
 *
 * Every blob, pack trailer, index file and snapshot file passes through a Cipher
 * before it reaches the backend. Plaintext repositories use the identity; encrypted
 * repositories AES-256-GCM (aead.ts; keys in keys.ts). Seal output is self-contained
 * (nonce and tag included), so `open(seal(x)) = x` with no side information.
 */
export interface Cipher {
  /** "none" or the AEAD name recorded in the config. */
  readonly name: string;
  /** Bytes added to every sealed message. */
  readonly overhead: number;
  seal(plain: Uint8Array): Buffer;
  /** Seals `plain` into `dst` at `offset` (room for plain.length + overhead); returns the bytes written. */
  sealInto(dst: Uint8Array, offset: number, plain: Uint8Array): number;
  /** Opens a sealed message; CORRUPT (naming `what`) when authentication fails. */
  open(sealed: Uint8Array, what: string): Buffer;
  /**
   * Frees, at once, the memory of a buffer `open` returned, once the caller no longer uses it
   * or any view of it (a sealing cipher's output is fresh memory: util/detach.ts); a no-op for
   * the identity, whose `open` returns a view of its input.
   */
  release(opened: Buffer): void;
}

/** The identity cipher of plaintext repositories. */
export const NULL_CIPHER: Cipher = {
  name: 'none',
  overhead: 0,
  seal: (plain) => asBuffer(plain),
  sealInto: (dst, offset, plain) => (dst.set(plain, offset), plain.length),
  open: (sealed) => asBuffer(sealed),
  release: () => undefined,
};

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
