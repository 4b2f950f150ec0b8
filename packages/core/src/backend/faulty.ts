/**
 * Fault injection: a Backend wrapper that fails chosen operations, in the style of
 * kopia's blobtesting faults. For tests of what the layers above do when storage fails.
 *
 * ```ts
 * const b = faulty(new MemoryBackend(), [{ op: 'save', type: 'pack', nth: 2, error: 'ENOSPC', torn: true }]);
 * ```
 * Rules are checked in order for every call; a rule matches an operation (and optionally a
 * file type and a predicate) and fires on its `nth` matching call (1-based; default every
 * call), `times` times (default 1 with `nth`, unlimited without). The error is the one the
 * local backend gives for that errno: a BACKEND StowageError naming the file (retryable for
 * EIO/EAGAIN), with "(injected)" in the message.
 *
 * `torn` (save only) first stores the first half of the bytes under the file's name, as a
 * backend without atomic writes could leave behind, then fails.
 *
 * HTTP-like faults, as an object store gives them (the S3 backend maps its failures to the
 * same errors): 'SLOWDOWN' (503 throttling; a burst is `times: n`), 'HTTP500', 'RESET'
 * (connection reset), 'TIMEOUT' (waits `delayMs`, default 20, then fails as a socket
 * timeout), 'TRUNCATED' (load only: half the bytes arrive, then a short-body error; into the
 * caller's buffer with loadInto), all retryable; 'FORBIDDEN' (403) is permanent. `landed`
 * (save only) stores the file and then fails, as when the answer of a successful PUT is lost.
 *
 * Two faults that are not errors: 'DELAY' answers `delayMs` late (default 20) and then as
 * usual (answers out of order); 'HANG' never answers, as a silent server: the call ends when
 * its signal fires (ABORTED) or, with `delayMs`, when that idle timeout runs out (TIMEOUT,
 * retryable); without either it never ends.
 *
 * `chance` fires a rule on each matching call with that probability, drawn from the
 * wrapper's `random` (seeded in tests, so a run of faults is the same on every run).
 */
