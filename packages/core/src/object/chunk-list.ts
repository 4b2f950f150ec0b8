/**
 * Chunk lists: the ordered extents of a snapshot's content, stored as 'list' blobs of
 * up to LIST_ENTRIES entries (40 bytes each: id:32 offset:u32le length:u32le), so
 * memory and snapshot-file size stay bounded whatever the input size. The input is the
 * concatenation, in order, of blob[id][offset, offset + length) over all entries: a
 * chunk is a whole blob (offset 0); a run of tar headers is a slice of a glue blob.
 */
import { corrupt } from '../errors.js';
import type { BlobSource } from '../repository/blob-store.js';
import type { BlobSink } from '../repository/blob-store.js';
import { RecordBlobWriter } from './record-blobs.js';

export const LIST_ENTRY_BYTES = 40;
/** Most entries per list blob (640 KiB). */
export const LIST_ENTRIES = 16384;
/** Fewest entries before a content-defined list boundary (average run about 2,048 entries). */
export const LIST_MIN_ENTRIES = 256;
const LIST_BOUNDARY_MASK = 0x07ff;

export interface ChunkRef {
  readonly id: Buffer;
  /** Where the extent starts in the blob's plaintext (0 for whole chunks). */
  readonly offset: number;
  readonly length: number;
}

/** Appends chunk refs and stores full lists as blobs. */
export class ChunkListWriter {
  private readonly out: RecordBlobWriter;

  constructor(session: BlobSink) {
    this.out = new RecordBlobWriter(session, LIST_ENTRY_BYTES, LIST_ENTRIES);
  }

  /** Entries added so far (the next entry's number). */
  get count(): number {
    return this.out.count;
  }

  /** Appends one entry; returns a promise only when that stored a list blob (await it before the next entry). */
  add(id: Buffer, length: number, offset = 0): Promise<void> | undefined {
    const { buf, off } = this.out.next();
    id.copy(buf, off);
    buf.writeUInt32LE(offset, off + 32);
    buf.writeUInt32LE(length, off + 36);
    // Content-defined list boundaries: a run of entries that recurs (an unchanged layer in
    // the next version) yields the same list blobs, so chunk lists dedupe too.
    return this.out.commit(this.out.pending + 1 >= LIST_MIN_ENTRIES && ((id.readUInt16LE(30) ^ offset) & LIST_BOUNDARY_MASK) === 0);
  }

  /**
   * Appends entries as stored (LIST_ENTRY_BYTES each: an earlier object's extents, reused),
   * exactly as add() would one by one, without an object per entry.
   */
  async addEntries(entries: Buffer): Promise<void> {
    for (let e = 0; e < entries.length; e += LIST_ENTRY_BYTES) {
      const { buf, off } = this.out.next();
      entries.copy(buf, off, e, e + LIST_ENTRY_BYTES);
      const offset = entries.readUInt32LE(e + 32);
      const stored = this.out.commit(this.out.pending + 1 >= LIST_MIN_ENTRIES && ((entries.readUInt16LE(e + 30) ^ offset) & LIST_BOUNDARY_MASK) === 0);
      if (stored) await stored;
    }
  }

  /** Stores the partial list (if any). Call once at the end. */
  async finish(): Promise<string[]> {
    return this.out.finish();
  }
}

/**
 * One entry of a list blob, visited in place (no object per entry): the chunk's id is bytes
 * [at, at + 32) of `list`; the extent is [offset, offset + length) of that blob's plaintext.
 * `list` is valid only during the call.
 */
export type ChunkVisitor = (list: Buffer, at: number, offset: number, length: number) => void;

/**
 * The plaintext of list blob `id` (hex `hex`), verified against its id. Sources: the
 * repository's index cache (repoListLoader), or gc's and check's index table
 * (object/table-lists.ts). The buffer may be reused by the loader's next call.
 */
export type ListLoader = (id: Buffer, hex: string) => Promise<Buffer>;

