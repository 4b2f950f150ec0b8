/**
 * Pack file format, version 1.
 *
 * ```
 * pack    = blob* trailer footer
 * blob    = stored bytes (zstd frame or raw; sealed when the repository is encrypted)
 * trailer = seal( "STWT" version:u8 count:u32le slot*count blake3(preceding trailer bytes):32 )
 * slot    = entry | baseRef | frameRef
 * entry   = id:32 type:u8 flags:u8 offset:u32le length:u32le rawLength:u32le      (46 bytes)
 * baseRef = baseId:32 0xff:u8 0:u8 0:u32le 0:u32le baseRawLength:u32le            (46 bytes)
 * frameRef = 0:32 0xfe:u8 0:u8 offsetInFrame:u32le 0:u32le frameRawLength:u32le   (46 bytes)
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

/** What a blob holds. */
export type BlobType = 'data' | 'list';

const TYPE_CODES: Record<BlobType, number> = { data: 0, list: 1 };
const TYPES_BY_CODE: readonly BlobType[] = ['data', 'list'];

export const FLAG_COMPRESSED = 1;
/** The stored bytes are a zstd frame against the base named by the next slot. */
export const FLAG_DELTA = 2;
/** Type code of a baseRef slot (follows the entry of a delta blob). */
export const BASE_REF_CODE = 0xff;
/** The stored bytes are a frame shared with other blobs; the next slot says where in it. */
export const FLAG_FRAMED = 4;
/** Type code of a frameRef slot (follows the entry of a framed blob). */
export const FRAME_REF_CODE = 0xfe;
export const TRAILER_MAGIC = Buffer.from('STWT', 'latin1');
export const FOOTER_MAGIC = Buffer.from('STOWPAK1', 'latin1');
/** Version written; version 1 (no delta blobs) is still read. */
export const TRAILER_VERSION = 2;
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
  /** Delta blobs: id of the base blob whose plaintext is the dictionary (see the file comment). */
  readonly base?: Buffer | undefined;
  /** Framed blobs: where the blob lies in the plaintext of the frame at offset/length. */
  readonly frame?: FrameRef | undefined;
}

/** Where a framed blob lies in its frame's plaintext. */
export interface FrameRef {
  /** Offset of the blob in the frame's plaintext. */
  readonly offset: number;
  /** Length of the frame's plaintext. */
  readonly rawLength: number;
}

/** Slots an entry takes in a trailer or index file (2 for a delta or framed blob, with its ref slot). */
export function slotsOf(e: PackEntry): number {
  return e.base || e.frame ? 2 : 1;
}

/** Slots of a list of entries. */
export function slotCount(entries: readonly PackEntry[]): number {
  let n = 0;
  for (const e of entries) n += slotsOf(e);
  return n;
}

export function blobTypeCode(t: BlobType): number {
  return TYPE_CODES[t];
}

export function blobTypeOf(code: number): BlobType {
  const t = TYPES_BY_CODE[code];
  if (!t) throw corrupt(`unknown blob type code ${code}`);
  return t;
}

/** Writes one entry (and its baseRef slot, for a delta) at `off` of `buf`; returns the bytes written. */
export function writeEntry(buf: Buffer, off: number, e: PackEntry): number {
  e.id.copy(buf, off);
  buf[off + 32] = blobTypeCode(e.type);
  buf[off + 33] = (e.compressed ? FLAG_COMPRESSED : 0) | (e.base ? FLAG_DELTA : 0) | (e.frame ? FLAG_FRAMED : 0);
  buf.writeUInt32LE(e.offset, off + 34);
  buf.writeUInt32LE(e.length, off + 38);
  buf.writeUInt32LE(e.rawLength, off + 42);
  if (e.frame) {
    writeFrameRef(buf, off + ENTRY_BYTES, e.frame);
    return 2 * ENTRY_BYTES;
  }
  if (!e.base) return ENTRY_BYTES;
  writeBaseRef(buf, off + ENTRY_BYTES, e.base, 0);
  return 2 * ENTRY_BYTES;
}