import { StowageError, abortedError } from '../errors.js';
import type { Backend, BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend.js';
import { loadRangeInto } from './backend.js';
import { pathOf } from './layout.js';

export type FaultOp = 'save' | 'load' | 'stat' | 'exists' | 'list' | 'remove';
export type FaultErrno = 'EIO' | 'ENOSPC' | 'EACCES' | 'EAGAIN' | 'ENOENT' | HttpFault | 'DELAY' | 'HANG';
/** Faults of an object store over HTTP. */
export type HttpFault = 'SLOWDOWN' | 'HTTP500' | 'RESET' | 'TIMEOUT' | 'TRUNCATED' | 'FORBIDDEN';

export interface FaultRule {
  readonly op: FaultOp;
  readonly type?: FileType;
  /** Fire on the nth matching call (1-based). Default: every matching call. */
  readonly nth?: number;
  /** How many times the rule fires (default 1 when `nth` is given, else unlimited). */
  readonly times?: number;
  /** Extra condition on the handle (list: the handle's name is ""). */
  readonly when?: (h: Handle) => boolean;
  readonly error: FaultErrno;
  /** save: leave the first half of the bytes under the name before failing. */
  readonly torn?: boolean;
  /** save: store the file, then fail (the answer was lost). */
  readonly landed?: boolean;
  /** TIMEOUT: how long the call hangs before failing; DELAY: how late it answers (ms, default 20); HANG: its idle timeout (default none). */
  readonly delayMs?: number;
  /** Fire on a matching call with this probability (drawn from FaultOptions.random), within `nth`/`times`. */
  readonly chance?: number;
}

export interface FaultOptions {
  /** Random source in [0, 1) for `chance` (default Math.random; seeded in tests). */
  readonly random?: () => number;
}

/** A Backend with fault rules, plus counters for assertions. */
export interface FaultyBackend extends Backend {
  /** How many faults were injected so far. */
  readonly injected: number;
  /** The wrapped backend. */
  readonly next: Backend;
}

const MESSAGES: Record<FaultErrno, string> = {
  EIO: 'input/output error',
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EAGAIN: 'resource temporarily unavailable',
  ENOENT: 'not found',
  SLOWDOWN: 'SlowDown: please reduce your request rate (HTTP 503)',
  HTTP500: 'InternalError (HTTP 500)',
  RESET: 'ECONNRESET: connection reset by peer',
  TIMEOUT: 'TimeoutError: socket timed out',
  TRUNCATED: 'short body',
  FORBIDDEN: 'AccessDenied (HTTP 403)',
  DELAY: 'late answer',
  HANG: 'no answer',
};
const RETRYABLE = new Set<FaultErrno>(['EIO', 'EAGAIN', 'SLOWDOWN', 'HTTP500', 'RESET', 'TIMEOUT', 'TRUNCATED']);

export function faulty(next: Backend, rules: readonly FaultRule[], opts: FaultOptions = {}): FaultyBackend {
  const random = opts.random ?? Math.random;
  const seen = rules.map(() => 0);
  const fired = rules.map(() => 0);
  let injected = 0;

  /** The first rule that fires for this call, counting the call for every matching rule. */
  const fault = (op: FaultOp, h: Handle): FaultRule | undefined => {
    let hit: FaultRule | undefined;
    rules.forEach((r, i) => {
      if (r.op !== op || (r.type !== undefined && r.type !== h.type) || (r.when && !r.when(h))) return;
      const n = ++seen[i]!;
      const limit = r.times ?? (r.nth === undefined ? Infinity : 1);
      if (hit || fired[i]! >= limit) return;
      if (r.nth !== undefined && n < r.nth) return;
      if (r.chance !== undefined && random() >= r.chance) return;
      fired[i]!++;
      hit = r;
    });
    if (hit) injected++;
    return hit;
  };

  /** What a call's error names: the file, or the type of files listed. */
  const whatOf = (op: FaultOp, h: Handle): string => (op === 'list' ? `${h.type} files` : pathOf(h));

  const errorFor = (r: FaultRule, op: FaultOp, h: Handle): StowageError => {
    if (r.error === 'HANG') r = { ...r, error: 'TIMEOUT' }; // its idle timeout ran out
    const what = whatOf(op, h);
    const cause = Object.assign(new Error(`${r.error}: ${MESSAGES[r.error]} (injected)`), { code: r.error });
    if (r.error === 'ENOENT') return new StowageError('NOT_FOUND', `${what}: not found (injected)`, { cause });
    return new StowageError('BACKEND', `${op} ${what}: ${MESSAGES[r.error]} (injected)`, { cause, retryable: RETRYABLE.has(r.error), timedOut: r.error === 'TIMEOUT' });
  };

  /** Throws the rule's error, after the TIMEOUT's wait; a HANG waits for the call's signal (ABORTED). */
  const fail = async (r: FaultRule, op: FaultOp, h: Handle, signal: AbortSignal | undefined): Promise<never> => {
    if (r.error === 'TIMEOUT') await new Promise((res) => setTimeout(res, r.delayMs ?? 20));
    if (r.error === 'HANG') {
      // until the call's signal fires, or (delayMs) the request's idle timeout
      const aborted = await new Promise<boolean>((res) => {
        if (signal?.aborted) return res(true);
        const t = r.delayMs === undefined ? undefined : setTimeout(() => res(false), r.delayMs);
        signal?.addEventListener('abort', () => (clearTimeout(t), res(true)), { once: true });
      });
      if (aborted) throw abortedError(signal!, `${op} ${whatOf(op, h)}: aborted (injected hang)`);
    }
    throw errorFor(r, op, h);
  };

  /**
   * The fault for this call, if any: DELAY waits and lets the call go on (undefined), the
   * others fail it (call `fail`).
   */
  const faultFor = async (op: FaultOp, h: Handle): Promise<FaultRule | undefined> => {
    const r = fault(op, h);
    if (r?.error !== 'DELAY') return r;
    await new Promise((res) => setTimeout(res, r.delayMs ?? 20));
    return undefined;
  };

  const b: FaultyBackend = {
    get info(): BackendInfo {
      return { ...next.info, location: `faulty:${next.info.location}` };
    },
    get injected() {
      return injected;
    },
    next,
    async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
      const r = await faultFor('save', h);
      if (r) {
        if (r.torn) await next.save(h, data.subarray(0, data.length >> 1), opts).catch(() => undefined);
        if (r.landed) await next.save(h, data, opts);
        return fail(r, 'save', h, opts?.signal);
      }
      return next.save(h, data, opts);
    },
    async load(h: Handle, range?: Range, opts?: OpOptions): Promise<Uint8Array> {
      const r = await faultFor('load', h);
      if (r) return fail(r, 'load', h, opts?.signal);
      return next.load(h, range, opts);
    },
    async loadInto(h: Handle, range: Range, target: Uint8Array, opts?: OpOptions): Promise<void> {
      const r = await faultFor('load', h);
      if (r) {
        if (r.error === 'TRUNCATED') {
          // half the bytes arrive before the connection drops
          const half = range.length >> 1;
          if (half > 0) await loadRangeInto(next, h, { offset: range.offset, length: half }, target.subarray(0, half), opts);
        }
        return fail(r, 'load', h, opts?.signal);
      }
      return loadRangeInto(next, h, range, target, opts);
    },
    async stat(h: Handle, opts?: OpOptions) {
      const r = await faultFor('stat', h);
      if (r) return fail(r, 'stat', h, opts?.signal);
      return next.stat(h, opts);
    },
    async exists(h: Handle, opts?: OpOptions) {
      const r = await faultFor('exists', h);
      if (r) return fail(r, 'exists', h, opts?.signal);
      return next.exists(h, opts);
    },
    list(type: FileType, opts?: OpOptions): AsyncIterable<FileInfo> {
      const h = { type, name: '' };
      return {
        async *[Symbol.asyncIterator]() {
          const r = await faultFor('list', h);
          if (r) await fail(r, 'list', h, opts?.signal);
          yield* next.list(type, opts);
        },
      };
    },
    async remove(h: Handle, opts?: OpOptions) {
      const r = await faultFor('remove', h);
      if (r) return fail(r, 'remove', h, opts?.signal);
      return next.remove(h, opts);
    },
    ...(next.removeTemporary && { removeTemporary: (types: readonly FileType[], opts?: OpOptions) => next.removeTemporary!(types, opts) }),
    isEmpty: (opts) => next.isEmpty(opts),
    create: (opts) => next.create(opts),
    close: () => next.close(),
  };
  return b;
}
