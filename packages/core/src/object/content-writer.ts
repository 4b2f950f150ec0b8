/**
 * Turns split events into stored blobs and chunk-list entries.
 *
 * - Content units of at least SMALL_FILE bytes (large files, or a whole raw input) are cut
 *   by FastCDC on their own, so identical large files dedupe wherever they appear. Cut
 *   decisions happen directly on the input pieces; only the undecided tail of a unit
 *   (less than one maximum chunk) is carried over, as a copy.
 * - Smaller units (small files) are appended to a "small-file stream" cut by FastCDC
 *   too: header bytes are not in it, so the same run of files gives the same blobs in
 *   another layer or version even when their tar headers (times) changed, and small
 *   files still compress together.
 * - Glue (tar headers, padding) goes to a glue stream closed every GLUE_BYTES.
 * Both streams are flushed at the splitter's flush points (layer boundaries), so an
 * unchanged layer yields the same blobs. Entries are slices of these blobs, written to
 * the chunk list in stream order as soon as the blobs they refer to are cut.
 * - A member the splitter passes through as reused (an image layer the basis stored and
 *   hashed) gets the basis' entries for it, and its files the basis' file map records;
 *   its bytes are neither cut nor hashed here (the object writer checks them).
 */
import type { Cutter } from '../chunker/index.js';
import type { BlobSink } from '../repository/blob-store.js';
import type { ArchiveMember, SplitEvent } from '../split/events.js';
import { LIST_ENTRY_BYTES, type ChunkListWriter } from './chunk-list.js';
import { pickBase, pathKey, type Basis, type BasisFile, type FileMapWriter, type ReusableMember } from './file-map.js';
import { SliceStream } from './slice-stream.js';
import { BufferPool } from '../util/buffer-pool.js';
import { copyBytes } from '../util/copy-bytes.js';

/** Glue blobs are closed at this size. */
export const GLUE_BYTES = 256 * 1024;
/**
 * Files smaller than this share the small-file stream instead of a chunk each. Measured
 * on the corpus (docker.tar v1..v5, 256 KiB chunks): every file its own chunk stores
 * 124.7 MB with 11,200 blobs; a 4 KiB threshold 123.5 MB with 5,000 blobs (v5 adds
 * 19.49 MB instead of 19.41); a 64 KiB threshold 121.6 MB but v5 adds 22.1 MB, because
 * the upgraded packages' unchanged files no longer dedupe one by one.
 */
export const SMALL_FILE = 4096;

/** Most bytes one merged slice entry covers. */
const MERGE_MAX = 1 << 20;
/** The key of a file without one (no old version, no file map: see SplitEvent 'file'). */
const NO_KEY = Buffer.alloc(0);

/**
 * A file whose chunks get a file map record: where its extents start, how many. Or, with
 * `reused`, the place of a reused member's records (its files', renumbered from `first`).
 */
interface FileRecord {
  readonly key: Buffer;
  first: number;
  count: number;
  done: boolean;
  readonly reused?: ReusableMember;
}

type Item = { id: Buffer; offset: number; length: number; record?: FileRecord } | { stream: SliceStream; start: number; length: number } | { reuse: ReusableMember; record: FileRecord };

/** The file being chunked: its name's key, size, old version, and position. */
interface CurrentFile {
  readonly key: Buffer;
  readonly size: number;
  readonly old: BasisFile | undefined;
  pos: number;
  record: FileRecord | undefined;
}

/** Delta bases and the file map of a snapshot. */
export interface FileTracking {
  /** Where new files' old versions come from (the parent snapshot's files), loaded at the first file. */
  readonly basis?: (() => Promise<Basis | undefined>) | undefined;
  /** Receives this snapshot's file map (none: tree snapshots, whose nodes hold the extents). */
  readonly map?: FileMapWriter;
}

export interface ContentStats {
  /** Entries written (chunks and slices). */
  entries: number;
  newChunks: number;
  bytesNew: number;
  /** New chunks of files that had an old version (candidates for a delta). */
  deltaCandidates: number;
  /** Bytes of members whose extents were reused from the basis. */
  reusedBytes: number;
}