/**
 * THE chunk-list walker: visits every entry of one list blob's plaintext, in order and in
 * place. CORRUPT (nothing visited) when the plaintext is not a whole number of entries.
 */
export function forEachChunk(plain: Buffer, what: string, visit: ChunkVisitor): void {
  if (plain.length % LIST_ENTRY_BYTES !== 0) throw corrupt(`${what}: chunk list length ${plain.length} is not a multiple of ${LIST_ENTRY_BYTES}`);
  for (let at = 0; at < plain.length; at += LIST_ENTRY_BYTES) visit(plain, at, plain.readUInt32LE(at + 32), plain.readUInt32LE(at + 36));
}

/**
 * Loads list blob `hex` with `load` and walks it (forEachChunk). Throws what `load` throws,
 * or CORRUPT when the list is malformed.
 */
export async function walkChunkList(hex: string, load: ListLoader, visit: ChunkVisitor): Promise<void> {
  forEachChunk(await load(Buffer.from(hex, 'hex'), hex), `chunk list ${hex}`, visit);
}

/** Decodes one list blob into refs (the ids are views of `plain`). */
export function decodeChunkList(plain: Buffer, what: string): ChunkRef[] {
  const out: ChunkRef[] = [];
  forEachChunk(plain, what, (list, at, offset, length) => out.push({ id: list.subarray(at, at + 32), offset, length }));
  return out;
}

/** Loads list blobs through the repository's index cache (the restore path's source). */
export function repoListLoader(repo: Pick<BlobSource, 'loadBlobs'>): ListLoader {
  return async (id) => (await repo.loadBlobs([id]))[0]!;
}

/**
 * List blobs readChunkLists loads ahead of the one being walked, for a remote repository.
 * One at a time, the first window of a restore of docker.tar v5 from Ceph RGW waited for 8
 * list blobs read one after another (about 70 ms of small GETs, each behind the last); the
 * lists are small (about 80 KiB of plaintext on average, at most 640 KiB). Not more than 4:
 * with 8, the loads of lists 9-16 (needed 30 windows later) took the 8 connections just as
 * the first windows' reads were due, and the first data GET came 69-107 ms after the key was
 * derived against 52-76 ms with 4 (3 runs each, load 10).
 */
export const LISTS_AHEAD = 4;

/**
 * Yields the chunk refs of a snapshot in order, loading up to `ahead` list blobs at once
 * (default 1: one at a time; LISTS_AHEAD for a remote repository). Each list is verified as it is loaded; a failed
 * load is thrown when its turn comes. When the caller stops early, the loads still in
 * flight are waited for (and their failures dropped), so none outlives the iteration. Once
 * `stop` fired, no more loads start: the iteration fails with its reason.
 */
export async function* readChunkLists(repo: BlobSource, lists: readonly string[], ahead = 1, stop?: AbortSignal): AsyncGenerator<ChunkRef[]> {
  if (!Number.isSafeInteger(ahead) || ahead < 1) throw new TypeError(`ahead must be a whole number >= 1, not ${ahead}`);
  const load = repoListLoader(repo);
  const pending: { hex: string; plain: Promise<Buffer> }[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < lists.length && pending.length < ahead) {
      if (stop?.aborted) throw stop.reason;
      const hex = lists[next++]!;
      const plain = load(Buffer.from(hex, 'hex'), hex);
      plain.catch(() => undefined); // thrown when its turn comes
      pending.push({ hex, plain });
    }
  };
  try {
    fill();
    while (pending.length > 0) {
      const { hex, plain } = pending.shift()!;
      const buf = await plain;
      fill();
      const refs: ChunkRef[] = [];
      forEachChunk(buf, `chunk list ${hex}`, (list, at, offset, length) => refs.push({ id: list.subarray(at, at + 32), offset, length }));
      yield refs;
    }
  } finally {
    await Promise.allSettled(pending.map((p) => p.plain));
  }
}
