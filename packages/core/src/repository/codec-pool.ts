/**
 * A pool of codec worker threads, or an inline codec when workers do not pay off.
 *
 * Workers start lazily (or are taken from those started before the key was known,
 * codec-warm.ts): one when the first job arrives; encode jobs add another
 * (up to the maximum) only while every running worker is busy, so a snapshot of
 * mostly known data never pays for threads it does not use. Decode jobs use the
 * full pool at once. Jobs go to the worker with the fewest outstanding jobs; each
 * job's input memory is transferred (the caller must not touch it afterwards).
 *
 * The pool also runs hashes of whole streams on its workers (sha256, rangeHasher), so a
 * snapshot's or restore's digests do not load the main thread. The pool holds no state of
 * any one operation: each hash is a handle the operation owns (its state lives in that
 * handle, or on a worker under the handle's id), so many operations can share one pool.
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StowageError, type ErrorCode } from '../errors.js';
import { BlobCodec, withId, type CodecSpec, type DecodeItem, type DecodedBatch, type EncodedBatch } from './blob-codec.js';
import type { BaseReads, WorkerRequest, WorkerResponse } from './codec-worker.js';
import { takeWarmWorker, workerUrl } from './codec-warm.js';
import { markOnce } from '../util/timeline.js';
import { RangeHasher, type DigestedRange, type DigestMismatch } from '../hash/range-hasher.js';
import { Sha256 } from '../hash/sha256-pair.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  slot: WorkerSlot;
}

interface WorkerSlot {
  readonly worker: Worker;
  outstanding: number;
  /**
   * The frameKey of the frame the worker's codec keeps decoded once the jobs posted to it
   * so far have run (the last keyed frame of its last decode job), as far as the pool can
   * tell; undefined when unknown. A hint only: the codec checks the key itself.
   */
  frame?: string | undefined;
}

/** A running SHA-256 of one stream, owned by the operation that feeds it (CodecPool.sha256). */
export interface StreamSha {
  /**
   * Feeds `pieces`, in call order. Pieces in shared memory are read in place and the
   * promise resolves once they are hashed (so their memory may be reused). Pieces in
   * ordinary memory are copied, unless `take` says the caller is done with them and with
   * every other view of their ArrayBuffers: then that memory may be transferred to a
   * worker (detached from the caller).
   */
  update(pieces: readonly Uint8Array[], take?: boolean): Promise<void>;
  /** The hex digest of everything fed; the hash ends. */
  digest(): Promise<string>;
  /** Drops the hash without a digest (the operation failed); idempotent, a no-op after digest. */
  discard(): void;
}

/** Hashes of byte ranges of one stream, owned by the operation that feeds it (CodecPool.rangeHasher). */
export interface StreamRanges {
  /**
   * Feeds pieces starting at stream `offset` (copied, or read in place from shared memory:
   * then resolves once hashed); `add`: ranges found since the last update, none of them
   * starting before `offset`.
   */
  update(pieces: readonly Uint8Array[], offset: number, add?: readonly DigestedRange[]): Promise<void>;
  /** The ranges whose bytes did not match their digest; the hasher ends. */
  result(): Promise<DigestMismatch[]>;
  /** Drops the hashes (the operation failed); idempotent, a no-op after result. */
  discard(): void;
}

/**
 * The SHA-256 of one stream and the digests of byte ranges of it, in one pass over its bytes
 * (CodecPool.streamDigests; only where pairedSha256 is true).
 */
export interface StreamDigests {
  /** Feeds pieces starting at stream `offset` (every byte, in order; copied, or read in place from shared memory: then resolves once hashed). */
  update(pieces: readonly Uint8Array[], offset: number): Promise<void>;
  /** The stream's hex SHA-256 and the ranges whose bytes did not match their digest; the hashes end. */
  result(): Promise<{ readonly sha256: string; readonly mismatches: DigestMismatch[] }>;
  /** Drops the hashes (the operation failed); idempotent, a no-op after result. */
  discard(): void;
}

