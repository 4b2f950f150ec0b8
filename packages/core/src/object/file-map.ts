/**
 * File maps: which extents of a snapshot hold which archive member's data, so the next
 * snapshot can store a changed file as a delta against its previous version.
 *
 * ```
 * file map blob = record*          (type 'list', up to FILE_MAP_RECORDS records each)
 * record        = pathKey:16 firstExtent:u32le extentCount:u32le         (24 bytes)
 * ```
 * `pathKey` is the first 16 bytes of the BLAKE3 of the member's name inside its archive
 * (a layer's files by their path in the layer, "./" stripped). The extents are numbered
 * in chunk-list order; a record covers the whole chunks of one file (files small enough
 * to share the small-file stream have no record). The blobs are listed in the manifest
 * (`content.files`); gc keeps them, nothing walks them for chunk ids.
 *
 * A basis (the parent's file map joined with its chunk lists) answers "which old chunk
 * is most like this new one": for byte range [offset, offset + length) of a file of
 * `size` bytes, the old chunk of the same path that overlaps most the same relative range.
 */
import { textHash } from '../hash/blake3.js';
import type { BlobSource } from '../repository/blob-store.js';
import type { BlobSink } from '../repository/blob-store.js';
import { corrupt } from '../errors.js';
import { LIST_ENTRY_BYTES } from './chunk-list.js';
import { RecordBlobWriter } from './record-blobs.js';

export const FILE_MAP_RECORD_BYTES = 24;
/** Records per file map blob (1.5 MiB). */
export const FILE_MAP_RECORDS = 65536;

/** The key of a member name (16 bytes, as latin1 string for maps). */
export function pathKey(name: string): Buffer {
  return textHash(name.replace(/^(\.\/)+/, ''), 16);
}

/** Appends records and stores them as blobs. */
export class FileMapWriter {
  private readonly out: RecordBlobWriter;

  constructor(session: BlobSink) {
    this.out = new RecordBlobWriter(session, FILE_MAP_RECORD_BYTES, FILE_MAP_RECORDS);
  }

  /** Appends one record; returns a promise only when that stored a file map blob (await it before the next record). */
  add(key: Buffer, firstExtent: number, extentCount: number): Promise<void> | undefined {
    const { buf, off } = this.out.next();
    key.copy(buf, off, 0, 16);
    buf.writeUInt32LE(firstExtent, off + 16);
    buf.writeUInt32LE(extentCount, off + 20);
    return this.out.commit();
  }

  async finish(): Promise<string[]> {
    return this.out.finish();
  }
}

/** One old file: its chunks (ids and lengths, in order). */
export interface BasisFile {
  readonly ids: readonly Buffer[];
  readonly lengths: readonly number[];
  readonly size: number;
}

/**
 * A top-level archive member (an image layer `<hex>.tar` or `blobs/sha256/<hex>`, an
 * uncompressed tar of 1 MiB or more) and the BLAKE3 of its bytes, recorded when the
 * snapshot was taken (manifest `content.members`): the next snapshot of the same image
 * reuses its extents when a member of the same name and size comes again, and keeps them
 * only if that member's bytes hash the same.
 */
export interface MemberHash {
  readonly name: string;
  /** Offset of the member's data in the input. */
  readonly offset: number;
  readonly size: number;
  /** Hex BLAKE3 (unkeyed) of the member's data. */
  readonly blake3: string;
}

/** A hashed member of a parent snapshot, ready to be reused: its extents and the file map records inside it. */
export interface ReusableMember {
  readonly size: number;
  /** Hex BLAKE3 its bytes had. */
  readonly blake3: string;
  /** Chunk-list entries (LIST_ENTRY_BYTES each) covering exactly the member's bytes, in order. */
  readonly entries: Buffer;
  /** File map records of the files inside it: first extent relative to `entries`, count, path key. */
  readonly records: readonly { readonly key: Buffer; readonly rel: number; readonly count: number }[];
}

/** The files of a parent snapshot, by path key, and its hashed members, by name. */
export class Basis {
  constructor(
    /** Id of the snapshot the files come from. */
    readonly snapshot: string,
    private readonly files: ReadonlyMap<string, BasisFile>,
    private readonly members: ReadonlyMap<string, ReusableMember> = new Map(),
  ) {}

  get size(): number {
    return this.files.size;
  }

  /** The old version of the file with this path key, if the parent had one. */
  file(key: Buffer): BasisFile | undefined {
    return this.files.get(key.toString('latin1'));
  }

  /** The parent's hashed member of this name, if any. */
  member(name: string): ReusableMember | undefined {
    return this.members.get(name);
  }

  /** Names of the parent's hashed members. */
  get memberNames(): readonly string[] {
    return [...this.members.keys()];
  }
}

/**
 * The old chunk most like bytes [offset, offset + length) of a new file of `size` bytes:
 * the one overlapping most the same relative range of the old file.
 */
export function pickBase(old: BasisFile, size: number, offset: number, length: number): Buffer | undefined {
  if (old.ids.length === 0) return undefined;
  if (old.ids.length === 1) return old.ids[0];
  const scale = size > 0 ? old.size / size : 1;
  const a = offset * scale;
  const b = (offset + length) * scale;
  let best = 0;
  let bestOverlap = -1;
  let pos = 0;
  for (let i = 0; i < old.ids.length; i++) {
    const end = pos + old.lengths[i]!;
    const overlap = Math.min(b, end) - Math.max(a, pos);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = i;
    }
    if (pos > b) break;
    pos = end;
  }
  return old.ids[best];
}