export class ContentWriter {
  readonly stats: ContentStats = { entries: 0, newChunks: 0, bytesNew: 0, deltaCandidates: 0, reusedBytes: 0 };
  readonly members: ArchiveMember[] = [];
  private carry: Uint8Array = new Uint8Array(0);
  /** Memory of carried tails (and of chunks cut from them), reused once the session copied those chunks. */
  private readonly carries = new BufferPool();
  /** True while `carry` is a view into the current input piece (copied before the piece is released). */
  private carryIsView = false;
  /** True once the current unit has emitted a chunk of its own. */
  private unitChunked = false;
  private items: Item[] = [];
  private chunks: Uint8Array[] = [];
  private ids: Buffer[] = [];
  /** Per chunk: the old chunk to try as a delta base. */
  private hints: (Buffer | undefined)[] = [];
  private file: CurrentFile | undefined;
  /** The basis once loaded (null: not asked for yet; raw input never asks). */
  basis: Basis | undefined | null = null;
  /** File records in chunk-list order, until their extents are written. */
  private records: FileRecord[] = [];
  private readonly max: number;
  /** Units smaller than this go to the small-file stream. */
  private readonly small: number;
  private readonly glue: SliceStream;
  private readonly smallFiles: SliceStream;

  constructor(
    private readonly session: BlobSink,
    private readonly cutter: Cutter,
    /** Receives the entries in stream order (a chunk list, or a tree snapshot's extent sink). */
    private readonly lists: Pick<ChunkListWriter, 'count' | 'add'> & Partial<Pick<ChunkListWriter, 'addEntries'>>,
    private readonly idOf: (data: Uint8Array) => Buffer,
    /** A second cutter (same parameters) for the small-file stream. */
    smallCutter: Cutter,
    /** File maps and delta bases (tar input); without it, no file map and no deltas. */
    private readonly files?: FileTracking,
  ) {
    this.max = cutter.params.maxSize;
    this.small = Math.min(SMALL_FILE, cutter.params.minSize);
    const onBlob = (b: { bytes: Uint8Array; id: Buffer }) => {
      this.chunks.push(b.bytes);
      this.ids.push(b.id);
      this.hints.push(undefined);
    };
    this.glue = new SliceStream(undefined, GLUE_BYTES, idOf, onBlob);
    this.smallFiles = new SliceStream(smallCutter, 0, idOf, onBlob);
  }

  /**
   * Processes the events of one input piece. Views into the piece are used only until
   * this resolves (new chunks are copied by the session), so the caller may then hand
   * the piece on.
   */
  async process(events: readonly SplitEvent[]): Promise<void> {
    for (const e of events) {
      switch (e.kind) {
        case 'content':
          this.content(e.bytes);
          break;
        case 'end-content':
          this.endContent();
          this.endFile();
          break;
        case 'file':
          this.endFile();
          if (this.files) {
            if (this.basis === null) this.basis = (await this.files.basis?.()) ?? undefined;
            // the producer's key, if it has one (hashed once); none when it says there is no old version and no file map wants one
            const key = e.key ?? (e.key === null && !this.files.map ? undefined : pathKey(e.name));
            this.file = { key: key ?? NO_KEY, size: e.size, old: key ? this.basis?.file(key) : undefined, pos: 0, record: undefined };
          }
          break;
        case 'glue':
          this.slice(this.glue, e.bytes);
          break;
        case 'flush-glue':
          this.glue.flush();
          this.smallFiles.flush();
          break;
        case 'member':
          this.members.push(e.member);
          break;
        case 'reuse':
          this.endFile();
          this.reuse(e.name, e.size);
          break;
        case 'reused':
          break;
      }
      if (this.chunks.length >= 4096) await this.saveChunks();
    }
    if (this.carryIsView) {
      this.carry = this.join(this.carry); // the piece is about to be released
      this.carryIsView = false;
    }
    await this.saveChunks();
    await this.writeItems();
  }