/**
 * `items` with their ids copied into one small buffer. A message to a worker copies the
 * WHOLE ArrayBuffer behind every view it holds, and ids are usually views into much larger
 * memory (a decoded chunk list, an index page): posted as they are, a window's items
 * cloned about 160 KiB for 1 KiB of ids, garbage that made a serving worker grow by tens of
 * MB (issue 12 item 7).
 */
export function compactIds(items: readonly DecodeItem[]): DecodeItem[] {
  let n = 0;
  for (const it of items) n += it.id.length;
  const ids = new Uint8Array(n);
  let at = 0;
  return items.map((it) => {
    ids.set(it.id, at);
    return withId(it, ids.subarray(at, (at += it.id.length)));
  });
}

/**
 * The worker among `slots` that keeps decoded a frame `items` need (by frameKey), and the
 * item order that puts that frame's members first (so the codec finds it before decoding
 * another frame into its buffer), when the items all have places (so their order does not
 * change where they are written) and the order changes. A restore window's frames are mostly
 * different from its neighbours', but a frame cut by a window boundary, or used again a few
 * windows on, is found this way: restore of docker.tar v5 (encrypted) decompressed 384 MB of
 * frames before, 353 MB with it (and opened 209 -> 198 MB of sealed bytes).
 */
export function frameAffinity<S extends { readonly frame?: string | undefined }>(slots: readonly S[], items: readonly DecodeItem[]): { holder?: S; order?: number[] } {
  for (const slot of slots) {
    const key = slot.frame;
    if (key === undefined) continue;
    const first = items.findIndex((it) => it.frameKey === key);
    if (first < 0) continue;
    if (first === 0 || !items.every((it) => it.places)) return { holder: slot };
    const order: number[] = [];
    items.forEach((it, i) => it.frameKey === key && order.push(i));
    items.forEach((it, i) => it.frameKey !== key && order.push(i));
    return { holder: slot, order };
  }
  return {};
}

/**
 * The frame a codec keeps decoded after decoding `items` in order, having kept `before`
 * (BlobCodec.decodeInto: a keyed frame stays in its frame buffer; an unkeyed one may
 * replace it, so then it is unknown).
 */
export function lastFrameKept(items: readonly DecodeItem[], before: string | undefined): string | undefined {
  let kept = before;
  for (const it of items) if (it.frame) kept = it.frameKey;
  return kept;
}

