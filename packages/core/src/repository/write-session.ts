/**
 * A write session: dedup, encode (in workers), pack, upload, index.
 *
 * Order of writes (the repository invariant): packs, then the index file naming
 * them, then (by the caller) the snapshot file. Blobs become visible to other
 * processes only through index files, so a crash leaves at most unreferenced packs.
 *
 * Memory is bounded by settings, not input size: at most `maxEncodeBytes` of
 * plaintext queued for encoding, one pack being built, `maxUploads` packs being
 * uploaded (on a backend with `createTemp`, a local directory, the pack being built is
 * written to its temporary file batch by batch, and a pack being committed holds only its
 * trailer), and the ids of blobs not yet in an index file (an index file is written
 * every `indexEveryPacks` packs or `indexEveryBlobs` blobs, after which their ids live
 * only in the index cache). Per blob it keeps no object: queued ids are packed per batch,
 * the packs' entries are their trailer slots (46 bytes a slot, pack/pack-writer.ts) until
 * the index file, and the unindexed ids one flat hash table (util/id-set.ts).
 *
 * After the first failure the session is broken: every later call rethrows it.
 */
import { StowageError, isStowageError } from '../errors.js';
import { ENTRY_BYTES, isRefCode, type BlobType } from '../pack/entry.js';
import { ID_BYTES } from '../hash/blake3.js';
import { PackWriter, addEncoded, type FinishedPack } from '../pack/pack-writer.js';
import { commitPack, uploadPack } from '../pack/upload.js';
import type { TempFile } from '../backend/backend.js';
import type { BlobLocation, RawIndexedPack } from '../blob-index/types.js';
import type { EncodedBatch } from './blob-codec.js';
import type { CodecPool } from './codec-pool.js';
import type { BaseReads } from './codec-worker.js';
import type { Repository } from './repository.js';
import { IdSet } from '../util/id-set.js';
import { SlotRing } from '../util/slot-ring.js';
import { frameTargetFor } from './blob-codec.js';
import { planWholeBlobReads, readStoredInto, readWholeBlobsInto, type WholeBlobReads } from './blob-reads.js';
import { mark, now, timelineOn, timelineSpan } from '../util/timeline.js';
import { detach } from '../util/detach.js';
import { copyViews } from '../util/copy-bytes.js';

export interface WriteSessionOptions {
  /** Worker threads for encoding (0 = inline). */
  readonly workers?: number;
  /** Plaintext bytes queued for encoding before saveBatch waits (default 12 MiB). */
  readonly maxEncodeBytes?: number;
  /** Packs uploading at once (default: the backend's `info.uploads`, else 1; one more is being built meanwhile). */
  readonly maxUploads?: number;
  /** Write an intermediate index file after this many packs (default 32). */
  readonly indexEveryPacks?: number;
  /**
   * ... or once the packs uploaded since the last index file hold this many blobs (default
   * INDEX_EVERY_BLOBS), so the per-blob bookkeeping kept until an index file stays bounded
   * however small the chunks are.
   */
  readonly indexEveryBlobs?: number;
  /** Compress runs of small new blobs of one batch together, in shared frames (default true). */
  readonly frames?: boolean;
}

/** Totals of what a session stored. */
export interface WriteStats {
  /** Blobs stored by this session (not found in the repository before). */
  newBlobs: number;
  /** Plaintext bytes of the new blobs. */
  newBytes: number;
  /** Stored (compressed, sealed) bytes of the new blobs. */
  storedBytes: number;
  packs: number;
  indexFiles: number;
  /** New blobs stored as deltas against a base. */
  deltaBlobs: number;
  /** Stored bytes of those delta blobs. */
  deltaStoredBytes: number;
  /** New blobs stored in frames shared with other small blobs. */
  framedBlobs: number;
}

/**
 * Encoder input in flight: this many shared-memory slots of ENCODE_SLOT_BYTES. A batch
 * (one input piece's new chunks) shares its slot with its delta bases and their stored
 * bytes. Measured on docker.tar v5 (new chunks with bases): 3 x 5 MiB 1.20 s / 230 MB
 * (bases did not fit: fresh buffers), 3 x 8 MiB 1.08 s / 228-246 MB, 2 x 12 MiB
 * 1.04 s / 195-211 MB; without deltas 0.94-1.06 s / 190-203 MB.
 */
