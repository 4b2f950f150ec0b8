/**
 * A pool of codec worker threads, or an inline codec when workers do not pay off.
 *
 * Workers start lazily: one when the first job arrives; encode jobs add another
 * (up to the maximum) only while every running worker is busy, so a snapshot of
 * mostly known data never pays for threads it does not use. Decode jobs use the
 * full pool at once. Jobs go to the worker with the fewest outstanding jobs; each
 * job's input memory is transferred (the caller must not touch it afterwards).
 *
 * The pool also offers one running SHA-256 (shaUpdate/shaDigest) computed on the
 * first worker, so the whole-stream digest does not load the main thread.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StowageError, type ErrorCode } from '../errors.js';
import { BlobCodec, type CodecSpec, type DecodeItem, type DecodedBatch, type EncodedBatch } from './blob-codec.js';
import type { WorkerRequest, WorkerResponse } from './codec-worker.js';
import type { DigestedRange } from '../image/facts.js';
import { RangeHasher, type DigestMismatch } from '../image/verify.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  slot: WorkerSlot;
}

interface WorkerSlot {
  readonly worker: Worker;
  outstanding: number;
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
  private inlineSha: Hash | undefined;
  private inlineRanger: RangeHasher | undefined;

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
   * is transferred to the worker.
   */
  encode(data: Uint8Array, lengths: number[], baseSpans?: number[], frameTarget = 0): Promise<EncodedBatch> {
    if (this.maxWorkers === 0) return Promise.resolve().then(() => this.inline.encode(data, lengths, baseSpans, frameTarget));
    if (this.slots.length === 0 || (this.slots.length < this.maxWorkers && this.slots.every((s) => s.outstanding > 0))) this.spawn();
    return this.post({ seq: 0, op: 'encode', data, lengths, ...(baseSpans && { baseSpans }), frameTarget }, [data]).then((r) => {
      const x = r as EncodedBatch;
      return { ...x, stored: Buffer.from(x.stored.buffer, x.stored.byteOffset, x.stored.byteLength) };
    });
  }

  /** Decodes and verifies blobs from `data`; `data`'s memory is transferred to the worker. */
  decode(data: Uint8Array, items: DecodeItem[], what: string): Promise<DecodedBatch> {
    if (this.maxWorkers === 0) return Promise.resolve().then(() => this.inline.decode(data, items, what));
    while (this.slots.length < this.maxWorkers) this.spawn();
    return this.post({ seq: 0, op: 'decode', data, items, what }, [data]).then((r) => {
      const x = r as { plain: Uint8Array; lengths: number[] };
      return { plain: Buffer.from(x.plain.buffer, x.plain.byteOffset, x.plain.byteLength), lengths: x.lengths };
    });
  }

  /**
   * Decodes and verifies blobs from `data` into `out` (both may be shared memory, which
   * is read and written in place); resolves with the lengths.
   */
  decodeInto(data: Uint8Array, items: DecodeItem[], out: Uint8Array, what: string): Promise<number[]> {
    if (this.maxWorkers === 0) return Promise.resolve().then(() => this.inline.decodeInto(data, items, out, what));
    while (this.slots.length < this.maxWorkers) this.spawn();
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.outstanding < slot.outstanding) slot = s;
    return this.postTo(slot, { seq: 0, op: 'decode-into', data, items, out, what }, []) as Promise<number[]>;
  }

  /**
   * Feeds the running SHA-256 with `pieces`, in call order. With workers, pieces in
   * ordinary memory are transferred (the caller must be done with them); pieces in
   * shared memory are read in place, and the promise resolves once they are hashed
   * (so their slot may be reused).
   */
  shaUpdate(pieces: readonly Uint8Array[]): Promise<void> {
    if (this.maxWorkers === 0) {
      this.inlineSha ??= createHash('sha256');
      for (const p of pieces) this.inlineSha.update(p);
      return Promise.resolve();
    }
    if (this.slots.length === 0) this.spawn();
    const buffers = new Set<ArrayBuffer>();
    let shared = false;
    for (const p of pieces) {
      if (p.buffer instanceof ArrayBuffer) {
        if (p.buffer.byteLength !== Buffer.poolSize) buffers.add(p.buffer);
      } else {
        shared = true;
      }
    }
    if (shared) return this.postTo(this.slots[0]!, { seq: 0, op: 'sha-update', data: pieces, ack: true }, [...buffers]).then(() => undefined);
    this.slots[0]!.worker.postMessage({ seq: 0, op: 'sha-update', data: pieces } satisfies WorkerRequest, [...buffers]);
    return Promise.resolve();
  }

  /**
   * Hashes byte ranges of the stream (image layers) on another worker than the running
   * SHA-256, so the two passes run side by side. rangeUpdate must see every piece, in
   * order, before shaUpdate is given (and may take over) the same pieces.
   */
  rangeStart(ranges: readonly DigestedRange[]): void {
    if (this.maxWorkers === 0) {
      this.inlineRanger = new RangeHasher(ranges);
      return;
    }
    while (this.slots.length < Math.min(2, this.maxWorkers)) this.spawn();
    this.rangeSlot().worker.postMessage({ seq: 0, op: 'range-start', ranges } satisfies WorkerRequest);
  }

  /** Feeds pieces (starting at stream `offset`); resolves once hashed (shared memory) or at once (copied). */
  rangeUpdate(pieces: readonly Uint8Array[], offset: number): Promise<void> {
    if (this.maxWorkers === 0) {
      this.inlineRanger?.update(pieces, offset);
      return Promise.resolve();
    }
    const shared = pieces.some((p) => !(p.buffer instanceof ArrayBuffer));
    if (shared) return this.postTo(this.rangeSlot(), { seq: 0, op: 'range-update', data: pieces, offset, ack: true }, []).then(() => undefined);
    this.rangeSlot().worker.postMessage({ seq: 0, op: 'range-update', data: pieces, offset } satisfies WorkerRequest); // copies
    return Promise.resolve();
  }

  /** The ranges whose bytes did not match their digest. */
  async rangeResult(): Promise<DigestMismatch[]> {
    if (this.maxWorkers === 0) {
      const bad = this.inlineRanger?.mismatches() ?? [];
      this.inlineRanger = undefined;
      return bad;
    }
    return (await this.postTo(this.rangeSlot(), { seq: 0, op: 'range-result' }, [])) as DigestMismatch[];
  }

  private rangeSlot(): WorkerSlot {
    return this.slots[1] ?? this.slots[0]!;
  }

  /** The hex SHA-256 of everything passed to shaUpdate since the last digest. */
  async shaDigest(): Promise<string> {
    if (this.maxWorkers === 0 || this.slots.length === 0) {
      const hex = (this.inlineSha ?? createHash('sha256')).digest('hex');
      this.inlineSha = undefined;
      return hex;
    }
    return (await this.postTo(this.slots[0]!, { seq: 0, op: 'sha-digest' }, [])) as string;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.failAll(new StowageError('ABORTED', 'codec pool closed'));
  }

  private spawn(): void {
    const worker = new Worker(workerUrl(), { workerData: this.spec });
    const slot: WorkerSlot = { worker, outstanding: 0 };
    worker.on('message', (m: WorkerResponse) => this.onMessage(m));
    worker.on('error', (err) => this.failAll(err));
    worker.unref();
    this.slots.push(slot);
  }

  private post(req: WorkerRequest, data: Uint8Array[]): Promise<unknown> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.outstanding < slot.outstanding) slot = s;
    const transfer: ArrayBuffer[] = [];
    for (const d of data) {
      const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer && d.buffer.byteLength !== Buffer.poolSize;
      if (whole) transfer.push(d.buffer as ArrayBuffer);
    }
    return this.postTo(slot, req, transfer);
  }

  private postTo(slot: WorkerSlot, req: WorkerRequest, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StowageError('ABORTED', 'codec pool closed'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, slot });
      if (slot.outstanding++ === 0) slot.worker.ref();
      slot.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  private onMessage(m: WorkerResponse): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (--p.slot.outstanding === 0) p.slot.worker.unref();
    if (m.ok) p.resolve(m.result);
    else p.reject(m.code ? new StowageError(m.code as ErrorCode, m.message) : new Error(m.message));
  }

  private failAll(err: unknown): void {
    this.failure ??= err;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(err);
    }
  }
}

/** The compiled worker script (tests run sources, so fall back to dist). */
function workerUrl(): URL {
  const here = new URL('./codec-worker.js', import.meta.url);
  if (existsSync(here)) return here;
  return new URL('../../dist/repository/codec-worker.js', import.meta.url);
}
