/**
 * Pack file format (trailer version 2; version 1 is still read).
 *
 * ```
 * pack    = blob* trailer footer
 * blob    = stored bytes (zstd frame or raw; sealed when the repository is encrypted)
 * trailer = seal( "STWT" version:u8 count:u32le slot*count blake3(preceding trailer bytes):32 )
 * slot    = 46 bytes: an entry, or the baseRef / frameRef slot after one (pack/entry.ts, the one entry codec)
 * footer  = trailerLength:u32le "STOWPAK1"                                          (12 bytes)
 * ```
 * `seal` is the identity for plaintext repositories. The pack's name is the BLAKE3 of
 * all its bytes. The trailer alone rebuilds the index entries of the pack.
 *
 * Delta blobs (flag FLAG_DELTA, version 2): the stored bytes are a zstd frame compressed
 * with the plaintext of another blob, its base, as a raw-content dictionary (the earlier
 * version of the same file in the parent snapshot). The entry is followed by a baseRef
 * slot naming the base. A base is never itself a delta (chains are one step long), so a
 * delta decodes with exactly one extra blob. Slots keep a fixed size so index files and
 * gc's tables handle them as raw arrays; `count` counts slots.
 *
 * Framed blobs (flag FLAG_FRAMED): small blobs written together are compressed (and
 * sealed) as one frame of their concatenated plaintexts; each member's entry names the
 * frame's stored bytes (offset, length: the same for every member) and is followed by a
 * frameRef slot giving where the member lies in the frame's plaintext. A member is never
 * a delta. A frame's stored bytes may be raw (not compressed) when compression does not
 * shrink them.
 */
import { corrupt } from '../errors.js';
import { ID_BYTES, blake3 } from '../hash/blake3.js';
import { ENTRY_BYTES, encodeEntries, readEntries, slotCount, type PackEntry } from './entry.js';

export const TRAILER_MAGIC = Buffer.from('STWT', 'latin1');
export const FOOTER_MAGIC = Buffer.from('STOWPAK1', 'latin1');
/** Version written; version 1 (no delta blobs) is still read. */
export const TRAILER_VERSION = 2;
export const FOOTER_BYTES = 4 + FOOTER_MAGIC.length;
/** Largest pack a u32 offset can address. */
export const MAX_PACK_BYTES = 0xffff_ffff;

/** Encodes the plaintext trailer of a pack. */
export function encodeTrailer(entries: readonly PackEntry[]): Buffer {
  return encodeTrailerSlots(encodeEntries(entries), slotCount(entries));
}

/** Encodes the plaintext trailer of a pack from its raw slots (`count` slots, pack/entry.ts). */
export function encodeTrailerSlots(slots: Uint8Array, count: number): Buffer {
  if (slots.length !== count * ENTRY_BYTES) throw new RangeError(`encodeTrailerSlots: ${slots.length} bytes for ${count} slots`);
  const body = Buffer.allocUnsafe(4 + 1 + 4 + slots.length + ID_BYTES);
  TRAILER_MAGIC.copy(body, 0);
  body[4] = TRAILER_VERSION;
  body.writeUInt32LE(count, 5);
  body.set(slots, 9);
  const off = 9 + slots.length;
  blake3(body.subarray(0, off)).copy(body, off);
  return body;
}

/** Decodes and checks a plaintext trailer; CORRUPT when anything is off. */
export function decodeTrailer(body: Buffer, what: string): PackEntry[] {
  if (body.length < 9 + ID_BYTES || !body.subarray(0, 4).equals(TRAILER_MAGIC)) throw corrupt(`${what}: pack trailer has no valid header`);
  if (body[4] !== TRAILER_VERSION && body[4] !== 1) throw corrupt(`${what}: pack trailer version ${body[4]} is not supported`);
  const count = body.readUInt32LE(5);
  const end = 9 + count * ENTRY_BYTES;
  if (body.length !== end + ID_BYTES) throw corrupt(`${what}: pack trailer length ${body.length} does not fit ${count} entries`);
  if (!blake3(body.subarray(0, end)).equals(body.subarray(end))) throw corrupt(`${what}: pack trailer checksum mismatch`);
  return readEntries(body, 9, count, what);
}

/** Encodes the footer naming the stored trailer's length. */
export function encodeFooter(trailerLength: number): Buffer {
  const f = Buffer.allocUnsafe(FOOTER_BYTES);
  f.writeUInt32LE(trailerLength, 0);
  FOOTER_MAGIC.copy(f, 4);
  return f;
}

/** Decodes a footer; returns the stored trailer length. */
export function decodeFooter(footer: Buffer, packSize: number, what: string): number {
  if (footer.length !== FOOTER_BYTES || !footer.subarray(4).equals(FOOTER_MAGIC)) throw corrupt(`${what}: pack footer magic missing (truncated or not a pack)`);
  const len = footer.readUInt32LE(0);
  if (len + FOOTER_BYTES > packSize) throw corrupt(`${what}: pack trailer length ${len} exceeds pack size ${packSize}`);
  return len;
}

/** Checks that entries tile the blob area without overlap and within bounds. */
export function checkEntryBounds(entries: readonly PackEntry[], blobAreaEnd: number, what: string): void {
  for (const e of entries) {
    if (e.offset + e.length > blobAreaEnd) throw corrupt(`${what}: blob ${e.id.toString('hex')} lies outside the pack's blob area`);
  }
}
