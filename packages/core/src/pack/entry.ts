/**
 * One index entry, one codec: what a pack trailer, an index file, the LevelDB index cache
 * and gc's/check's in-memory table say about a blob all derive from the definitions here.
 *
 * The slot (ENTRY_BYTES = 46 bytes):
 * ```
 * slot     = entry | baseRef | frameRef
 * entry    = id:32 type:u8 flags:u8 offset:u32le length:u32le rawLength:u32le
 * baseRef  = baseId:32 0xff:u8 0:u8 0:u32le 0:u32le baseRawLength:u32le
 * frameRef = 0:32 0xfe:u8 0:u8 offsetInFrame:u32le 0:u32le frameRawLength:u32le
 * ```
 * - `type` (the slot's code): 0 data, 1 list; BASE_REF_CODE (0xff) and FRAME_REF_CODE
 *   (0xfe) mark the ref slot that follows a delta or a framed blob's entry.
 * - `flags`, the ONE set of flag bits: FLAG_COMPRESSED 1 (the stored bytes are a zstd frame),
 *   FLAG_DELTA 2 (a zstd frame against the base named by the next slot), FLAG_FRAMED 4 (the
 *   stored bytes are a frame shared with other blobs; the next slot says where in it).
 *
 * Where the slot appears:
 * - pack trailer (format.ts): the pack's slots in order;
 * - index file (blob-index/index-file.ts): per pack, the same slots;
 * - LevelDB value (blob-index/level-index.ts), keyed by the blob id: `encodeLocationValue`,
 *   the entry with the pack's id in place of the blob's, then the base id (32 bytes) of a
 *   delta blob or `offsetInFrame:u32le frameRawLength:u32le` of a framed one;
 * - the in-memory table (blob-index/index-table.ts): a slot's fields in typed arrays, the
 *   code and flags bytes kept as stored (`writeSlot` writes them back unchanged).
 *
 * These bits have been the same in every written pack, index file and cache since the
 * format's first version (trailer version 1 had no delta blobs; version 2 added FLAG_DELTA and
 * FLAG_FRAMED with their ref slots); until this codec was shared, the in-memory table alone
 * packed them differently (type in bits 2-3, framed in bit 4), never on disk. A new flag
 * needs a new trailer version.
 */
import { corrupt } from '../errors.js';
import { ID_BYTES } from '../hash/blake3.js';

/** What a blob holds. */
export type BlobType = 'data' | 'list';

const TYPE_CODES: Record<BlobType, number> = { data: 0, list: 1 };
const TYPES_BY_CODE: readonly BlobType[] = ['data', 'list'];

/** The stored bytes are a zstd frame. */
export const FLAG_COMPRESSED = 1;
/** The stored bytes are a zstd frame against the base named by the next slot. */
export const FLAG_DELTA = 2;
/** The stored bytes are a frame shared with other blobs; the next slot says where in it. */
export const FLAG_FRAMED = 4;
/** Code of a baseRef slot (follows the entry of a delta blob). */
export const BASE_REF_CODE = 0xff;
/** Code of a frameRef slot (follows the entry of a framed blob). */
export const FRAME_REF_CODE = 0xfe;
/** Bytes of a slot. */
export const ENTRY_BYTES = ID_BYTES + 2 + 12;
/** Bytes of a LevelDB value before its base id or frame ref. */
const VALUE_HEAD_BYTES = ENTRY_BYTES;

/** Where a framed blob lies in its frame's plaintext. */
export interface FrameRef {
  /** Offset of the blob in the frame's plaintext. */
  readonly offset: number;
  /** Length of the frame's plaintext. */
  readonly rawLength: number;
}

/** Where and how a blob is stored in its pack: the fields every encoding of an entry carries. */
export interface EntryLocation {
  readonly type: BlobType;
  /** True when the stored bytes are a zstd frame. */
  readonly compressed: boolean;
  /** Offset of the stored bytes in the pack. */
  readonly offset: number;
  /** Length of the stored bytes. */
  readonly length: number;
  /** Length of the plaintext. */
  readonly rawLength: number;
  /** Delta blobs: id of the base blob whose plaintext is the dictionary. */
  readonly base?: Buffer | undefined;
  /** Framed blobs: where the blob lies in the plaintext of the frame at offset/length. */
  readonly frame?: FrameRef | undefined;
}

/** One blob of a pack, as listed in its trailer or an index file. */
export interface PackEntry extends EntryLocation {
  /** Blob id (32 bytes). */
  readonly id: Buffer;
}