/** Writes a frameRef slot at `off`. */
export function writeFrameRef(buf: Buffer, off: number, frame: FrameRef): void {
  buf.fill(0, off, off + 32);
  buf[off + 32] = FRAME_REF_CODE;
  buf[off + 33] = 0;
  buf.writeUInt32LE(frame.offset, off + 34);
  buf.writeUInt32LE(0, off + 38);
  buf.writeUInt32LE(frame.rawLength, off + 42);
}

/** Writes a baseRef slot at `off`. */
export function writeBaseRef(buf: Buffer, off: number, base: Uint8Array, baseRawLength: number): void {
  buf.set(base.subarray(0, 32), off);
  buf[off + 32] = BASE_REF_CODE;
  buf[off + 33] = 0;
  buf.writeUInt32LE(0, off + 34);
  buf.writeUInt32LE(0, off + 38);
  buf.writeUInt32LE(baseRawLength, off + 42);
}

/**
 * Reads `n` slots at `off` of `buf` into entries (ids copied, so they outlive buf): a
 * delta entry takes its base from the baseRef slot after it. CORRUPT when a baseRef is
 * missing or stray, or a type code is unknown.
 */
export function readEntries(buf: Buffer, off: number, n: number, what: string): PackEntry[] {
  const out: PackEntry[] = [];
  for (let i = 0; i < n; i++, off += ENTRY_BYTES) {
    const code = buf[off + 32]!;
    if (code === BASE_REF_CODE) throw corrupt(`${what}: base reference without a delta blob before it`);
    if (code === FRAME_REF_CODE) throw corrupt(`${what}: frame reference without a framed blob before it`);
    const flags = buf[off + 33]!;
    const delta = (flags & FLAG_DELTA) !== 0;
    const framed = (flags & FLAG_FRAMED) !== 0;
    let base: Buffer | undefined;
    let frame: FrameRef | undefined;
    if (delta && framed) throw corrupt(`${what}: a blob marked both delta and framed`);
    if (delta) {
      if (i + 1 >= n || buf[off + ENTRY_BYTES + 32] !== BASE_REF_CODE) throw corrupt(`${what}: delta blob without its base reference`);
      if ((flags & FLAG_COMPRESSED) === 0) throw corrupt(`${what}: delta blob not marked compressed`);
      base = Buffer.from(buf.subarray(off + ENTRY_BYTES, off + ENTRY_BYTES + 32));
    }
    if (framed) {
      if (i + 1 >= n || buf[off + ENTRY_BYTES + 32] !== FRAME_REF_CODE) throw corrupt(`${what}: framed blob without its frame reference`);
      frame = { offset: buf.readUInt32LE(off + ENTRY_BYTES + 34), rawLength: buf.readUInt32LE(off + ENTRY_BYTES + 42) };
      if (frame.offset + buf.readUInt32LE(off + 42) > frame.rawLength) throw corrupt(`${what}: framed blob lies outside its frame`);
    }
    out.push({
      id: Buffer.from(buf.subarray(off, off + 32)),
      type: blobTypeOf(code),
      compressed: (flags & FLAG_COMPRESSED) !== 0,
      offset: buf.readUInt32LE(off + 34),
      length: buf.readUInt32LE(off + 38),
      rawLength: buf.readUInt32LE(off + 42),
      ...(base && { base }),
      ...(frame && { frame }),
    });
    if (delta || framed) {
      i++;
      off += ENTRY_BYTES;
    }
  }
  return out;
}

/** Encodes the plaintext trailer of a pack. */
export function encodeTrailer(entries: readonly PackEntry[]): Buffer {
  const slots = slotCount(entries);
  const body = Buffer.allocUnsafe(4 + 1 + 4 + slots * ENTRY_BYTES + ID_BYTES);
  TRAILER_MAGIC.copy(body, 0);
  body[4] = TRAILER_VERSION;
  body.writeUInt32LE(slots, 5);
  let off = 9;
  for (const e of entries) off += writeEntry(body, off, e);
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
