/**
 * A pool of codec worker threads, or an inline codec when workers do not pay off.
 *
 * Jobs are dispatched to the worker with the fewest outstanding jobs; each job's
 * input buffer is transferred (the caller must not touch it afterwards). Results
 * come back as promises; order between jobs is the caller's business.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StowageError, type ErrorCode } from '../errors.js';
import { BlobCodec, type CodecSpec, type DecodeItem, type DecodedBatch, type EncodedBatch } from './blob-codec.js';
import type { WorkerRequest, WorkerResponse } from './codec-worker.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  worker: WorkerSlot;
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

  /** `workers` = 0 runs every job inline on the calling thread. */
  constructor(spec: CodecSpec, workers: number) {
    this.inline = new BlobCodec(spec);
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(workerUrl(), { workerData: spec });
      const slot: WorkerSlot = { worker, outstanding: 0 };
      worker.on('message', (m: WorkerResponse) => this.onMessage(m));
      worker.on('error', (err) => this.failAll(err));
      worker.unref();
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Encodes consecutive blobs of `data`; `data`'s memory is transferred to the worker. */
  encode(data: Uint8Array, lengths: number[]): Promise<EncodedBatch> {
    if (this.slots.length === 0) return Promise.resolve().then(() => this.inline.encode(data, lengths));
    return this.post({ seq: 0, op: 'encode', data, lengths }, data).then((r) => {
      const x = r as { stored: Uint8Array; storedLengths: number[]; compressed: boolean[] };
      return { stored: Buffer.from(x.stored.buffer, x.stored.byteOffset, x.stored.byteLength), storedLengths: x.storedLengths, compressed: x.compressed };
    });
  }

  /** Decodes and verifies blobs from `data`; `data`'s memory is transferred to the worker. */
  decode(data: Uint8Array, items: DecodeItem[], what: string): Promise<DecodedBatch> {
    if (this.slots.length === 0) return Promise.resolve().then(() => this.inline.decode(data, items, what));
    return this.post({ seq: 0, op: 'decode', data, items, what }, data).then((r) => {
      const x = r as { plain: Uint8Array; lengths: number[] };
      return { plain: Buffer.from(x.plain.buffer, x.plain.byteOffset, x.plain.byteLength), lengths: x.lengths };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.failAll(new StowageError('ABORTED', 'codec pool closed'));
  }

  private post(req: WorkerRequest, data: Uint8Array): Promise<unknown> {
    if (this.closed) return Promise.reject(new StowageError('ABORTED', 'codec pool closed'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.outstanding < slot.outstanding) slot = s;
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, worker: slot });
      if (slot.outstanding++ === 0) slot.worker.ref();
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
      slot.worker.postMessage({ ...req, seq }, whole ? [data.buffer as ArrayBuffer] : []);
    });
  }

  private onMessage(m: WorkerResponse): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (--p.worker.outstanding === 0) p.worker.worker.unref();
    if (m.ok) p.resolve(m.result);
    else p.reject(m.code ? new StowageError(m.code as ErrorCode, m.message) : new Error(m.message));
  }

  private failAll(err: unknown): void {
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
