/**
 * Reads pack trailers (to list a pack's blobs or rebuild the index) from a backend.
 */
import type { Backend } from '../backend/backend.js';
import { corrupt } from '../errors.js';
import type { Cipher } from '../crypto/cipher.js';
import type { PackEntry } from './entry.js';
import { FOOTER_BYTES, checkEntryBounds, decodeFooter, decodeTrailer } from './format.js';

/** How much of a pack's end is read in one request (most trailers fit). */
const TAIL_GUESS = 64 * 1024;

export interface PackTail {
  readonly entries: PackEntry[];
  /** Where the blob area ends (= where the stored trailer starts). */
  readonly blobAreaEnd: number;
}

/**
 * Parses the trailer from `tail`, the last `tail.length` bytes of a pack of `packSize` bytes.
 * Throws CORRUPT when the footer or trailer is damaged; returns undefined when `tail`
 * is too short to hold the whole trailer (the caller reads more).
 */
export function parsePackTail(tail: Buffer, packSize: number, cipher: Cipher, what: string): PackTail;
export function parsePackTail(tail: Buffer, packSize: number, cipher: Cipher, what: string, allowShort: true): PackTail | number;
export function parsePackTail(tail: Buffer, packSize: number, cipher: Cipher, what: string, allowShort = false): PackTail | number {
  if (packSize < FOOTER_BYTES || tail.length < FOOTER_BYTES) throw corrupt(`${what}: too short to be a pack (${packSize} bytes)`);
  const trailerLen = decodeFooter(tail.subarray(tail.length - FOOTER_BYTES), packSize, what);
  const need = trailerLen + FOOTER_BYTES;
  if (tail.length < need) {
    if (allowShort) return need;
    throw corrupt(`${what}: trailer incomplete`);
  }
  const sealed = tail.subarray(tail.length - need, tail.length - FOOTER_BYTES);
  const entries = decodeTrailer(cipher.open(sealed, `${what} trailer`), what);
  const blobAreaEnd = packSize - need;
  checkEntryBounds(entries, blobAreaEnd, what);
  return { entries, blobAreaEnd };
}

/** Reads and verifies the trailer of pack `name` (size from the backend when not given). */
export async function readPackTrailer(backend: Backend, name: string, cipher: Cipher, size?: number): Promise<PackTail> {
  const h = { type: 'pack' as const, name };
  const packSize = size ?? (await backend.stat(h)).size;
  const what = `pack ${name}`;
  if (packSize < FOOTER_BYTES) throw corrupt(`${what}: too short to be a pack (${packSize} bytes)`);
  const first = Math.min(packSize, TAIL_GUESS);
  const tail = Buffer.from(await backend.load(h, { offset: packSize - first, length: first }));
  const r = parsePackTail(tail, packSize, cipher, what, true);
  if (typeof r !== 'number') return r;
  if (r > packSize) throw corrupt(`${what}: trailer length exceeds pack size`);
  const full = Buffer.from(await backend.load(h, { offset: packSize - r, length: r }));
  return parsePackTail(full, packSize, cipher, what);
}