const ENCODE_SLOTS = 2;
/**
 * Default blob count after which an intermediate index file is written. With tiny chunks a
 * 16 MiB pack holds tens of thousands of blobs, and 32 packs' entries (objects with an id
 * Buffer each, about 0.5-1 KB per blob with the id set) made a 531,000-chunk snapshot peak
 * at 1.08 GB; gc writes index files of at most 200,000 entries too.
 */
export const INDEX_EVERY_BLOBS = 100_000;
/**
 * Bytes of an encode slot: a larger batch is split (WriteSession.queueNew). Bases fill the
 * slots, so both are touched whole: 8 MiB (was 12) took the docker.tar v5 snapshot's peak from
 * 172-184 to 167-173 MiB, five snapshots 5.66 against 5.72 s, the same stored bytes within the
 * run-to-run spread (peers, 3 runs each, load 12-13, 2026-11-30).
 */
export const ENCODE_SLOT_BYTES = 8 * 1024 * 1024;

/** Delta bases of one batch: which blob gets which base, and the reads that fetch them. */
interface BasePlan {
  /** Per blob: its base's id, or undefined. */
  readonly ids: (Buffer | undefined)[];
  /** Per blob: (offset, length) of its base in the base area; length 0 for none. */
  readonly spans: number[];
  /** The reads, and the base area's layout and size. */
  readonly reads: WholeBlobReads;
}

interface EncodeJob {
  readonly type: BlobType;
  /** The blobs' ids, packed (ID_BYTES each): a batch waits here long enough for its objects to outlive young collections, so no object per id. */
  readonly ids: Buffer;
  /** Per blob: the base offered to the encoder (used when the result says delta). */
  readonly bases: (Buffer | undefined)[] | undefined;
  readonly rawLengths: number[];
  readonly bytes: number;
  readonly result: Promise<EncodedBatch>;
}

export class WriteSession {
  readonly stats: WriteStats = { newBlobs: 0, newBytes: 0, storedBytes: 0, packs: 0, indexFiles: 0, deltaBlobs: 0, deltaStoredBytes: 0, framedBlobs: 0 };
  /** Ids stored by this session and not yet absorbed into the index cache. */
  private readonly unindexed = new IdSet();
  private readonly encodeQueue: EncodeJob[] = [];
  private queuedBytes = 0;
  private writer: PackWriter;
  private readonly uploads: Promise<void>[] = [];
  /** Packs uploaded since the last index file, as raw slots (no object per blob). */
  private readonly uploaded: RawIndexedPack[] = [];
  /** Blobs in `uploaded`. */
  private uploadedBlobs = 0;
  private broken: unknown;
  private readonly pool: CodecPool;
  private readonly maxEncodeBytes: number;
  private readonly maxUploads: number;
  private readonly indexEveryPacks: number;
  private readonly indexEveryBlobs: number;
  /** Largest frame of small blobs (0: none): FRAME_TARGET, at most a quarter pack. */
  private readonly frameTarget: number;
  private readonly encodeSlots = new SlotRing(ENCODE_SLOTS, ENCODE_SLOT_BYTES);
  /**
   * The pack being built's temporary file, on a backend that has them (packs written while
   * built), opened at the first batch; `writing` is its last append (each waits for the one
   * before).
   */
  private temp: { readonly file: Promise<TempFile>; writing: Promise<void> } | undefined;
  /**
   * Encoder output buffers in use, with how many parts use each: parts drained to a temporary
   * file until written, parts of a finished pack until it is saved. A buffer is detached when
   * its count drops to 0 and the pack writer holds none of it (see unuse).
   */
  private readonly outputUses = new Map<ArrayBuffer, number>();
  /** The drain running (drains run one at a time, in queue order, whoever asks). */
  private drainTail: Promise<void> = Promise.resolve();
  /** Bytes written to packs' temporary files while they were built (tests). */
  streamedBytes = 0;
  /** Output buffers handed back to V8 once their packs were saved (tests). */
  releasedBuffers = 0;
  /** Batches encoded from fresh memory instead of a slot (inline, or a blob larger than a slot): tests. */
  slotless = 0;