/** A blob's entry as the index cache keeps it: its location and its pack. */
export interface BlobLocation extends EntryLocation {
  /** Hex id of the pack that holds the blob. */
  readonly pack: string;
}

export function blobTypeCode(t: BlobType): number {
  return TYPE_CODES[t];
}

/** The blob type of a slot code; CORRUPT for an unknown one. */
export function blobTypeOf(code: number): BlobType {
  const t = TYPES_BY_CODE[code];
  if (!t) throw corrupt(`unknown blob type code ${code}`);
  return t;
}

/** The flags byte of an entry. */
export function entryFlags(e: EntryLocation): number {
  return (e.compressed ? FLAG_COMPRESSED : 0) | (e.base ? FLAG_DELTA : 0) | (e.frame ? FLAG_FRAMED : 0);
}

/** True for the code of a baseRef or frameRef slot. */
export function isRefCode(code: number): boolean {
  return code === BASE_REF_CODE || code === FRAME_REF_CODE;
}

/** Slots an entry takes (2 for a delta or framed blob, with its ref slot). */
export function slotsOf(e: EntryLocation): number {
  return e.base || e.frame ? 2 : 1;
}

/** Slots of a list of entries. */
export function slotCount(entries: readonly EntryLocation[]): number {
  let n = 0;
  for (const e of entries) n += slotsOf(e);
  return n;
}

/** Writes one slot from its fields at `off` of `buf` (`id`: 32 bytes). */
export function writeSlot(buf: Buffer, off: number, id: Uint8Array, code: number, flags: number, offset: number, length: number, rawLength: number): void {
  buf.set(id.subarray(0, ID_BYTES), off);
  buf[off + 32] = code;
  buf[off + 33] = flags;
  buf.writeUInt32LE(offset, off + 34);
  buf.writeUInt32LE(length, off + 38);
  buf.writeUInt32LE(rawLength, off + 42);
}

const ZERO_ID = new Uint8Array(ID_BYTES);

/** Writes a frameRef slot at `off`. */
export function writeFrameRef(buf: Buffer, off: number, frame: FrameRef): void {
  writeSlot(buf, off, ZERO_ID, FRAME_REF_CODE, 0, frame.offset, 0, frame.rawLength);
}

/** Writes a baseRef slot at `off`. */
export function writeBaseRef(buf: Buffer, off: number, base: Uint8Array, baseRawLength: number): void {
  writeSlot(buf, off, base, BASE_REF_CODE, 0, 0, 0, baseRawLength);
}

/** Writes one entry (and its ref slot, for a delta or framed blob) at `off` of `buf`; returns the bytes written. */
export function writeEntry(buf: Buffer, off: number, e: PackEntry): number {
  writeSlot(buf, off, e.id, blobTypeCode(e.type), entryFlags(e), e.offset, e.length, e.rawLength);
  if (e.frame) writeFrameRef(buf, off + ENTRY_BYTES, e.frame);
  else if (e.base) writeBaseRef(buf, off + ENTRY_BYTES, e.base, 0);
  else return ENTRY_BYTES;
  return 2 * ENTRY_BYTES;
}

/** The slots of `entries` in one buffer (slotCount(entries) * ENTRY_BYTES bytes). */
export function encodeEntries(entries: readonly PackEntry[]): Buffer {
  const raw = Buffer.allocUnsafe(slotCount(entries) * ENTRY_BYTES);
  let at = 0;
  for (const e of entries) at += writeEntry(raw, at, e);
  return raw;
}

/**
 * Reads the location fields of the entry at `off` and of its ref slot after it (`n` slots
 * from `off` are available; the ref slot must be among them). CORRUPT when a ref slot is
 * missing or stray, flags contradict each other, or a type code is unknown.
 */
function readLocation(buf: Buffer, off: number, n: number, what: string): EntryLocation {
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
    if (n < 2 || buf[off + ENTRY_BYTES + 32] !== BASE_REF_CODE) throw corrupt(`${what}: delta blob without its base reference`);
    if ((flags & FLAG_COMPRESSED) === 0) throw corrupt(`${what}: delta blob not marked compressed`);
    base = Buffer.from(buf.subarray(off + ENTRY_BYTES, off + ENTRY_BYTES + 32));
  }
  if (framed) {
    if (n < 2 || buf[off + ENTRY_BYTES + 32] !== FRAME_REF_CODE) throw corrupt(`${what}: framed blob without its frame reference`);
    frame = { offset: buf.readUInt32LE(off + ENTRY_BYTES + 34), rawLength: buf.readUInt32LE(off + ENTRY_BYTES + 42) };
    if (frame.offset + buf.readUInt32LE(off + 42) > frame.rawLength) throw corrupt(`${what}: framed blob lies outside its frame`);
  }
  return {
    type: blobTypeOf(code),
    compressed: (flags & FLAG_COMPRESSED) !== 0,
    offset: buf.readUInt32LE(off + 34),
    length: buf.readUInt32LE(off + 38),
    rawLength: buf.readUInt32LE(off + 42),
    ...(base && { base }),
    ...(frame && { frame }),
  };
}