/**
 * What loadBasis reads of a snapshot (a SnapshotManifest with its id is one): its id,
 * its chunk lists and its file map blobs.
 */
export interface BasisSource {
  readonly id: string;
  readonly content: { readonly lists: readonly string[]; readonly files?: readonly string[] | undefined; readonly members?: readonly MemberHash[] | undefined };
}

/**
 * Loads the basis of snapshot `snap`: its file map joined with its chunk lists.
 * Undefined when the snapshot has no file map (raw input, or made before file maps).
 * Memory: the snapshot's extents (40 bytes each) while joining, then the chunk ids of
 * its mapped files and the extents of its hashed members.
 */
export async function loadBasis(repo: BlobSource, snap: BasisSource): Promise<Basis | undefined> {
  const maps = snap.content.files;
  if (!maps || maps.length === 0) return undefined;
  // both at once: on a remote backend each blob is a round trip
  const [lists, mapBlobs] = await Promise.all([repo.loadBlobs(snap.content.lists.map((h) => Buffer.from(h, 'hex'))), repo.loadBlobs(maps.map((h) => Buffer.from(h, 'hex')))]);
  const extents = lists.length === 1 ? lists[0]! : Buffer.concat(lists);
  if (extents.length % LIST_ENTRY_BYTES !== 0) throw corrupt(`snapshot ${snap.id}: chunk lists are malformed`);
  const count = extents.length / LIST_ENTRY_BYTES;
  const files = new Map<string, BasisFile>();
  const members = hashedMembers(snap, extents, count);
  const spans = [...members.values()];
  for (const blob of mapBlobs) {
    if (blob.length % FILE_MAP_RECORD_BYTES !== 0) throw corrupt(`snapshot ${snap.id}: file map is malformed`);
    for (let off = 0; off < blob.length; off += FILE_MAP_RECORD_BYTES) {
      const first = blob.readUInt32LE(off + 16);
      const n = blob.readUInt32LE(off + 20);
      if (first + n > count) throw corrupt(`snapshot ${snap.id}: file map names extents past the end of its chunk lists`);
      const ids: Buffer[] = [];
      const lengths: number[] = [];
      let size = 0;
      for (let i = first; i < first + n; i++) {
        const e = i * LIST_ENTRY_BYTES;
        ids.push(Buffer.from(extents.subarray(e, e + 32)));
        const len = extents.readUInt32LE(e + 36);
        lengths.push(len);
        size += len;
      }
      files.set(blob.toString('latin1', off, off + 16), { ids, lengths, size });
      const inside = spans.find((m) => first >= m.first && first + n <= m.first + m.entries.length / LIST_ENTRY_BYTES);
      if (inside && n > 0) inside.records.push({ key: Buffer.from(blob.subarray(off, off + 16)), rel: first - inside.first, count: n });
    }
  }
  for (const m of spans) m.records.sort((a, b) => a.rel - b.rel);
  return new Basis(snap.id, files, members);
}

/** A hashed member being loaded: `first` is its first extent's number; loadBasis fills `records`. */
interface MemberSpan extends ReusableMember {
  readonly first: number;
  readonly records: { key: Buffer; rel: number; count: number }[];
}

/**
 * The extents of each well-formed hashed member of `snap`: the entries overlapping its
 * byte range, the first and last cut to it. A member the extents do not cover is left out.
 */
function hashedMembers(snap: BasisSource, extents: Buffer, count: number): Map<string, MemberSpan> {
  const out = new Map<string, MemberSpan>();
  const listed = Array.isArray(snap.content.members) ? snap.content.members : [];
  const wanted = listed.filter(
    (v) =>
      typeof v?.name === 'string' && Number.isSafeInteger(v.offset) && Number.isSafeInteger(v.size) && v.offset >= 0 && v.size > 0 && typeof v.blake3 === 'string' && /^[0-9a-f]{64}$/.test(v.blake3),
  );
  if (wanted.length === 0) return out;
  const starts = new Float64Array(count + 1);
  for (let i = 0; i < count; i++) starts[i + 1] = starts[i]! + extents.readUInt32LE(i * LIST_ENTRY_BYTES + 36);
  for (const v of wanted) {
    const end = v.offset + v.size;
    if (end > starts[count]!) continue;
    let lo = 0;
    let hi = count; // first entry whose end is past v.offset
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid + 1]! <= v.offset) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    while (last < count && starts[last]! < end) last++;
    const entries = Buffer.from(extents.subarray(lo * LIST_ENTRY_BYTES, last * LIST_ENTRY_BYTES));
    // cut the first and last entries to the member's range
    const cutFront = v.offset - starts[lo]!;
    if (cutFront > 0) {
      entries.writeUInt32LE(entries.readUInt32LE(32) + cutFront, 32);
      entries.writeUInt32LE(entries.readUInt32LE(36) - cutFront, 36);
    }
    const cutBack = starts[last]! - end;
    if (cutBack > 0) {
      const e = entries.length - LIST_ENTRY_BYTES;
      entries.writeUInt32LE(entries.readUInt32LE(e + 36) - cutBack, e + 36);
    }
    out.set(v.name, { size: v.size, blake3: v.blake3, first: lo, entries, records: [] });
  }
  return out;
}