  constructor(
    private readonly repo: Repository,
    opts: WriteSessionOptions = {},
  ) {
    this.pool = repo.codecs(opts.workers);
    this.writer = new PackWriter(repo.cipher, { sha256: repo.backend.info.contentSha256 });
    this.maxEncodeBytes = opts.maxEncodeBytes ?? 12 * 1024 * 1024;
    this.maxUploads = opts.maxUploads ?? repo.backend.info.uploads ?? 1;
    this.indexEveryPacks = opts.indexEveryPacks ?? 32;
    this.indexEveryBlobs = opts.indexEveryBlobs ?? INDEX_EVERY_BLOBS;
    this.frameTarget = opts.frames === false ? 0 : frameTargetFor(repo.config.packSize);
  }

  /**
   * Stores the blobs of `data` (consecutive, `lengths` given, ids precomputed) that the
   * repository does not have yet. See saveChunks.
   */
  async saveBatch(type: BlobType, data: Uint8Array, lengths: readonly number[], ids: readonly Buffer[]): Promise<{ newBlobs: number; newBytes: number }> {
    const chunks: Uint8Array[] = [];
    for (let i = 0, off = 0; i < lengths.length; off += lengths[i]!, i++) chunks.push(data.subarray(off, off + lengths[i]!));
    return this.saveChunks(type, chunks, ids);
  }

  /**
   * Stores the blobs among `chunks` (ids precomputed) that the repository does not have
   * yet: one batched index lookup, then the new ones (deduplicated within the call) are
   * copied into one buffer for the encoder. Returns the number and plaintext bytes of new
   * blobs. The chunks are not retained. Waits while the pipeline is full.
   */
  async saveChunks(
    type: BlobType,
    chunks: readonly Uint8Array[],
    ids: readonly Buffer[],
    hints?: readonly (Buffer | undefined)[],
  ): Promise<{ newBlobs: number; newBytes: number; deltaCandidates: number }> {
    this.check();
    // 1. ids this session already has, then one batched lookup for the rest
    const ask: number[] = [];
    for (let i = 0; i < ids.length; i++) if (!this.unindexed.has(ids[i]!)) ask.push(i);
    const found = ask.length ? await this.repo.lookup(ask.map((i) => ids[i]!)) : [];
    const isKnown = new Uint8Array(ids.length).fill(1);
    ask.forEach((i, j) => {
      if (!found[j]) isKnown[i] = 0;
    });
    // 2. the new ones (deduplicated within the call) go to the encoder
    const newIdx: number[] = [];
    let newBytes = 0;
    for (let i = 0; i < ids.length; i++) {
      if (isKnown[i] || !this.unindexed.add(ids[i]!)) continue;
      newIdx.push(i);
      newBytes += chunks[i]!.length;
    }
    const deltaCandidates = newIdx.length > 0 ? await this.queueNew(type, newIdx, chunks, ids, hints) : 0;
    while (this.queuedBytes > this.maxEncodeBytes) await this.drainOne();
    return { newBlobs: newIdx.length, newBytes, deltaCandidates };
  }