/** Number of workers used by default: one per core. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

export class CodecPool {
  readonly inline: BlobCodec;
  private readonly slots: WorkerSlot[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private failure: unknown;
  /** Ids of hash streams handed out (sha256, rangeHasher). */
  private streams = 0;
  /** The worker each hash stream runs on (rangeHasher puts its ranges beside their SHA-256, on another). */
  private readonly streamSlots = new WeakMap<StreamSha | StreamRanges, WorkerSlot>();
  /** Set by close while jobs are outstanding: called once the last one answered. */
  private drained: (() => void) | undefined;

  /** `maxWorkers` = 0 runs every job inline on the calling thread. */
  constructor(
    private readonly spec: CodecSpec,
    readonly maxWorkers: number,
  ) {
    this.inline = new BlobCodec(spec);
  }

  /** Workers started so far. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Encodes consecutive blobs of `data` (`baseSpans`: where candidate delta bases lie in
   * `data`; `frameTarget`: small blobs may share frames up to this size; see BlobCodec.encode); `data`'s memory
   * is transferred to the worker. `bases` (workers only, `data` in shared memory): reads the
   * worker decodes into `data` first, the bases `baseSpans` points at; when one is CORRUPT the
   * blobs are encoded without bases and the result says `basesFailed`.
   */
  encode(data: Uint8Array, lengths: number[], baseSpans?: number[], frameTarget = 0, bases?: readonly BaseReads[]): Promise<EncodedBatch & { readonly basesFailed?: boolean }> {
    if (this.maxWorkers === 0) {
      if (bases) return Promise.reject(new Error('internal error: delta bases to decode in an inline encode'));
      return Promise.resolve().then(() => this.inline.encode(data, lengths, baseSpans, frameTarget));
    }
    if (this.slots.length === 0 || (this.slots.length < this.maxWorkers && this.slots.every((s) => s.outstanding > 0))) this.spawn();
    // the worker's codec keeps the last frame of the bases it decodes (as after a decode job)
    const items = bases?.flatMap((b) => b.items);
    return this.post(
      { seq: 0, op: 'encode', data, lengths, ...(baseSpans && { baseSpans }), frameTarget, ...(bases && { bases }) },
      [data],
      items && ((slot) => (slot.frame = lastFrameKept(items, slot.frame))),
    ).then((r) => {
      const x = r as EncodedBatch & { readonly basesFailed?: boolean };
      return { ...x, stored: Buffer.from(x.stored.buffer, x.stored.byteOffset, x.stored.byteLength) };
    });
  }

  /** Decodes and verifies blobs from `data`; `data`'s memory is transferred to the worker. */
  decode(data: Uint8Array, items: DecodeItem[], what: string): Promise<DecodedBatch> {
    if (this.maxWorkers === 0) return Promise.resolve().then(() => this.inline.decode(data, items, what));
    while (this.slots.length < this.maxWorkers) this.spawn();
    return this.post({ seq: 0, op: 'decode', data, items: compactIds(items), what }, [data], (slot) => (slot.frame = lastFrameKept(items, slot.frame))).then((r) => {
      const x = r as { plain: Uint8Array; lengths: number[] };
      return { plain: Buffer.from(x.plain.buffer, x.plain.byteOffset, x.plain.byteLength), lengths: x.lengths };
    });
  }

  /**
   * Decodes and verifies blobs from `data` into `out` (both may be shared memory, which
   * is read and written in place), and the items with an `aside` offset into `aside` as well
   * (shared memory when there are workers); resolves with the lengths.
   */
  decodeInto(data: Uint8Array, items: DecodeItem[], out: Uint8Array, what: string, aside?: Uint8Array): Promise<number[]> {
    if (this.maxWorkers === 0) return Promise.resolve().then(() => this.inline.decodeInto(data, items, out, what, aside));
    while (this.slots.length < this.maxWorkers) this.spawn();
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.outstanding < slot.outstanding) slot = s;
    // a job needing the frame a worker keeps decoded goes to that worker, with that frame's
    // members first, unless it is further behind than one job
    const { holder, order } = frameAffinity(this.slots, items);
    if (holder && holder.outstanding <= slot.outstanding + 1) slot = holder;
    const job = holder === slot && order ? order.map((i) => items[i]!) : items;
    slot.frame = lastFrameKept(job, slot.frame);
    const posted = this.postTo(slot, { seq: 0, op: 'decode-into', data, items: compactIds(job), out, what, ...(aside && { aside }) }, []) as Promise<number[]>;
    return job === items ? posted : posted.then(() => items.map((it) => it.rawLength));
  }

  /**
   * A running SHA-256 of one operation's stream (a snapshot's input, a restore's output),
   * on a worker thread when the pool has workers. Each call gives a new, independent hash:
   * any number of operations may hash at once.
   */
  sha256(): StreamSha {
    const id = ++this.streams;
    if (this.maxWorkers === 0) return inlineSha();
    if (this.slots.length === 0) this.spawn();
    const slot = this.slots[id % this.slots.length]!;
    let open = true;
    const sha: StreamSha = {
      update: (pieces, take = false) => {
        if (!open) return Promise.reject(new Error('internal error: update after digest'));
        const transfer: ArrayBuffer[] = [];
        let shared = false;
        const data = pieces.map((p) => {
          if (!(p.buffer instanceof ArrayBuffer)) {
            shared = true;
            return p;
          }
          // ordinary memory goes to the worker: the caller's is copied unless it gave it away
          // (never Node's shared Buffer pool, whose ArrayBuffers are exactly Buffer.poolSize bytes)
          const q = take && p.buffer.byteLength !== Buffer.poolSize ? p : new Uint8Array(p);
          if (!transfer.includes(q.buffer as ArrayBuffer)) transfer.push(q.buffer as ArrayBuffer);
          return q;
        });
        if (shared) return this.postTo(slot, { seq: 0, op: 'sha-update', stream: id, data, ack: true }, transfer).then(() => undefined);
        this.send(slot, { seq: 0, op: 'sha-update', stream: id, data }, transfer);
        return Promise.resolve();
      },
      digest: async () => {
        if (!open) throw new Error('internal error: digest twice');
        open = false;
        return (await this.postTo(slot, { seq: 0, op: 'sha-digest', stream: id }, [])) as string;
      },
      discard: () => {
        if (!open) return;
        open = false;
        this.send(slot, { seq: 0, op: 'discard', stream: id }, []);
      },
    };
    this.streamSlots.set(sha, slot);
    return sha;
  }

  /**
   * Hashes byte ranges of one operation's stream (image layers, configs, manifests) on
   * another worker than `beside` (the same operation's SHA-256, when given), so the two
   * passes run side by side. Each call gives a new, independent hasher. Its update must
   * see every piece, in order, before the SHA-256 is given (and may take over) the same pieces.
   */
  rangeHasher(ranges: readonly DigestedRange[], beside?: StreamSha): StreamRanges {
    const id = ++this.streams;
    if (this.maxWorkers === 0) return inlineRanges(ranges);
    while (this.slots.length < Math.min(2, this.maxWorkers)) this.spawn();
    // Not the worker of `beside`: with workers started lazily, the SHA-256 (asked for first)
    // had only one worker to go to, and picking by stream id put both passes on that one
    // (restore of docker.tar v5: one worker busy 1.55 s of 1.80, the other idle a third).
    const taken = beside && this.streamSlots.get(beside);
    const slot = this.slots.find((s) => s !== taken) ?? this.slots[id % this.slots.length]!;
    this.send(slot, { seq: 0, op: 'range-start', stream: id, ranges }, []);
    let open = true;
    const hasher: StreamRanges = {
      update: (pieces, offset, add) => this.rangeUpdate(slot, id, pieces, offset, add),
      result: async () => {
        open = false;
        return (await this.postTo(slot, { seq: 0, op: 'range-result', stream: id }, [])) as DigestMismatch[];
      },
      discard: () => {
        if (!open) return;
        open = false;
        this.send(slot, { seq: 0, op: 'discard', stream: id }, []);
      },
    };
    this.streamSlots.set(hasher, slot);
    return hasher;
  }

  /**
   * The SHA-256 of one operation's stream and the digests of `ranges` of it, hashed together
   * on one worker: a SHA-256 range at a multiple of 64 goes through the same pass as the whole
   * stream (hash/sha256-pair.ts, one message schedule for both states), instead of a second
   * pass on another worker (sha256 + rangeHasher). Use only where pairedSha256 is true (the
   * SHA-NI addon is built and the CPU has SHA-NI). Each call gives a new, independent hash.
   */
  streamDigests(ranges: readonly DigestedRange[]): StreamDigests {
    const id = ++this.streams;
    if (this.maxWorkers === 0) return inlineDigests(ranges);
    if (this.slots.length === 0) this.spawn();
    const slot = this.slots[id % this.slots.length]!;
    this.send(slot, { seq: 0, op: 'range-start', stream: id, ranges, whole: true }, []);
    let open = true;
    return {
      update: (pieces, offset) => {
        if (!open) return Promise.reject(new Error('internal error: update after result'));
        return this.rangeUpdate(slot, id, pieces, offset);
      },
      result: async () => {
        if (!open) throw new Error('internal error: result twice');
        open = false;
        return (await this.postTo(slot, { seq: 0, op: 'range-digests', stream: id }, [])) as { sha256: string; mismatches: DigestMismatch[] };
      },
      discard: () => {
        if (!open) return;
        open = false;
        this.send(slot, { seq: 0, op: 'discard', stream: id }, []);
      },
    };
  }

  /**
   * Feeds pieces at stream `offset` to range-hash stream `id` on its worker (and ranges `add`ed
   * to it): pieces in shared memory are hashed in place (resolves once the worker acknowledged),
   * others are copied with the message (resolves at once).
   */
  private rangeUpdate(slot: WorkerSlot, id: number, pieces: readonly Uint8Array[], offset: number, add?: readonly DigestedRange[]): Promise<void> {
    const shared = pieces.some((p) => !(p.buffer instanceof ArrayBuffer));
    const more = add?.length ? { add } : {};
    if (shared) return this.postTo(slot, { seq: 0, op: 'range-update', stream: id, data: pieces, offset, ack: true, ...more }, []).then(() => undefined);
    this.send(slot, { seq: 0, op: 'range-update', stream: id, data: pieces, offset, ...more }, []); // copies
    return Promise.resolve();
  }

  /** Which worker (index in start order) a hash stream of this pool runs on; undefined inline (diagnostics, tests). */
  workerOf(stream: StreamSha | StreamRanges): number | undefined {
    const slot = this.streamSlots.get(stream);
    return slot && this.slots.indexOf(slot);
  }

  /** Posts a request that has no reply (nothing is sent once the pool failed or closed). */
  private send(slot: WorkerSlot, req: WorkerRequest, transfer: ArrayBuffer[]): void {
    if (this.failure || this.closed) return;
    slot.worker.postMessage(req, transferable(transfer));
  }

  /**
   * Waits for the jobs still on the workers (they always answer), then stops the workers.
   * Terminating a worker in the middle of jobs could leave its 'exit' unannounced with
   * nothing keeping the event loop alive (Node 20.20: after failed restores of damaged
   * repositories, several closes in a hundred never settled and the process ended with
   * exit 0; test/restore-damaged.test.ts); so jobs drain first, and a timer keeps the loop
   * alive while the workers stop.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const alive = setInterval(() => undefined, 1000);
    try {
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
    } finally {
      clearInterval(alive);
    }
    this.failAll(new StowageError('ABORTED', 'codec pool closed'));
  }

  /** Starts a worker, or takes one started before the codec was known (codec-warm.ts) and sends it the spec. */
  private spawn(): void {
    const warm = takeWarmWorker();
    const worker = warm ?? new Worker(workerUrl(), { workerData: this.spec });
    if (warm) worker.postMessage({ seq: 0, op: 'init', spec: this.spec } satisfies WorkerRequest);
    markOnce(warm ? 'pool took warm worker' : 'pool spawns worker');
    worker.once('online', () => markOnce('worker online'));
    const slot: WorkerSlot = { worker, outstanding: 0 };
    worker.on('message', (m: WorkerResponse) => this.onMessage(m));
    worker.on('error', (err) => this.failAll(err));
    // a worker that ends without an 'error' (its thread exited) answers nothing more
    worker.on('exit', (code) => this.closed || this.failAll(new Error(`internal error: a codec worker exited (code ${code})`)));
    worker.unref();
    this.slots.push(slot);
  }

  private post(req: WorkerRequest, data: Uint8Array[], chosen?: (slot: WorkerSlot) => void): Promise<unknown> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.outstanding < slot.outstanding) slot = s;
    chosen?.(slot);
    const transfer: ArrayBuffer[] = [];
    for (const d of data) {
      const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer && d.buffer.byteLength !== Buffer.poolSize;
      if (whole) transfer.push(d.buffer as ArrayBuffer);
    }
    return this.postTo(slot, req, transfer);
  }

  /**
   * Posts a job and waits for its answer. A job that cannot be posted (postMessage throws: a
   * view of memory already transferred elsewhere cannot be cloned) rejects at once and is
   * not counted as outstanding: a job left pending without a worker that knows of it would
   * hold its caller and close() (and a ref on the worker) forever (an S3 restore that never
   * exited, 2026-11-30). Node drops a message whose transfer list holds a detached
   * ArrayBuffer without a word (transferable() takes those out, so its clone throws instead).
   */
  private postTo(slot: WorkerSlot, req: WorkerRequest, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StowageError('ABORTED', 'codec pool closed'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      try {
        slot.worker.postMessage({ ...req, seq }, transferable(transfer));
      } catch (err) {
        reject(new Error(`internal error: a ${req.op} job could not be sent to a codec worker: ${(err as Error).message}`, { cause: err }));
        return;
      }
      this.pending.set(seq, { resolve, reject, slot });
      if (slot.outstanding++ === 0) slot.worker.ref();
    });
  }

  private onMessage(m: WorkerResponse): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (--p.slot.outstanding === 0) p.slot.worker.unref();
    if (m.ok) p.resolve(m.result);
    else p.reject(m.code ? new StowageError(m.code as ErrorCode, m.message) : new Error(m.message));
    if (this.pending.size === 0) this.drained?.();
  }

  /** Fails every job still waiting for an answer, and every later one; the workers no longer keep the process alive. */
  private failAll(err: unknown): void {
    this.failure ??= err;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(err);
    }
    for (const s of this.slots) {
      s.outstanding = 0;
      s.worker.unref();
    }
    this.drained?.();
  }
}