  /** Stores what is left; call once after the last piece (and the splitter's end events). */
  async finish(): Promise<void> {
    if (this.carry.length) this.endContent();
    this.endFile();
    this.glue.flush();
    this.smallFiles.flush();
    await this.saveChunks();
    await this.writeItems();
    if (this.items.length) throw new Error('internal error: chunk-list entries left unresolved');
  }

  private endFile(): void {
    if (this.file?.record) this.file.record.done = true;
    this.file = undefined;
  }

  private content(bytes: Uint8Array): void {
    let rest = bytes;
    if (this.carry.length > 0) {
      if (this.carry.length + bytes.length < this.max) {
        this.carry = this.join(this.carry, bytes);
        this.carryIsView = false;
        return;
      }
      // decide the chunks that start in the carried tail, using just enough new bytes
      const take = Math.min(bytes.length, this.max);
      const joined = this.join(this.carry, bytes.subarray(0, take));
      const r = this.cutter.cuts(joined, false);
      let consumed = 0;
      for (let i = 0; i < r.count && consumed < this.carry.length; i++) {
        const len = r.lengths[i]!;
        this.chunk(joined.subarray(consumed, consumed + len));
        consumed += len;
      }
      if (consumed < this.carry.length) {
        // not decidable yet (bytes was short): keep carrying
        this.carry = this.join(joined.subarray(consumed), bytes.subarray(take));
        this.carryIsView = false;
        return;
      }
      rest = bytes.subarray(consumed - this.carry.length);
      this.carry = new Uint8Array(0);
      this.carryIsView = false;
    }
    let off = 0;
    if (rest.length >= this.max) {
      const r = this.cutter.cuts(rest, false);
      for (let i = 0; i < r.count; i++) {
        const len = r.lengths[i]!;
        this.chunk(rest.subarray(off, off + len));
        off += len;
      }
    }
    if (off < rest.length) {
      // keep a view for now: most units end within the piece; process() copies it if not
      this.carry = rest.subarray(off);
      this.carryIsView = true;
    }
  }

  private endContent(): void {
    const unit = this.carry;
    const chunked = this.unitChunked;
    this.carry = new Uint8Array(0);
    this.carryIsView = false;
    this.unitChunked = false;
    if (unit.length === 0) return;
    if (unit.length < this.small && !chunked) {
      this.slice(this.smallFiles, unit);
      return;
    }
    if (unit.length <= this.cutter.params.minSize) {
      this.chunk(unit); // FastCDC never cuts below the minimum
      this.unitChunked = false;
      return;
    }
    const r = this.cutter.cuts(unit, true);
    let off = 0;
    for (let i = 0; i < r.count; i++) {
      const len = r.lengths[i]!;
      this.chunk(unit.subarray(off, off + len));
      off += len;
    }
    this.unitChunked = false; // chunk() set it; the next unit starts fresh
  }

  private chunk(view: Uint8Array): void {
    this.unitChunked = true;
    const id = this.idOf(view);
    this.chunks.push(view);
    this.ids.push(id);
    const f = this.file;
    if (!f) {
      this.hints.push(undefined);
      this.items.push({ id, offset: 0, length: view.length });
      return;
    }
    this.hints.push(f.old ? pickBase(f.old, f.size, f.pos, view.length) : undefined);
    f.pos += view.length;
    let record: FileRecord | undefined;
    if (!f.record) {
      record = f.record = { key: f.key, first: -1, count: 0, done: false };
      this.records.push(record);
    }
    f.record.count++;
    this.items.push({ id, offset: 0, length: view.length, ...(record && { record }) });
  }

  /** Queues the basis' entries of member `name` (written with the file map records of the files in it). */
  private reuse(name: string, size: number): void {
    const m = this.basis?.member(name);
    if (!m || m.size !== size) throw new Error(`internal error: member ${name} reused without a hashed copy in the basis`);
    const record: FileRecord = { key: m.entries.subarray(0, 0), first: -1, count: 0, done: true, reused: m };
    this.records.push(record);
    this.items.push({ reuse: m, record });
    this.stats.reusedBytes += size;
  }