  /**
   * Queues blobs `idx` of `chunks` for encoding: copied into an encode slot, their candidate
   * delta bases after them (each once), read and decoded there while the next batch is cut.
   * A batch whose blobs, bases and the bases' stored bytes (read into the slot's end) do not
   * fit one slot is split in two, in order, and each part planned and queued on its own, so
   * the workers always read and write shared memory in place and the main thread allocates
   * no batch or base buffers (docker.tar v5 had two such batches of about 7 MB, with 12 MB of
   * bases read into fresh memory). Inline (no workers), or a single blob larger than a slot,
   * uses fresh memory. Returns the number of delta candidates.
   */
  private async queueNew(type: BlobType, idx: readonly number[], chunks: readonly Uint8Array[], ids: readonly Buffer[], hints: readonly (Buffer | undefined)[] | undefined): Promise<number> {
    let bytes = 0;
    for (const i of idx) bytes += chunks[i]!.length;
    const bases = hints ? await this.planBases(idx.map((i) => hints[i])) : undefined;
    const total = bytes + (bases?.reads.plainBytes ?? 0);
    const fits = total + (bases?.reads.storedBytes ?? 0) <= ENCODE_SLOT_BYTES;
    if (this.pool.maxWorkers > 0 && !fits && idx.length > 1) {
      let k = 0;
      for (let half = 0; k < idx.length - 1 && 2 * (half + chunks[idx[k]!]!.length) <= bytes; k++) half += chunks[idx[k]!]!.length;
      k = Math.max(1, k);
      return (await this.queueNew(type, idx.slice(0, k), chunks, ids, hints)) + (await this.queueNew(type, idx.slice(k), chunks, ids, hints));
    }
    const slot = this.pool.maxWorkers > 0 && fits ? await this.encodeSlots.acquire() : undefined;
    const buf = slot ? slot.bytes.subarray(0, total) : new Uint8Array(total);
    copyViews(
      buf,
      idx.map((i) => chunks[i]!),
    ); // adjacent chunks (cut from one piece) in one copy, at memcpy speed into the shared slot
    const rawLengths = idx.map((i) => chunks[i]!.length);
    const result = bases ? this.encodeWithBases(buf, bytes, rawLengths, bases, slot?.bytes.subarray(total)) : this.pool.encode(buf, rawLengths, undefined, this.frameTarget);
    if (slot) result.then(slot.release, slot.release);
    result.catch(() => undefined); // observed when drained
    const packed = Buffer.allocUnsafeSlow(idx.length * ID_BYTES);
    idx.forEach((i, k) => packed.set(ids[i]!.subarray(0, ID_BYTES), k * ID_BYTES));
    this.encodeQueue.push({ type, ids: packed, bases: bases?.ids, rawLengths, bytes: total, result });
    this.queuedBytes += total;
    this.stats.newBlobs += idx.length;
    this.stats.newBytes += bytes;
    this.slotless += slot ? 0 : 1;
    return bases ? bases.spans.filter((x, k) => k % 2 === 1 && x > 0).length : 0;
  }

  /**
   * Resolves delta hints (old chunks) to bases and lays them out: a base must be a whole
   * blob already in the index (a hint that is itself a delta gives its own base, so chains
   * stay one step long); hints this session stored, or that are missing, give none.
   * `spans` holds per blob the (offset, length) of its base relative to the base area.
   */
  private async planBases(hints: readonly (Buffer | undefined)[]): Promise<BasePlan | undefined> {
    const asked = [...new Map(hints.filter((h): h is Buffer => h !== undefined).map((h) => [h.toString('latin1'), h])).values()];
    if (asked.length === 0) return undefined;
    const found = await this.repo.lookup(asked);
    const baseOf = new Map<string, Buffer>();
    const locs = new Map<string, BlobLocation>();
    const second: Buffer[] = [];
    asked.forEach((h, i) => {
      const loc = found[i];
      if (!loc) return;
      baseOf.set(h.toString('latin1'), loc.base ?? h);
      if (loc.base) second.push(loc.base);
      else locs.set(h.toString('latin1'), loc);
    });
    if (second.length) {
      const more = await this.repo.lookup(second);
      second.forEach((b, i) => {
        const loc = more[i];
        if (loc && !loc.base) locs.set(b.toString('latin1'), loc);
      });
    }
    if (locs.size === 0) return undefined;
    const reads = planWholeBlobReads(locs);
    const ids: (Buffer | undefined)[] = [];
    const spans: number[] = [];
    for (const h of hints) {
      const b = h && baseOf.get(h.toString('latin1'));
      const k = b?.toString('latin1');
      const off = k === undefined ? undefined : reads.at.get(k);
      ids.push(off === undefined ? undefined : b);
      spans.push(off ?? 0, off === undefined ? 0 : locs.get(k!)!.rawLength);
    }
    return { ids, spans, reads };
  }

