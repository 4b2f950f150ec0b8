/**
 * Retries for every backend (restic's internal/backend/retry, kopia's repo/blob/retrying).
 *
 * A call is repeated only when its error is transient (`StowageError.retryable`: throttling,
 * 5xx, timeouts, resets, short bodies; the backend decides), never for a permanent one
 * (NOT_FOUND, ALREADY_EXISTS, CORRUPT, access denied, bad credentials). Waits grow
 * exponentially with full jitter (a random wait in [0, min(cap, base * 2^attempt)]), so many
 * clients throttled at once spread out. No retry starts once the operation's signal is
 * aborted: the wait ends with ABORTED.
 *
 * Bodies are byte arrays, so a retried save sends the whole body again from its start; a
 * retried ranged read fills the target again from its start; a retried list skips the names
 * it already gave. A create-only save whose earlier attempt failed in flight may find the
 * file already there: when its size matches, that attempt landed (names are content hashes)
 * and the save succeeds.
 */
import { StowageError, isStowageError } from '../errors.js';
import type { Backend, BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend.js';
import { pathOf } from './layout.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 6). */
  readonly retries?: number;
  /** First backoff ceiling in ms (default 200). */
  readonly baseMs?: number;
  /** Largest backoff ceiling in ms (default 5000). */
  readonly capMs?: number;
  /** Told before each wait (for --debug output or tests). */
  readonly onRetry?: (e: RetryEvent) => void;
  /** Random source in [0, 1) (tests). */
  readonly random?: () => number;
}

export interface RetryEvent {
  readonly op: string;
  readonly what: string;
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: StowageError;
}

/** A backend wrapped by `retrying`. */
export interface RetryingBackend extends Backend {
  readonly next: Backend;
  /** Retries done so far. */
  readonly retried: number;
}

export function isTransient(err: unknown): boolean {
  return isStowageError(err, 'BACKEND') && err.retryable;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(aborted(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): unknown {
  return isStowageError(signal.reason) ? signal.reason : new StowageError('ABORTED', 'aborted', { cause: signal.reason });
}

export function retrying(next: Backend, opts: RetryOptions = {}): RetryingBackend {
  const retries = opts.retries ?? 6;
  const base = opts.baseMs ?? 200;
  const cap = opts.capMs ?? 5000;
  const random = opts.random ?? Math.random;
  let retried = 0;

  async function attempt<T>(op: string, what: string, signal: AbortSignal | undefined, fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      signal?.throwIfAborted();
      try {
        return await fn(n);
      } catch (err) {
        if (!isTransient(err) || n >= retries || signal?.aborted) throw err;
        const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** n));
        opts.onRetry?.({ op, what, attempt: n + 1, delayMs, error: err as StowageError });
        retried++;
        await sleep(delayMs, signal);
      }
    }
  }

  const saveWith = (h: Handle, write: () => Promise<void>, size: number, o?: SaveOptions) =>
    attempt('save', pathOf(h), o?.signal, async (n) => {
      try {
        await write();
      } catch (err) {
        // an earlier attempt may have landed before its answer was lost
        if (n > 0 && !o?.overwrite && isStowageError(err, 'ALREADY_EXISTS')) {
          const st = await next.stat(h, o).catch(() => undefined);
          if (st?.size === size) return;
        }
        throw err;
      }
    });

  const b: RetryingBackend = {
    get info(): BackendInfo {
      return next.info;
    },
    get retried() {
      return retried;
    },
    next,
    save: (h, data, o) => saveWith(h, () => next.save(h, data, o), data.length, o),
    ...(next.saveParts && {
      saveParts: (h: Handle, parts: readonly Uint8Array[], o?: SaveOptions) =>
        saveWith(
          h,
          () => next.saveParts!(h, parts, o),
          parts.reduce((s, p) => s + p.length, 0),
          o,
        ),
    }),
    load: (h: Handle, range?: Range, o?: OpOptions) => attempt('load', pathOf(h), o?.signal, () => next.load(h, range, o)),
    ...(next.loadInto && {
      loadInto: (h: Handle, range: Range, target: Uint8Array, o?: OpOptions) => attempt('load', pathOf(h), o?.signal, () => next.loadInto!(h, range, target, o)),
    }),
    stat: (h, o) => attempt('stat', pathOf(h), o?.signal, () => next.stat(h, o)),
    exists: (h, o) => attempt('stat', pathOf(h), o?.signal, () => next.exists(h, o)),
    list(type: FileType, o?: OpOptions): AsyncIterable<FileInfo> {
      return {
        async *[Symbol.asyncIterator]() {
          const seen = new Set<string>();
          for (let n = 0; ; n++) {
            o?.signal?.throwIfAborted();
            try {
              for await (const f of next.list(type, o)) {
                if (seen.has(f.name)) continue;
                seen.add(f.name);
                yield f;
              }
              return;
            } catch (err) {
              if (!isTransient(err) || n >= retries || o?.signal?.aborted) throw err;
              const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** n));
              opts.onRetry?.({ op: 'list', what: `${type} files`, attempt: n + 1, delayMs, error: err as StowageError });
              retried++;
              await sleep(delayMs, o?.signal);
            }
          }
        },
      };
    },
    remove: (h, o) =>
      attempt('remove', pathOf(h), o?.signal, async (n) => {
        try {
          await next.remove(h, o);
        } catch (err) {
          // an earlier attempt removed it before its answer was lost
          if (n > 0 && isStowageError(err, 'NOT_FOUND')) return;
          throw err;
        }
      }),
    isEmpty: (o) => attempt('list', 'repository', o?.signal, () => next.isEmpty(o)),
    create: (o) => attempt('create', 'repository', o?.signal, () => next.create(o)),
    ...(next.removeTemporary && {
      removeTemporary: (types: readonly FileType[], o?: OpOptions) => attempt('remove temporary files', 'repository', o?.signal, () => next.removeTemporary!(types, o)),
    }),
    close: () => next.close(),
  };
  return b;
}
