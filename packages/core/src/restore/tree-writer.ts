/**
 * The file writes of a tree restore on a thread of their own (restore/tree-writer-worker.ts
 * running restore/file-writes.ts), so the walk's thread (trees, directories, symlinks,
 * planning the read windows, metadata) and the writes (create, write, truncate, chown, chmod,
 * close: five system calls and their JS per file) run side by side: in a restore of many small
 * files the walk's thread was busy all the time, the codec workers half the time.
 *
 * Batches are answered in the order they are given. A window's bytes in shared memory are
 * read in place by the worker (the caller keeps them until the answer); other memory is copied
 * into the message. Where the worker script cannot be found (a library build without it) the
 * writes are made on the calling thread, with the same answers.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FileWrites, type WriteAnswer, type WriteBatch } from './file-writes.js';
import type { WriterRequest, WriterResponse } from './tree-writer-worker.js';

interface Waiting {
  resolve(a: WriteAnswer | null): void;
  reject(e: Error): void;
}

export class TreeWriter {
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker | undefined,
    private readonly inline: FileWrites | undefined,
  ) {
    if (!worker) return;
    worker.on('message', (m: WriterResponse) => {
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.settled(m.seq);
      if ('fault' in m) w.reject(new Error(`internal error in the restore's file writer: ${m.fault}`));
      else w.resolve(m.answer);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`the restore's file writer stopped (exit ${code})`)));
    worker.unref();
  }

  /** A writer on its own thread (or, without the worker script, on this one). */
  static start(): TreeWriter {
    const url = writerUrl();
    return url ? new TreeWriter(new Worker(url), undefined) : new TreeWriter(undefined, new FileWrites());
  }

  /** True when the writes run on a thread of their own (diagnostics, tests). */
  get threaded(): boolean {
    return this.worker !== undefined;
  }

  /** Writes a batch whose bytes are `data` (not to be changed until the answer). */
  write(batch: WriteBatch, data: Uint8Array): Promise<WriteAnswer> {
    if (this.inline) {
      const inline = this.inline;
      return Promise.resolve().then(() => inline.apply(batch, data));
    }
    return this.request({ seq: 0, op: 'write', batch, data }) as Promise<WriteAnswer>;
  }

  /** Closes the files still open (after a failure). */
  async abandon(): Promise<void> {
    if (this.inline) return this.inline.abandon();
    if (this.failure) return; // the thread failed: nothing can close what it had open
    await this.request({ seq: 0, op: 'abandon' }).catch(() => undefined);
  }

  /** Stops the thread (after abandon() or the last answer). */
  async close(): Promise<void> {
    if (!this.worker) return;
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private request(req: WriterRequest): Promise<WriteAnswer | null> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      if (this.waiting.size === 1) this.worker!.ref(); // an answer to wait for keeps the process alive
      this.worker!.postMessage({ ...req, seq });
    });
  }

  private settled(seq: number): void {
    this.waiting.delete(seq);
    if (this.waiting.size === 0) this.worker!.unref();
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const [seq, w] of this.waiting) {
      this.settled(seq);
      w.reject(this.failure);
    }
  }
}

/**
 * The compiled worker script: the CLI bundle's beside it (scripts/bundle.mjs), else the module
 * beside this one, else core's dist (tests run the sources); undefined when none exists.
 */
function writerUrl(): URL | undefined {
  for (const rel of ['./tree-writer.cjs', './tree-writer-worker.js', '../../dist/restore/tree-writer-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) return url;
  }
  return undefined;
}