  /**
   * Reads and decodes the bases into `buf` after the blobs (straight into shared memory when
   * `shared`), then encodes. A base that cannot be read (a damaged repository) only costs
   * its deltas: the batch is encoded without bases, and check will report the damage. With
   * workers and a slot (`scratch`), the stored bytes are read into the slot and the encode
   * job decodes them itself before encoding: one message to a worker, and no hop through
   * this thread's event loop between the bases' decode and the encode while the slot is held.
   */
  private async encodeWithBases(buf: Uint8Array, area: number, rawLengths: number[], plan: BasePlan, scratch: Uint8Array | undefined): Promise<EncodedBatch> {
    let spans: number[] | undefined = plan.spans.map((x, k) => (k % 2 === 0 ? x + area : x));
    const plain = buf.subarray(area, area + plan.reads.plainBytes);
    let reads: BaseReads[] | undefined;
    try {
      if (scratch && this.pool.maxWorkers > 0) reads = await readStoredInto(this.repo, plan.reads, plain, scratch);
      else await readWholeBlobsInto(this.repo, this.pool, plan.reads, plain, scratch);
    } catch (err) {
      if (!isStowageError(err, 'CORRUPT', 'NOT_FOUND')) throw err;
      spans = undefined;
      reads = undefined;
    }
    const r = await this.pool.encode(buf, rawLengths, spans, this.frameTarget, reads);
    if (!spans || r.basesFailed) plan.ids.fill(undefined);
    return r;
  }

  /** Stores one blob (chunk lists and such); returns its id. */
  async saveBlob(type: BlobType, plain: Uint8Array): Promise<Buffer> {
    const id = this.pool.inline.id(plain);
    await this.saveBatch(type, plain, [plain.length], [id]);
    return id;
  }

  /**
   * Makes everything saved so far durable and visible: encodes the rest, finishes and
   * uploads the last pack, writes the index file and absorbs it into the index cache.
   * `beside`, a check the caller must pass before it commits (a snapshot: its lock's verify),
   * runs beside that last index file's save, once every pack is saved (on S3 one round trip
   * instead of two in a row); flush rejects with its error.
   *
   * `commit`, the caller's next write, which must follow the index file (a snapshot file),
   * runs once that file is stored and `beside` passed, beside the index file's absorption
   * into the local index cache (a local write the commit does not need): flush resolves with
   * its result when both are done, and rejects when either failed.
   */
  async flush(beside?: () => Promise<void>): Promise<void>;
  async flush<T>(beside: (() => Promise<void>) | undefined, commit: () => Promise<T>): Promise<T>;
  async flush<T>(beside?: () => Promise<void>, commit?: () => Promise<T>): Promise<T | undefined> {
    this.check();
    mark('session flush', { queued: this.encodeQueue.length, queuedBytes: this.queuedBytes, uploads: this.uploads.length });
    while (this.encodeQueue.length) await this.drainOne();
    await this.drainTail; // a drain another caller started
    this.check();
    mark('session drained');
    if (this.writer.count > 0) this.finishPack();
    await this.awaitUploads(0);
    mark('session packs saved');
    const check = beside?.();
    check?.catch(() => undefined); // observed below, also when the index file fails first
    const [saved] = await Promise.all([this.saveIndex(), check]);
    const absorbing = saved && this.absorbIndex(saved);
    if (!commit) return void (await absorbing);
    absorbing?.catch(() => undefined); // observed below
    // the index cache builds the absorption's batch a turn later (LevelIndex.absorb), once the commit's request is out
    const [absorbed, committed] = await Promise.allSettled([absorbing, commit()]);
    if (committed.status === 'rejected') throw committed.reason;
    if (absorbed.status === 'rejected') throw absorbed.reason;
    return committed.value;
  }

  /** Stops work in flight; whatever was uploaded stays as unreferenced packs (gc removes them). */
  async abort(reason: unknown = new StowageError('ABORTED', 'write session aborted')): Promise<void> {
    this.broken ??= reason;
    const temp = this.temp;
    this.temp = undefined;
    if (temp) {
      await temp.writing.catch(() => undefined);
      await (await temp.file.catch(() => undefined))?.discard();
    }
    await Promise.allSettled(this.uploads);
  }