  /** Writes a reused member's entries as they are: one copy, no object per entry. */
  private async writeReused(m: ReusableMember, record: FileRecord): Promise<void> {
    if (!this.lists.addEntries) throw new Error('internal error: a member reused by a writer without chunk lists');
    record.first = this.lists.count;
    await this.lists.addEntries(m.entries);
    this.stats.entries += m.entries.length / LIST_ENTRY_BYTES;
  }

  /** Appends bytes to a slice stream and queues the entry that will point into its blobs. */
  private slice(stream: SliceStream, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const last = this.items[this.items.length - 1];
    const start = stream.pos;
    stream.append(bytes);
    // contiguous slices merge into one entry, up to MERGE_MAX: an entry resolves once its whole
    // range is cut, and a run that kept growing (a tree's small files, with no glue between)
    // would never resolve until the end, holding every file's extents in memory
    if (last && 'stream' in last && last.stream === stream && last.start + last.length === start && last.length + bytes.length <= MERGE_MAX) last.length += bytes.length;
    else this.items.push({ stream, start, length: bytes.length });
  }

  private async saveChunks(): Promise<void> {
    if (this.chunks.length > 0) {
      const r = await this.session.saveChunks('data', this.chunks, this.ids, this.hints);
      this.stats.newChunks += r.newBlobs;
      this.stats.bytesNew += r.newBytes;
      this.stats.deltaCandidates += r.deltaCandidates;
      this.chunks = [];
      this.ids = [];
      this.hints = [];
    }
    // the session copied the chunks it keeps: their memory is free for the next ones
    this.glue.recycle();
    this.smallFiles.recycle();
    this.carries.recycle(this.carry);
  }

  /** `a` then `b`, in a carry buffer (lent until the next saveChunks, or while it is the carry). */
  private join(a: Uint8Array, b?: Uint8Array): Uint8Array {
    const n = a.length + (b?.length ?? 0);
    const out = this.carries.take(n).subarray(0, n);
    copyBytes(out, a, 0); // a and b are usually views of shared read slots
    if (b) copyBytes(out, b, a.length);
    return out;
  }

  /** Buffers allocated so far for carried tails and slice streams (tests: memory is reused). */
  get allocations(): number {
    return this.carries.allocated + this.glue.allocations + this.smallFiles.allocations;
  }

  /** Writes queued entries, in order, up to the first slice whose blob is not cut yet. */
  private async writeItems(): Promise<void> {
    let i = 0;
    for (; i < this.items.length; i++) {
      const it = this.items[i]!;
      if ('reuse' in it) {
        await this.writeReused(it.reuse, it.record);
        continue;
      }
      if ('id' in it) {
        if (it.record) it.record.first = this.lists.count;
        const stored = this.lists.add(it.id, it.length, it.offset);
        if (stored) await stored;
        this.stats.entries++;
        continue;
      }
      const parts = it.stream.resolve(it.start, it.length);
      if (!parts) break;
      for (const p of parts) {
        const stored = this.lists.add(p.id, p.length, p.offset);
        if (stored) await stored;
        this.stats.entries++;
      }
    }
    this.items = this.items.slice(i);
    await this.writeRecords();
  }

  /** Writes the file map records whose extents are all numbered, in order. */
  private async writeRecords(): Promise<void> {
    let r = 0;
    for (; r < this.records.length; r++) {
      const rec = this.records[r]!;
      if (!rec.done || rec.first < 0) break;
      const map = this.files?.map;
      if (!map) continue;
      if (rec.reused) {
        for (const f of rec.reused.records) {
          const stored = map.add(f.key, rec.first + f.rel, f.count);
          if (stored) await stored;
        }
      } else {
        const stored = map.add(rec.key, rec.first, rec.count);
        if (stored) await stored;
      }
    }
    if (r > 0) this.records = this.records.slice(r);
  }
}
