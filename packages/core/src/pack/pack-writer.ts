/**
 * Builds one pack in memory: blobs appended in order, then trailer and footer.
 * Synchronous and single use. `finalize` re-parses what it built before returning.
 *
 * Memory per blob: its entry is written straight into the trailer's slots (one growing
 * buffer, 46 or 92 bytes a blob), and blobs whose stored bytes follow each other in one
 * buffer (an encoded batch) make one part: no object is kept per blob. With 256-byte chunks
 * a 16 MiB pack holds about 45,000 blobs; an entry object, its id Buffer and a view per blob
 * kept about 300 bytes of heap each, for the pack being built and every pack uploading.
 */
import { createHash, type Hash } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { Cipher } from '../crypto/cipher.js';
import type { BlobType, PackEntry } from './entry.js';
import { ENTRY_BYTES, encodeEntries, readEntries, writeEntry } from './entry.js';
import { FOOTER_BYTES, MAX_PACK_BYTES, encodeFooter, encodeTrailerSlots } from './format.js';
import { parsePackTail } from './pack-reader.js';

/** A finished pack, ready to save under `id`. */
export interface FinishedPack {
  /** Hex BLAKE3 of the pack's bytes: its file name. */
  readonly id: string;
  /** Hex SHA-256 of the pack's bytes, when the writer was asked for it (PackWriter opts.sha256). */
  readonly sha256?: string;
  /**
   * The pack's bytes in order (blobs, trailer, footer), not copied into one buffer; when the
   * writer was drained (PackWriter.drain), only the bytes after what it handed out.
   */
  readonly parts: readonly Uint8Array[];
  /** Bytes handed out by drain before finalize (0 when never drained): the pack starts with them. */
  readonly drained: number;
  /** Total length of the pack (drained bytes and parts). */
  readonly size: number;
  /** The pack as one buffer (concatenated on first use; not for a drained pack). */
  readonly bytes: Buffer;
  /** The trailer's slots (pack/entry.ts): `slotCount` * ENTRY_BYTES bytes. */
  readonly slots: Buffer;
  readonly slotCount: number;
  /** Blobs in the pack (entries; ref slots not counted). */
  readonly count: number;
  /** The entries as objects, decoded from `slots` on each use (an object per blob: tests and small packs). */
  readonly entries: readonly PackEntry[];
}

/** A blob inside a frame (PackWriter.addFrame). */
export interface FrameMember {
  readonly id: Buffer;
  readonly type: BlobType;
  /** Offset of the blob in the frame's plaintext. */
  readonly offset: number;
  readonly rawLength: number;
}

export class PackWriter {
  private readonly parts: Uint8Array[] = [];
  /** The part being extended: `pending` grows while added bytes follow it in its buffer. */
  private pending: Uint8Array | undefined;
  private pendingLength = 0;
  /** The trailer's slots so far (the first `slots` of them). */
  private raw = Buffer.allocUnsafe(64 * ENTRY_BYTES);
  private blobs = 0;
  private blobBytes = 0;
  private slots = 0;
  private finished = false;
  /** The pack's BLAKE3, fed part by part as parts close (so parts handed out by drain need not come back). */
  private readonly hasher = new Blake3Hasher();
  /** Bytes handed out by drain. */
  private drainedBytes = 0;
  /** The pack's SHA-256 (opts.sha256), fed as the BLAKE3 is. */
  private readonly sha: Hash | undefined;

  /** `sha256`: also hash the pack with SHA-256 as it is built (FinishedPack.sha256: for a backend that signs uploads with it). */
  constructor(
    private readonly cipher: Cipher,
    opts: { readonly sha256?: boolean | undefined } = {},
  ) {
    this.sha = opts.sha256 ? createHash('sha256') : undefined;
  }

  /** Number of blobs so far. */
  get count(): number {
    return this.blobs;
  }

  /** Bytes of the pack if finalized now (blobs plus projected trailer and footer). */
  get size(): number {
    return this.blobBytes + 9 + this.slots * ENTRY_BYTES + 32 + this.cipher.overhead + FOOTER_BYTES;
  }

