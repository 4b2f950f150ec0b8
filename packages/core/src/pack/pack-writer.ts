/**
 * Builds one pack in memory: blobs appended in order, then trailer and footer.
 * Synchronous and single use. `finalize` re-parses what it built before returning.
 */
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { Cipher } from '../crypto/cipher.js';
import type { BlobType, PackEntry } from './entry.js';
import { ENTRY_BYTES } from './entry.js';
import { FOOTER_BYTES, MAX_PACK_BYTES, encodeFooter, encodeTrailer } from './format.js';
import { parsePackTail } from './pack-reader.js';

/** A finished pack, ready to save under `id`. */
export interface FinishedPack {
  /** Hex BLAKE3 of the pack's bytes: its file name. */
  readonly id: string;
  /** The pack's bytes in order (blobs, trailer, footer), not copied into one buffer. */
  readonly parts: readonly Uint8Array[];
  /** Total length of the parts. */
  readonly size: number;
  /** The pack as one buffer (concatenated on first use). */
  readonly bytes: Buffer;
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
  private readonly entries: PackEntry[] = [];
  private blobBytes = 0;
  private slots = 0;
  private finished = false;

  constructor(private readonly cipher: Cipher) {}

  /** Number of blobs so far. */
  get count(): number {
    return this.entries.length;
  }

  /** Bytes of the pack if finalized now (blobs plus projected trailer and footer). */
  get size(): number {
    return this.blobBytes + 9 + this.slots * ENTRY_BYTES + 32 + this.cipher.overhead + FOOTER_BYTES;
  }

  /** Appends a stored blob (`base`: the base of a delta blob). `stored` must not be modified afterwards. */
  add(id: Buffer, type: BlobType, stored: Uint8Array, rawLength: number, compressed: boolean, base?: Buffer): void {
    if (this.finished) throw new TypeError('PackWriter: add after finalize');
    if (base && !compressed) throw new TypeError('PackWriter: a delta blob is always a zstd frame');
    const slots = base ? 2 : 1;
    if (this.size + stored.length + slots * ENTRY_BYTES > MAX_PACK_BYTES) throw new RangeError('PackWriter: pack would exceed 4 GiB');
    this.entries.push({ id, type, compressed, offset: this.blobBytes, length: stored.length, rawLength, ...(base && { base }) });
    this.slots += slots;
    this.parts.push(stored);
    this.blobBytes += stored.length;
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
    for (const m of members) {
      if (m.offset + m.rawLength > frameRawLength) throw new RangeError('PackWriter: frame member outside its frame');
      this.entries.push({ id: m.id, type: m.type, compressed, offset: this.blobBytes, length: stored.length, rawLength: m.rawLength, frame: { offset: m.offset, rawLength: frameRawLength } });
      this.slots += 2;
    }
    this.parts.push(stored);
    this.blobBytes += stored.length;
  }

  /** Appends trailer and footer, re-parses them, and returns the pack. The writer is unusable afterwards. */
  finalize(): FinishedPack {
    if (this.finished) throw new TypeError('PackWriter: finalize twice');
    this.finished = true;
    const trailer = this.cipher.seal(encodeTrailer(this.entries));
    const tail = Buffer.concat([trailer, encodeFooter(trailer.length)]);
    const parts: Uint8Array[] = [...this.parts, tail];
    const size = this.blobBytes + tail.length;
    const hasher = new Blake3Hasher();
    for (const p of parts) hasher.update(p);
    const id = hasher.digestBuffer().toString('hex');
    // Verify what we built: the tail must decode to exactly our entries.
    const parsed = parsePackTail(tail, size, this.cipher, `pack ${id}`);
    if (
      parsed.entries.length !== this.entries.length ||
      parsed.entries.some(
        (e, i) => !e.id.equals(this.entries[i]!.id) || e.offset !== this.entries[i]!.offset || !sameBase(e.base, this.entries[i]!.base) || e.frame?.offset !== this.entries[i]!.frame?.offset,
      )
    ) {
      throw new Error(`internal error: pack ${id} trailer does not re-read as written`);
    }
    this.parts.length = 0;
    let joined: Buffer | undefined;
    return {
      id,
      parts,
      size,
      get bytes(): Buffer {
        joined ??= Buffer.concat(parts);
        return joined;
      },
      entries: this.entries,
    };
  }
}

function sameBase(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && a.equals(b);
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
