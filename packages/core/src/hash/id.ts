/**
 * Ids as they appear outside the binary formats: 64 lowercase hex characters.
 */
import { StowageError } from '../errors.js';
import { ID_BYTES } from './blake3.js';

const HEX_ID = /^[0-9a-f]{64}$/;

/** True when `s` is a full id in canonical form. */
export function isHexId(s: string): boolean {
  return HEX_ID.test(s);
}

/** Parses a 64-hex id into 32 bytes; INVALID_ARGUMENT otherwise. */
export function parseHexId(s: string, what = 'id'): Buffer {
  if (!isHexId(s)) throw new StowageError('INVALID_ARGUMENT', `invalid ${what} "${s}": expected ${ID_BYTES * 2} lowercase hex characters`);
  return Buffer.from(s, 'hex');
}

/** Short form of an id for messages and tables (restic shows 8 characters). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