  /** True when a blob of this pack lies in `buffer` (the memory of the caller's views). */
  holds(buffer: ArrayBufferLike): boolean {
    return this.pending?.buffer === buffer || this.parts.some((p) => p.buffer === buffer);
  }

  /** Appends a stored blob (`base`: the base of a delta blob). `stored` must not be modified afterwards. */
  add(id: Buffer, type: BlobType, stored: Uint8Array, rawLength: number, compressed: boolean, base?: Buffer): void {
    if (this.finished) throw new TypeError('PackWriter: add after finalize');
    if (base && !compressed) throw new TypeError('PackWriter: a delta blob is always a zstd frame');
    const slots = base ? 2 : 1;
    if (this.size + stored.length + slots * ENTRY_BYTES > MAX_PACK_BYTES) throw new RangeError('PackWriter: pack would exceed 4 GiB');
    const at = this.room(slots); // first: it may replace this.raw
    writeEntry(this.raw, at, { id, type, compressed, offset: this.blobBytes, length: stored.length, rawLength, base });
    this.blobs++;
    this.append(stored);
  }

  /**
   * Appends a frame shared by several blobs: `stored` (a zstd frame of the members'
   * concatenated plaintexts when `compressed`, else the plaintexts themselves; sealed in an
   * encrypted repository) and one entry per member, each naming where it lies in the frame.
   */
  addFrame(stored: Uint8Array, frameRawLength: number, compressed: boolean, members: readonly FrameMember[]): void {
    if (this.finished) throw new TypeError('PackWriter: add after finalize');
    if (members.length === 0) throw new TypeError('PackWriter: a frame without members');
    if (this.size + stored.length + 2 * members.length * ENTRY_BYTES > MAX_PACK_BYTES) throw new RangeError('PackWriter: pack would exceed 4 GiB');
    for (const m of members) if (m.offset + m.rawLength > frameRawLength) throw new RangeError('PackWriter: frame member outside its frame');
    for (const m of members) {
      const frame = { offset: m.offset, rawLength: frameRawLength };
      const at = this.room(2);
      writeEntry(this.raw, at, { id: m.id, type: m.type, compressed, offset: this.blobBytes, length: stored.length, rawLength: m.rawLength, frame });
    }
    this.blobs += members.length;
    this.append(stored);
  }

  /** Reserves `n` slots; returns the byte offset of the first. */
  private room(n: number): number {
    const at = this.slots * ENTRY_BYTES;
    if (at + n * ENTRY_BYTES > this.raw.length) {
      const raw = Buffer.allocUnsafe(Math.max(2 * this.raw.length, at + n * ENTRY_BYTES));
      this.raw.copy(raw, 0, 0, at);
      this.raw = raw;
    }
    this.slots += n;
    return at;
  }

  /**
   * The pack's bytes added since the last drain, in order, handed to the caller (who writes
   * them out, e.g. to a backend's TempFile): the writer no longer holds them, and the pack
   * it finalizes starts with them (FinishedPack.drained).
   */
  drain(): Uint8Array[] {
    if (this.finished) throw new TypeError('PackWriter: drain after finalize');
    this.closePart();
    const out = this.parts.splice(0);
    for (const p of out) this.drainedBytes += p.length;
    return out;
  }

  /** Adds stored bytes: they extend the pending part when they follow it in the same buffer. */
  private append(stored: Uint8Array): void {
    const p = this.pending;
    if (p && p.buffer === stored.buffer && p.byteOffset + this.pendingLength === stored.byteOffset) this.pendingLength += stored.length;
    else {
      this.closePart();
      this.pending = stored;
      this.pendingLength = stored.length;
    }
    this.blobBytes += stored.length;
  }

  private closePart(): void {
    const p = this.pending;
    if (!p) return;
    const part = p.length === this.pendingLength ? p : new Uint8Array(p.buffer, p.byteOffset, this.pendingLength);
    this.hasher.update(part);
    this.sha?.update(part);
    this.parts.push(part);
    this.pending = undefined;
  }

