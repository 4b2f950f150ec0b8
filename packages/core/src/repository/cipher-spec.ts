/**
 * Serialisable description of a Cipher, so worker threads can build the same one.
 */
import { NULL_CIPHER, type Cipher } from './cipher.js';

export type CipherSpec = { readonly algorithm: 'none' };

export function cipherFromSpec(spec: CipherSpec): Cipher {
  switch (spec.algorithm) {
    case 'none':
      return NULL_CIPHER;
    default:
      throw new TypeError(`unknown cipher ${(spec as { algorithm: string }).algorithm}`);
  }
}
