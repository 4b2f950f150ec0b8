/**
 * Pack file format, version 1.
 *
 * ```
 * pack    = blob* trailer footer
 * blob    = stored bytes (zstd frame or raw; sealed when the repository is encrypted)
 * trailer = seal( "STWT" version:u8 count:u32le entry*count blake3(preceding trailer bytes):32 )
 * entry   = id:32 type:u8 flags:u8 offset:u32le length:u32le rawLength:u32le      (46 bytes)
 * footer  = trailerLength:u32le "STOWPAK1"                                          (12 bytes)
 * ```
 * `seal` is the identity for plaintext repositories. The pack's name is the BLAKE3 of
 * all its bytes. The trailer alone rebuilds the index entries of the pack.
 */
import { corrupt } from '../errors.js';
import { ID_BYTES, blake3 } from '../hash/blake3.js';

/** What a blob holds. */
export type BlobType = 'data' | 'list';

const TYPE_CODES: Record<BlobType, number> = { data: 0, list: 1 };
const TYPES_BY_CODE: readonly BlobType[] = ['data', 'list'];

export const FLAG_COMPRESSED = 1;
export const TRAILER_MAGIC = Buffer.from('STWT', 'latin1');
export const FOOTER_MAGIC = Buffer.from('STOWPAK1', 'latin1');
export const TRAILER_VERSION = 1;
export const ENTRY_BYTES = ID_BYTES + 2 + 12;
export const FOOTER_BYTES = 4 + FOOTER_MAGIC.length;
/** Largest pack a u32 offset can address. */
export const MAX_PACK_BYTES = 0xffff_ffff;

/** One blob of a pack, as listed in its trailer. */
export interface PackEntry {
  /** Blob id (32 bytes). */
  readonly id: Buffer;
  readonly type: BlobType;
  /** True when the stored bytes are a zstd frame. */
  readonly compressed: boolean;
  /** Offset of the stored bytes in the pack. */
  readonly offset: number;
  /** Length of the stored bytes. */
  readonly length: number;
  /** Length of the plaintext. */
  readonly rawLength: number;
}

export function blobTypeCode(t: BlobType): number {
  return TYPE_CODES[t];
}

export function blobTypeOf(code: number): BlobType {
  const t = TYPES_BY_CODE[code];
  if (!t) throw corrupt(`unknown blob type code ${code}`);
  return t;
}

/** Writes one entry at `off` of `buf`. */
export function writeEntry(buf: Buffer, off: number, e: PackEntry): void {
  e.id.copy(buf, off);
  buf[off + 32] = blobTypeCode(e.type);
  buf[off + 33] = e.compressed ? FLAG_COMPRESSED : 0;
  buf.writeUInt32LE(e.offset, off + 34);
  buf.writeUInt32LE(e.length, off + 38);
  buf.writeUInt32LE(e.rawLength, off + 42);
}

/** Reads one entry at `off` of `buf` (the id is copied, so it outlives buf). */
export function readEntry(buf: Buffer, off: number): PackEntry {
  return {
    id: Buffer.from(buf.subarray(off, off + 32)),
    type: blobTypeOf(buf[off + 32]!),
    compressed: (buf[off + 33]! & FLAG_COMPRESSED) !== 0,
    offset: buf.readUInt32LE(off + 34),
    length: buf.readUInt32LE(off + 38),
    rawLength: buf.readUInt32LE(off + 42),
  };
}

/** Encodes the plaintext trailer of a pack. */
export function encodeTrailer(entries: readonly PackEntry[]): Buffer {
  const body = Buffer.allocUnsafe(4 + 1 + 4 + entries.length * ENTRY_BYTES + ID_BYTES);
  TRAILER_MAGIC.copy(body, 0);
  body[4] = TRAILER_VERSION;
  body.writeUInt32LE(entries.length, 5);
  let off = 9;
  for (const e of entries) {
    writeEntry(body, off, e);
    off += ENTRY_BYTES;
  }
  blake3(body.subarray(0, off)).copy(body, off);
  return body;
}

/** Decodes and checks a plaintext trailer; CORRUPT when anything is off. */
export function decodeTrailer(body: Buffer, what: string): PackEntry[] {
  if (body.length < 9 + ID_BYTES || !body.subarray(0, 4).equals(TRAILER_MAGIC)) throw corrupt(`${what}: pack trailer has no valid header`);
  if (body[4] !== TRAILER_VERSION) throw corrupt(`${what}: pack trailer version ${body[4]} is not supported`);
  const count = body.readUInt32LE(5);
  const end = 9 + count * ENTRY_BYTES;
  if (body.length !== end + ID_BYTES) throw corrupt(`${what}: pack trailer length ${body.length} does not fit ${count} entries`);
  if (!blake3(body.subarray(0, end)).equals(body.subarray(end))) throw corrupt(`${what}: pack trailer checksum mismatch`);
  const entries: PackEntry[] = [];
  for (let off = 9; off < end; off += ENTRY_BYTES) entries.push(readEntry(body, off));
  return entries;
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
