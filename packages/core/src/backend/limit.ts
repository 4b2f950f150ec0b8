/**
 * A connection limit for every backend (restic's internal/backend/sema): at most
 * `connections` operations run at once, the others wait in arrival order.
 *
 * Lock files never wait behind data: operations on type 'lock' have their own slots
 * (`lockSlots`, default 2), so a lock refresh goes out even while every slot is busy with a
 * slow pack transfer (a starved refresh would let the lock go stale under a running backup).
 * A wait ends with the operation's signal (ABORTED). `list` takes a slot per page of the
 * underlying listing only as long as the backend takes to produce it: the slot is held while
 * the next entry is fetched, never while the caller handles one (a caller may do other
 * backend operations inside its loop).
 *
 * Put it inside the retry wrapper (`retrying(limited(b))`), so a retry's backoff does not hold
 * a slot.
 */
import { StowageError, isStowageError } from '../errors.js';
import type { Backend, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend.js';

/** A counting semaphore with a FIFO queue and abortable waits. */
export class Semaphore {
  private free: number;
  private readonly queue: { resolve(): void; reject(e: unknown): void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];
  /** Most holders at once (for tests). */
  peak = 0;
  private held = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.free = size;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      this.took();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(isStowageError(signal!.reason) ? signal!.reason : new StowageError('ABORTED', 'aborted while waiting for a connection', { cause: signal!.reason }));
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
    });
    this.took();
  }

  release(): void {
    this.held--;
    const next = this.queue.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else this.free++;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private took(): void {
    this.held++;
    if (this.held > this.peak) this.peak = this.held;
  }
}

export interface LimitedBackend extends Backend {
  readonly next: Backend;
  /** The data slots (peak use, for tests). */
  readonly slots: Semaphore;
  readonly lockSlots: Semaphore;
}

export function limited(next: Backend, connections: number = next.info.connections, lockSlots = 2): LimitedBackend {
  const data = new Semaphore(connections);
  const locks = new Semaphore(lockSlots);
  const sem = (type: FileType) => (type === 'lock' ? locks : data);
  const run = <T>(h: Handle, o: OpOptions | undefined, fn: () => Promise<T>) => sem(h.type).run(fn, o?.signal);

  return {
    info: { ...next.info, connections },
    next,
    slots: data,
    lockSlots: locks,
    save: (h: Handle, d: Uint8Array, o?: SaveOptions) => run(h, o, () => next.save(h, d, o)),
    ...(next.saveParts && { saveParts: (h: Handle, parts: readonly Uint8Array[], o?: SaveOptions) => run(h, o, () => next.saveParts!(h, parts, o)) }),
    load: (h: Handle, range?: Range, o?: OpOptions) => run(h, o, () => next.load(h, range, o)),
    ...(next.loadInto && { loadInto: (h: Handle, range: Range, t: Uint8Array, o?: OpOptions) => run(h, o, () => next.loadInto!(h, range, t, o)) }),
    stat: (h, o) => run(h, o, () => next.stat(h, o)),
    exists: (h, o) => run(h, o, () => next.exists(h, o)),
    list(type: FileType, o?: OpOptions): AsyncIterable<FileInfo> {
      return {
        async *[Symbol.asyncIterator]() {
          const it = next.list(type, o)[Symbol.asyncIterator]();
          try {
            for (;;) {
              const r = await sem(type).run(() => it.next(), o?.signal);
              if (r.done) return;
              yield r.value;
            }
          } finally {
            await it.return?.();
          }
        },
      };
    },
    remove: (h, o) => run(h, o, () => next.remove(h, o)),
    isEmpty: (o) => data.run(() => next.isEmpty(o), o?.signal),
    create: (o) => data.run(() => next.create(o), o?.signal),
    ...(next.removeTemporary && { removeTemporary: (types: readonly FileType[], o?: OpOptions) => data.run(() => next.removeTemporary!(types, o), o?.signal) }),
    close: () => next.close(),
  };
}
