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
 */
import { StowageError } from '../errors.js';
import type { Backend, BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend.js';
import { pathOf } from './layout.js';

export type FaultOp = 'save' | 'load' | 'stat' | 'exists' | 'list' | 'remove';
export type FaultErrno = 'EIO' | 'ENOSPC' | 'EACCES' | 'EAGAIN' | 'ENOENT';

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
};

export function faulty(next: Backend, rules: readonly FaultRule[]): FaultyBackend {
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
      fired[i]!++;
      hit = r;
    });
    if (hit) injected++;
    return hit;
  };

  const errorFor = (r: FaultRule, op: FaultOp, h: Handle): StowageError => {
    const what = op === 'list' ? `${h.type} files` : pathOf(h);
    const cause = Object.assign(new Error(`${r.error}: ${MESSAGES[r.error]} (injected)`), { code: r.error });
    if (r.error === 'ENOENT') return new StowageError('NOT_FOUND', `${what}: not found (injected)`, { cause });
    return new StowageError('BACKEND', `${op} ${what}: ${MESSAGES[r.error]} (injected)`, { cause, retryable: r.error === 'EIO' || r.error === 'EAGAIN' });
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
      const r = fault('save', h);
      if (r) {
        if (r.torn) await next.save(h, data.subarray(0, data.length >> 1), opts).catch(() => undefined);
        throw errorFor(r, 'save', h);
      }
      return next.save(h, data, opts);
    },
    async load(h: Handle, range?: Range, opts?: OpOptions): Promise<Uint8Array> {
      const r = fault('load', h);
      if (r) throw errorFor(r, 'load', h);
      return next.load(h, range, opts);
    },
    async stat(h: Handle, opts?: OpOptions) {
      const r = fault('stat', h);
      if (r) throw errorFor(r, 'stat', h);
      return next.stat(h, opts);
    },
    async exists(h: Handle, opts?: OpOptions) {
      const r = fault('exists', h);
      if (r) throw errorFor(r, 'exists', h);
      return next.exists(h, opts);
    },
    list(type: FileType, opts?: OpOptions): AsyncIterable<FileInfo> {
      const h = { type, name: '' };
      return {
        async *[Symbol.asyncIterator]() {
          const r = fault('list', h);
          if (r) throw errorFor(r, 'list', h);
          yield* next.list(type, opts);
        },
      };
    },
    async remove(h: Handle, opts?: OpOptions) {
      const r = fault('remove', h);
      if (r) throw errorFor(r, 'remove', h);
      return next.remove(h, opts);
    },
    ...(next.removeTemporary && { removeTemporary: (types: readonly FileType[], opts?: OpOptions) => next.removeTemporary!(types, opts) }),
    isEmpty: (opts) => next.isEmpty(opts),
    create: (opts) => next.create(opts),
    close: () => next.close(),
  };
  return b;
}