/**
 * A transfer list without empty ArrayBuffers: one already transferred (detached: Node 20 has
 * no ArrayBuffer#detached, and its length is 0) would make postMessage drop the whole message
 * silently; left out, a view of it fails the clone (DataCloneError) instead. An empty buffer
 * that is not detached costs nothing to copy.
 */
function transferable(list: ArrayBuffer[]): ArrayBuffer[] {
  return list.every((b) => b.byteLength > 0) ? list : list.filter((b) => b.byteLength > 0);
}

function inlineSha(): StreamSha {
  let h: Hash | undefined = createHash('sha256');
  return {
    update(pieces) {
      if (!h) return Promise.reject(new Error('internal error: update after digest'));
      for (const p of pieces) h.update(p);
      return Promise.resolve();
    },
    digest() {
      if (!h) return Promise.reject(new Error('internal error: digest twice'));
      const hex = h.digest('hex');
      h = undefined;
      return Promise.resolve(hex);
    },
    discard() {
      h = undefined;
    },
  };
}

function inlineRanges(ranges: readonly DigestedRange[]): StreamRanges {
  const r = new RangeHasher(ranges);
  return {
    update(pieces, offset, add) {
      if (add?.length) r.add(add);
      r.update(pieces, offset);
      return Promise.resolve();
    },
    result: () => Promise.resolve(r.mismatches()),
    discard: () => undefined,
  };
}

function inlineDigests(ranges: readonly DigestedRange[]): StreamDigests {
  let r: RangeHasher | undefined = new RangeHasher(ranges, new Sha256());
  return {
    update(pieces, offset) {
      if (!r) return Promise.reject(new Error('internal error: update after result'));
      r.update(pieces, offset);
      return Promise.resolve();
    },
    result() {
      if (!r) return Promise.reject(new Error('internal error: result twice'));
      const out = { sha256: r.wholeDigest(), mismatches: r.mismatches() };
      r = undefined;
      return Promise.resolve(out);
    },
    discard() {
      r = undefined;
    },
  };
}
