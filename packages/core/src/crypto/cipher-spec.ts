/**
 * Serialisable description of a Cipher, so worker threads can build the same one.
 */
import { AES_GCM, AesGcmCipher } from './aead.js';
import { NULL_CIPHER, type Cipher } from './cipher.js';

export type CipherSpec =
  | { readonly algorithm: 'none' }
  /** AES-256-GCM under `key` (32 bytes: the repository's data encryption key). */
  | { readonly algorithm: 'aes-256-gcm'; readonly key: Uint8Array };

export function cipherFromSpec(spec: CipherSpec): Cipher {
  switch (spec.algorithm) {
    case 'none':
      return NULL_CIPHER;
    case AES_GCM:
      return new AesGcmCipher(spec.key);
    default:
      throw new TypeError(`unknown cipher ${(spec as { algorithm: string }).algorithm}`);
  }
}