  /** Appends trailer and footer, re-parses them, and returns the pack. The writer is unusable afterwards. */
  finalize(): FinishedPack {
    if (this.finished) throw new TypeError('PackWriter: finalize twice');
    this.finished = true;
    this.closePart();
    const slotCount = this.slots;
    const body = encodeTrailerSlots(this.raw.subarray(0, slotCount * ENTRY_BYTES), slotCount);
    const slots = body.subarray(9, 9 + slotCount * ENTRY_BYTES); // the trailer's own slots: exact size, no copy kept of `raw`
    const trailer = this.cipher.seal(body);
    const tail = Buffer.concat([trailer, encodeFooter(trailer.length)]);
    const parts: Uint8Array[] = [...this.parts, tail];
    const size = this.blobBytes + tail.length;
    this.hasher.update(tail);
    this.sha?.update(tail);
    const id = this.hasher.digestBuffer().toString('hex');
    const sha256 = this.sha?.digest('hex');
    // Verify what we built: the tail must decode (checked: ref slots, flags, bounds) to
    // entries that encode to exactly our slots
    const parsed = parsePackTail(tail, size, this.cipher, `pack ${id}`);
    if (parsed.entries.length !== this.blobs || !encodeEntries(parsed.entries).equals(slots)) {
      throw new Error(`internal error: pack ${id} trailer does not re-read as written`);
    }
    this.parts.length = 0;
    this.raw = Buffer.alloc(0);
    let joined: Buffer | undefined;
    const count = this.blobs;
    const drained = this.drainedBytes;
    return {
      id,
      ...(sha256 !== undefined && { sha256 }),
      parts,
      drained,
      size,
      get bytes(): Buffer {
        if (drained > 0) throw new TypeError('FinishedPack: bytes of a drained pack');
        joined ??= Buffer.concat(parts);
        return joined;
      },
      slots,
      slotCount,
      count,
      get entries(): PackEntry[] {
        return readEntries(slots, 0, slotCount, `pack ${id}`);
      },
    };
  }
}

/** What PackWriter needs of an encoded batch (repository/blob-codec.ts EncodedBatch). */
export interface EncodedUnits {
  readonly stored: Uint8Array;
  readonly storedLengths: readonly number[];
  readonly compressed: readonly boolean[];
  readonly delta: readonly boolean[];
  readonly frameStart: readonly number[];
  readonly frameOffset: readonly number[];
  readonly frameRaw: readonly number[];
}

/**
 * Adds the blobs of an encoded batch in order: frames with their members, the rest one by
 * one (`blobs[i].base` for the delta ones). `writerFor(storedLength)` gives the writer for
 * each unit (a caller may finish a full pack there). `stored` must outlive the pack.
 * Returns the stored bytes added.
 */
export function addEncoded(writerFor: (storedLength: number) => PackWriter, r: EncodedUnits, blobs: readonly { id: Buffer; type: BlobType; rawLength: number; base?: Buffer | undefined }[]): number {
  let off = 0;
  for (let i = 0; i < blobs.length; i++) {
    const len = r.storedLengths[i]!;
    const stored = r.stored.subarray(off, off + len);
    off += len;
    const writer = writerFor(len);
    if (r.frameStart[i] === i) {
      const members: FrameMember[] = [];
      let j = i;
      for (; j < blobs.length && r.frameStart[j] === i; j++) members.push({ id: blobs[j]!.id, type: blobs[j]!.type, offset: r.frameOffset[j]!, rawLength: blobs[j]!.rawLength });
      writer.addFrame(stored, r.frameRaw[i]!, r.compressed[i]!, members);
      i = j - 1;
      continue;
    }
    if (r.frameStart[i] !== -1) throw new Error('internal error: frame member before its frame');
    const base = r.delta[i] ? blobs[i]!.base : undefined;
    if (r.delta[i] && !base) throw new Error('internal error: delta blob without a base');
    writer.add(blobs[i]!.id, blobs[i]!.type, stored, blobs[i]!.rawLength, r.compressed[i]!, base);
  }
  return off;
}
