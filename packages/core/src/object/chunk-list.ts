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

  async add(id: Buffer, length: number, offset = 0): Promise<void> {
    const { buf, off } = this.out.next();
    id.copy(buf, off);
    buf.writeUInt32LE(offset, off + 32);
    buf.writeUInt32LE(length, off + 36);
    // Content-defined list boundaries: a run of entries that recurs (an unchanged layer in
    // the next version) yields the same list blobs, so chunk lists dedupe too.
    await this.out.commit(this.out.pending + 1 >= LIST_MIN_ENTRIES && ((id.readUInt16LE(30) ^ offset) & LIST_BOUNDARY_MASK) === 0);
  }

  /** Stores the partial list (if any). Call once at the end. */
  async finish(): Promise<string[]> {
    return this.out.finish();
  }
}

/** Decodes one list blob. */
export function decodeChunkList(plain: Buffer, what: string): ChunkRef[] {
  if (plain.length % LIST_ENTRY_BYTES !== 0) throw corrupt(`${what}: chunk list length ${plain.length} is not a multiple of ${LIST_ENTRY_BYTES}`);
  const out: ChunkRef[] = [];
  for (let off = 0; off < plain.length; off += LIST_ENTRY_BYTES) {
    out.push({ id: plain.subarray(off, off + 32), offset: plain.readUInt32LE(off + 32), length: plain.readUInt32LE(off + 36) });
  }
  return out;
}

/** Yields the chunk refs of a snapshot in order, loading one list blob at a time. */
export async function* readChunkLists(repo: BlobSource, lists: readonly string[]): AsyncGenerator<ChunkRef[]> {
  for (const hex of lists) {
    const [plain] = await repo.loadBlobs([Buffer.from(hex, 'hex')]);
    yield decodeChunkList(plain!, `chunk list ${hex}`);
  }
}
