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
 * A call that failed because the server sent nothing for its idle timeout (`timedOut`: it
 * accepted the request and never answered, or the connect never completed) is tried at most
 * `timeoutAttempts` times (default 2), whatever `retries` says: a silent server rarely starts
 * answering on a later attempt, and six retries of a 60 s idle timeout held one request for
 * seven minutes. Throttling, 5xx answers and resets keep the full schedule.
 *
 * `signal` (the backend's life, usually the command's: SIGINT/SIGTERM) aborts every call in
 * flight when it fires, the request as well as a backoff wait, also for callers that pass no
 * signal of their own. Calls that start after it fired run as if it had not: they are the
 * interrupted command's cleanup (its lock's release), each still bounded by the timeouts.
 *
 * Bodies are byte arrays, so a retried save sends the whole body again from its start; a
 * retried ranged read fills the target again from its start; a retried list skips the names
 * it already gave. A create-only save whose earlier attempt failed in flight may find the
 * file already there: when its size matches, that attempt landed (names are content hashes)
 * and the save succeeds.
 */
import { setMaxListeners } from 'node:events';
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
  /** Attempts of one call that may end by a timeout before its error is final (default 2). */
  readonly timeoutAttempts?: number;
  /** Aborts the calls in flight when it fires (with each call's own signal, whichever fires first); later calls run (cleanup). */
  readonly signal?: AbortSignal;
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
  const timeoutAttempts = opts.timeoutAttempts ?? 2;
  const life = opts.signal;
  // every call in flight or waiting for a connection listens to it (one listener each, removed
  // when the call ends): many at once is its normal use, not a leak to warn about
  if (life) setMaxListeners(0, life);
  let retried = 0;

  /** Whether a call that failed with `err` after `n` retries and `timeouts` timeouts is final. */
  const final = (err: unknown, n: number, timeouts: number, signal: AbortSignal | undefined): boolean =>
    !isTransient(err) || n >= retries || signal?.aborted === true || ((err as StowageError).timedOut && timeouts >= timeoutAttempts);

  /** The call's options with their signal joined to the backend's life, and `done` to detach the join when the call ends. */
  function withLife<O extends OpOptions>(o: O | undefined): { o: O | undefined; done?: () => void } {
    if (!life || life.aborted || o?.signal === life) return { o };
    if (!o?.signal) return { o: { ...o, signal: life } as O };
    const link = linkSignals(o.signal, life);
    return { o: { ...o, signal: link.signal }, done: link.done };
  }

  /** After try `n` failed with `err`: throws it when it is final, else reports the retry and waits its backoff. */
  async function retryAfter(op: string, what: string, err: unknown, n: number, timeouts: number, signal: AbortSignal | undefined): Promise<void> {
    if (final(err, n, timeouts, signal)) throw err;
    const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** n));
    opts.onRetry?.({ op, what, attempt: n + 1, delayMs, error: err as StowageError });
    retried++;
    await sleep(delayMs, signal);
  }

  async function attempt<O extends OpOptions, T>(op: string, what: string, own: O | undefined, fn: (attempt: number, o: O | undefined) => Promise<T>): Promise<T> {
    const { o, done } = withLife(own);
    const signal = o?.signal;
    try {
      for (let n = 0, timeouts = 0; ; n++) {
        if (signal?.aborted) throw aborted(signal);
        try {
          return await fn(n, o);
        } catch (err) {
          if ((err as StowageError).timedOut) timeouts++;
          await retryAfter(op, what, err, n, timeouts, signal);
        }
      }
    } finally {
      done?.();
    }
  }

  const saveWith = (h: Handle, write: (o: SaveOptions | undefined) => Promise<void>, size: number, o?: SaveOptions) =>
    attempt('save', pathOf(h), o, async (n, o) => {
      try {
        await write(o);
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
    save: (h, data, o) => saveWith(h, (o) => next.save(h, data, o), data.length, o),
    ...(next.saveParts && {
      saveParts: (h: Handle, parts: readonly Uint8Array[], o?: SaveOptions) =>
        saveWith(
          h,
          (o) => next.saveParts!(h, parts, o),
          parts.reduce((s, p) => s + p.length, 0),
          o,
        ),
    }),
    load: (h: Handle, range?: Range, o?: OpOptions) => attempt('load', pathOf(h), o, (_, o) => next.load(h, range, o)),
    ...(next.loadInto && {
      loadInto: (h: Handle, range: Range, target: Uint8Array, o?: OpOptions) => attempt('load', pathOf(h), o, (_, o) => next.loadInto!(h, range, target, o)),
    }),
    stat: (h, o) => attempt('stat', pathOf(h), o, (_, o) => next.stat(h, o)),
    exists: (h, o) => attempt('stat', pathOf(h), o, (_, o) => next.exists(h, o)),
    list(type: FileType, own?: OpOptions): AsyncIterable<FileInfo> {
      return {
        async *[Symbol.asyncIterator]() {
          const { o, done } = withLife(own);
          const signal = o?.signal;
          try {
            const seen = new Set<string>();
            for (let n = 0, timeouts = 0; ; n++) {
              if (signal?.aborted) throw aborted(signal);
              try {
                for await (const f of next.list(type, o)) {
                  if (seen.has(f.name)) continue;
                  seen.add(f.name);
                  yield f;
                }
                return;
              } catch (err) {
                if ((err as StowageError).timedOut) timeouts++;
                await retryAfter('list', `${type} files`, err, n, timeouts, signal);
              }
            }
          } finally {
            done?.();
          }
        },
      };
    },
    remove: (h, o) =>
      attempt('remove', pathOf(h), o, async (n, o) => {
        try {
          await next.remove(h, o);
        } catch (err) {
          // an earlier attempt removed it before its answer was lost
          if (n > 0 && isStowageError(err, 'NOT_FOUND')) return;
          throw err;
        }
      }),
    isEmpty: (o) => attempt('list', 'repository', o, (_, o) => next.isEmpty(o)),
    create: (o) => attempt('create', 'repository', o, (_, o) => next.create(o)),
    ...(next.removeTemporary && {
      removeTemporary: (types: readonly FileType[], o?: OpOptions) => attempt('remove temporary files', 'repository', o, (_, o) => next.removeTemporary!(types, o)),
    }),
    close: () => next.close(),
  };
  return b;
}

/**
 * A signal that fires when either of two does (with that one's reason), and `done` to detach
 * it from both when the call ends: Node 20's first releases lack AbortSignal.any, and a
 * listener left on the backend's long-lived signal per call would pile up.
 */
function linkSignals(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; done: () => void } {
  const c = new AbortController();
  const fromA = () => c.abort(a.reason);
  const fromB = () => c.abort(b.reason);
  if (a.aborted) fromA();
  else if (b.aborted) fromB();
  else {
    a.addEventListener('abort', fromA, { once: true });
    b.addEventListener('abort', fromB, { once: true });
  }
  return {
    signal: c.signal,
    done: () => {
      a.removeEventListener('abort', fromA);
      b.removeEventListener('abort', fromB);
    },
  };
}
