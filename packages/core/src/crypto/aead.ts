/**
 * AES-256-GCM sealing of stored bytes in encrypted repositories (node:crypto, AES-NI).
 *
 * ```
 * sealed = nonce:12 ciphertext tag:16          (28 bytes of overhead)
 * ```
 * Every message gets a fresh random 96-bit nonce, so one key may seal up to about
 * 2^32 messages (NIST SP 800-38D) — at Stowage's 256 KiB average chunk that is about
 * a pebibyte of new data per repository, far beyond what one repository holds.
 * Opening checks the tag before any plaintext is returned: a damaged or foreign
 * message is CORRUPT naming what was being opened, never decrypted garbage.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { corrupt } from '../errors.js';
import { freeNow } from '../util/detach.js';
import type { Cipher } from './cipher.js';

export const AES_GCM = 'aes-256-gcm';
export const AES_GCM_KEY_BYTES = 32;
export const AES_GCM_NONCE_BYTES = 12;
export const AES_GCM_TAG_BYTES = 16;

/** Nonces are cut from a pool refilled from the OS CSPRNG (one syscall per 512 nonces). */
const NONCE_POOL_BYTES = AES_GCM_NONCE_BYTES * 512;

export class AesGcmCipher implements Cipher {
  readonly name = AES_GCM;
  readonly overhead = AES_GCM_NONCE_BYTES + AES_GCM_TAG_BYTES;
  /** A KeyObject: imported once, not per message. */
  readonly #key: KeyObject;
  #pool = Buffer.allocUnsafe(NONCE_POOL_BYTES);
  #poolPos = NONCE_POOL_BYTES;

  constructor(key: Uint8Array) {
    if (key.length !== AES_GCM_KEY_BYTES) throw new TypeError(`aes-256-gcm needs a ${AES_GCM_KEY_BYTES}-byte key, got ${key.length}`);
    this.#key = createSecretKey(Buffer.from(key));
  }

  seal(plain: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(plain.length + this.overhead);
    this.sealInto(out, 0, plain);
    return out;
  }

  sealInto(dst: Uint8Array, offset: number, plain: Uint8Array): number {
    const out = Buffer.isBuffer(dst) ? dst : Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength);
    if (offset + plain.length + this.overhead > out.length) throw new RangeError('sealInto: destination too small');
    const nonce = this.#nonce();
    nonce.copy(out, offset);
    const c = createCipheriv(AES_GCM, this.#key, nonce, { authTagLength: AES_GCM_TAG_BYTES });
    let off = offset + AES_GCM_NONCE_BYTES;
    // the cipher's output is fresh memory: copied, then freed at once (util/detach.ts)
    const body = c.update(plain);
    off += body.copy(out, off);
    freeNow(body);
    off += c.final().copy(out, off);
    off += c.getAuthTag().copy(out, off);
    return off - offset;
  }

  open(sealed: Uint8Array, what: string): Buffer {
    if (sealed.length < this.overhead) throw corrupt(`${what}: too short to be sealed (${sealed.length} bytes)`);
    const s = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const tagAt = s.length - AES_GCM_TAG_BYTES;
    const d = createDecipheriv(AES_GCM, this.#key, s.subarray(0, AES_GCM_NONCE_BYTES), { authTagLength: AES_GCM_TAG_BYTES });
    d.setAuthTag(s.subarray(tagAt));
    const body = d.update(s.subarray(AES_GCM_NONCE_BYTES, tagAt));
    try {
      d.final();
    } catch (err) {
      body.fill(0);
      throw corrupt(`${what}: authentication failed (damaged, or not sealed with this repository's key)`, err);
    }
    return body;
  }

  release(opened: Buffer): void {
    freeNow(opened);
  }

  #nonce(): Buffer {
    if (this.#poolPos + AES_GCM_NONCE_BYTES > this.#pool.length) {
      // a fresh pool each time: nonces handed out earlier stay valid views
      this.#pool = randomFillSync(Buffer.allocUnsafe(NONCE_POOL_BYTES));
      this.#poolPos = 0;
    }
    const n = this.#pool.subarray(this.#poolPos, this.#poolPos + AES_GCM_NONCE_BYTES);
    this.#poolPos += AES_GCM_NONCE_BYTES;
    return n;
  }
}