/**
 * Reads `n` slots at `off` of `buf` into entries (ids copied, so they outlive buf): a
 * delta entry takes its base from the baseRef slot after it, a framed one its frame from
 * the frameRef slot. CORRUPT when a ref slot is missing or stray, or a type code is unknown.
 */
export function readEntries(buf: Buffer, off: number, n: number, what: string): PackEntry[] {
  const out: PackEntry[] = [];
  for (let i = 0; i < n; i++, off += ENTRY_BYTES) {
    const loc = readLocation(buf, off, n - i, what);
    out.push({ id: Buffer.from(buf.subarray(off, off + 32)), ...loc });
    if (loc.base || loc.frame) {
      i++;
      off += ENTRY_BYTES;
    }
  }
  return out;
}

/** The LevelDB value of entry `e` of pack `packId` (32 bytes): see the file comment. */
export function encodeLocationValue(packId: Uint8Array, e: EntryLocation): Buffer {
  const v = Buffer.allocUnsafe(VALUE_HEAD_BYTES + (e.base ? ID_BYTES : 0) + (e.frame ? 8 : 0));
  writeSlot(v, 0, packId, blobTypeCode(e.type), entryFlags(e), e.offset, e.length, e.rawLength);
  e.base?.copy(v, VALUE_HEAD_BYTES);
  if (e.frame) {
    v.writeUInt32LE(e.frame.offset, VALUE_HEAD_BYTES);
    v.writeUInt32LE(e.frame.rawLength, VALUE_HEAD_BYTES + 4);
  }
  return v;
}

/**
 * The LevelDB value of the entry slot at `off` of `slots` (its ref slot after it, when it has
 * one), straight from the bytes: what encodeLocationValue gives for the decoded entry. For
 * slots already checked (a pack this process built); ref slots themselves have no value.
 */
export function locationValueOfSlot(packId: Uint8Array, slots: Uint8Array, off: number): Buffer {
  const flags = slots[off + 33]!;
  const ref = off + ENTRY_BYTES;
  const tail = (flags & FLAG_DELTA) !== 0 ? ID_BYTES : (flags & FLAG_FRAMED) !== 0 ? 8 : 0;
  const v = Buffer.allocUnsafe(VALUE_HEAD_BYTES + tail);
  v.set(packId.subarray(0, ID_BYTES), 0);
  v.set(slots.subarray(off + 32, off + ENTRY_BYTES), 32);
  if ((flags & FLAG_DELTA) !== 0) v.set(slots.subarray(ref, ref + ID_BYTES), VALUE_HEAD_BYTES);
  else if ((flags & FLAG_FRAMED) !== 0) {
    v.set(slots.subarray(ref + 34, ref + 38), VALUE_HEAD_BYTES);
    v.set(slots.subarray(ref + 42, ref + 46), VALUE_HEAD_BYTES + 4);
  }
  return v;
}

/** Decodes a LevelDB value (encodeLocationValue). */
export function decodeLocationValue(v: Buffer): BlobLocation {
  const flags = v[33]!;
  return {
    pack: v.toString('hex', 0, 32),
    type: blobTypeOf(v[32]!),
    compressed: (flags & FLAG_COMPRESSED) !== 0,
    offset: v.readUInt32LE(34),
    length: v.readUInt32LE(38),
    rawLength: v.readUInt32LE(42),
    ...((flags & FLAG_DELTA) !== 0 && { base: Buffer.from(v.subarray(VALUE_HEAD_BYTES, VALUE_HEAD_BYTES + ID_BYTES)) }),
    ...((flags & FLAG_FRAMED) !== 0 && { frame: { offset: v.readUInt32LE(VALUE_HEAD_BYTES), rawLength: v.readUInt32LE(VALUE_HEAD_BYTES + 4) } }),
  };
}