  private check(): void {
    if (this.broken) throw this.broken;
  }

  private fail(err: unknown): never {
    this.broken ??= err;
    throw this.broken;
  }

  /**
   * Takes the oldest encode job into the pack writer (FIFO keeps packs in stream order), after
   * the drain in progress: callers saving at once (a tree snapshot saves tree blobs while file
   * contents are saved) never drain two jobs at once, nor find the queue emptied by the other.
   */
  private drainOne(): Promise<void> {
    const p = this.drainTail.then(() => (this.encodeQueue.length > 0 ? this.drainNext() : undefined));
    this.drainTail = p.catch(() => undefined);
    return p;
  }

  private async drainNext(): Promise<void> {
    this.check();
    const job = this.encodeQueue.shift()!;
    let r: EncodedBatch;
    try {
      r = await job.result;
    } catch (err) {
      this.fail(err);
    }
    this.queuedBytes -= job.bytes;
    const blobs = job.rawLengths.map((rawLength, i) => ({ id: job.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES), type: job.type, rawLength, base: job.bases?.[i] }));
    try {
      this.stats.storedBytes += addEncoded(
        (len) => {
          if (this.writer.count > 0 && this.writer.size + len > this.repo.config.packSize) this.finishPack();
          return this.writer;
        },
        r,
        blobs,
      );
    } catch (err) {
      this.fail(err);
    }
    for (let i = 0; i < blobs.length; i++) {
      if (r.delta[i]) {
        this.stats.deltaBlobs++;
        this.stats.deltaStoredBytes += r.storedLengths[i]!;
      }
      if (r.frameStart[i] !== -1) this.stats.framedBlobs++;
    }
    if (this.writer.size >= this.repo.config.packSize) this.finishPack();
    await this.stream();
    await this.awaitUploads(this.maxUploads);
  }

  /**
   * On a backend with temporary files: hands the bytes added to the pack being built since
   * the last call to its temporary file. The appends of one file run one after the other
   * (each starts when the one before finished: two at once would both write at the same
   * offset), and this waits for the append before its own, so at most about two batches'
   * outputs wait for the disk. The drained parts' buffers count as used from the moment they
   * leave the writer until written, then are detached unless still used (see unuse).
   */
  private async stream(): Promise<void> {
    const create = this.repo.backend.createTemp?.bind(this.repo.backend);
    if (!create) return;
    const parts = this.writer.drain();
    if (parts.length === 0) return;
    this.use(parts);
    if (!this.temp) {
      const file = create('pack');
      file.catch(() => undefined); // observed by the appends and the commit
      this.temp = { file, writing: Promise.resolve() };
    }
    const t = this.temp;
    const before = t.writing;
    t.writing = (async () => {
      await before;
      await (await t.file).append(parts);
      for (const p of parts) this.streamedBytes += p.length;
      this.unuse(parts);
    })();
    t.writing.catch(() => undefined); // observed by the next append or the commit
    try {
      await before;
    } catch (err) {
      this.fail(err);
    }
  }

  private finishPack(): void {
    const pack = this.writer.finalize();
    this.writer = new PackWriter(this.repo.cipher, { sha256: this.repo.backend.info.contentSha256 });
    const temp = this.temp;
    this.temp = undefined;
    const outputs = pack.parts.slice(0, -1); // the tail is the writer's own (Buffer.concat: maybe Node's pool)
    this.use(outputs);
    const p = this.upload(pack, temp).then(() => this.unuse(outputs));
    p.catch(() => undefined);
    this.uploads.push(p);
  }

  /** Counts a use of each encoder output buffer under `parts` (parts drained to a temporary file, a finished pack's parts). */
  private use(parts: readonly Uint8Array[]): void {
    for (const part of parts) {
      const b = part.buffer;
      if (b instanceof ArrayBuffer && b.byteLength > 0) this.outputUses.set(b, (this.outputUses.get(b) ?? 0) + 1);
    }
  }

  /**
   * Ends a use of each buffer under `parts` (written, or its pack saved), and frees the
   * buffers no longer used at once: each is detached (util/detach.ts; its memory freed right
   * there, where V8 allows, else at the next scavenge) once no drained part waiting to be
   * written, no pack being saved and not the pack writer uses it (a batch can span two
   * packs). A pack kept its outputs while it filled and was saved, long enough for V8 to
   * promote them to its old generation, where they were freed only by a full collection,
   * which V8 starts after 64 MB of external memory: a first snapshot (everything new) held
   * 40-50 MB of the outputs of packs already saved.
   */
  private unuse(parts: readonly Uint8Array[]): void {
    for (const part of parts) {
      const b = part.buffer;
      if (!(b instanceof ArrayBuffer)) continue; // shared memory
      const n = this.outputUses.get(b);
      if (n === undefined) continue; // not counted (empty)
      if (n > 1) {
        this.outputUses.set(b, n - 1);
        continue;
      }
      this.outputUses.delete(b);
      if (this.writer.holds(b)) continue; // counted again once drained or in a finished pack
      detach(b);
      this.releasedBuffers++;
    }
  }

  /**
   * Uploads a pack (pack/upload.ts: saved, then its trailer read back and checked); one
   * written while built (`temp`) is committed from its temporary file once the appends
   * finished.
   */
  private async upload(pack: FinishedPack, temp: WriteSession['temp']): Promise<void> {
    const t0 = timelineOn ? now() : 0;
    if (temp) {
      try {
        await temp.writing;
      } catch (err) {
        await (await temp.file).discard();
        throw err;
      }
      await commitPack(this.repo.backend, await temp.file, pack);
    } else await uploadPack(this.repo.backend, pack);
    if (timelineOn) timelineSpan('pack saved', t0, { size: pack.size, blobs: pack.count });
    this.stats.packs++;
    this.uploaded.push({ id: pack.id, slots: pack.slots, slotCount: pack.slotCount });
    this.uploadedBlobs += pack.count;
  }

  private async awaitUploads(max: number): Promise<void> {
    while (this.uploads.length > max) {
      try {
        await this.uploads.shift();
      } catch (err) {
        this.fail(err);
      }
    }
    if (this.uploaded.length >= this.indexEveryPacks || this.uploadedBlobs >= this.indexEveryBlobs) await this.writeIndex();
  }

  /** Writes an index file for the packs uploaded since the last one, then absorbs it. */
  private async writeIndex(): Promise<void> {
    const saved = await this.saveIndex();
    if (saved) await this.absorbIndex(saved);
  }

  /** Writes an index file for the packs uploaded since the last one (none: undefined). */
  private async saveIndex(): Promise<{ readonly name: string; readonly packs: RawIndexedPack[] } | undefined> {
    if (this.uploaded.length === 0) return undefined;
    const packs = this.uploaded.splice(0);
    this.uploadedBlobs = 0;
    const t0 = timelineOn ? now() : 0;
    try {
      const name = await this.repo.saveIndexFile(packs);
      if (timelineOn) timelineSpan('index file saved', t0, { packs: packs.length });
      this.stats.indexFiles++;
      return { name, packs };
    } catch (err) {
      this.fail(err);
    }
  }

  /** Absorbs a saved index file into the index cache; its blobs are no longer this session's to track. */
  private async absorbIndex({ name, packs }: { readonly name: string; readonly packs: RawIndexedPack[] }): Promise<void> {
    const t0 = timelineOn ? now() : 0;
    try {
      await (await this.repo.index()).absorb(name, packs);
      if (timelineOn) timelineSpan('index file absorbed', t0, { packs: packs.length });
    } catch (err) {
      this.fail(err);
    }
    for (const p of packs) {
      for (let off = 0, end = p.slotCount * ENTRY_BYTES; off < end; off += ENTRY_BYTES) if (!isRefCode(p.slots[off + 32]!)) this.unindexed.delete(p.slots.subarray(off, off + ID_BYTES));
    }
  }
}
