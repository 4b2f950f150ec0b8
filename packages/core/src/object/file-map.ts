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

  async add(key: Buffer, firstExtent: number, extentCount: number): Promise<void> {
    const { buf, off } = this.out.next();
    key.copy(buf, off, 0, 16);
    buf.writeUInt32LE(firstExtent, off + 16);
    buf.writeUInt32LE(extentCount, off + 20);
    await this.out.commit();
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

/** The files of a parent snapshot, by path key. */
export class Basis {
  constructor(
    /** Id of the snapshot the files come from. */
    readonly snapshot: string,
    private readonly files: ReadonlyMap<string, BasisFile>,
  ) {}

  get size(): number {
    return this.files.size;
  }

  /** The old version of the file with this path key, if the parent had one. */
  file(key: Buffer): BasisFile | undefined {
    return this.files.get(key.toString('latin1'));
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
  readonly content: { readonly lists: readonly string[]; readonly files?: readonly string[] | undefined };
}

/**
 * Loads the basis of snapshot `snap`: its file map joined with its chunk lists.
 * Undefined when the snapshot has no file map (raw input, or made before file maps).
 * Memory: the snapshot's extents (40 bytes each) while joining, then the chunk ids of
 * its mapped files.
 */
export async function loadBasis(repo: BlobSource, snap: BasisSource): Promise<Basis | undefined> {
  const maps = snap.content.files;
  if (!maps || maps.length === 0) return undefined;
  const lists = await repo.loadBlobs(snap.content.lists.map((h) => Buffer.from(h, 'hex')));
  const extents = lists.length === 1 ? lists[0]! : Buffer.concat(lists);
  if (extents.length % LIST_ENTRY_BYTES !== 0) throw corrupt(`snapshot ${snap.id}: chunk lists are malformed`);
  const count = extents.length / LIST_ENTRY_BYTES;
  const files = new Map<string, BasisFile>();
  for (const blob of await repo.loadBlobs(maps.map((h) => Buffer.from(h, 'hex')))) {
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
    }
  }
  return new Basis(snap.id, files);
}
