/**
 * Repository locks: shared for writers and readers, exclusive for gc and repair.
 *
 * Only gc (and `repair index`) delete data, and they hold the exclusive lock for their
 * whole run; every snapshot holds a shared lock from before its first index lookup until
 * its snapshot file is written. So gc never runs while a snapshot may still reference a
 * blob it decided was unused (design invariant 5).
 *
 * A lock is a small sealed JSON file in `locks/` (Backend type 'lock') under a random name:
 * `{ exclusive, hostname, pid, username, time, refreshed }`. The protocol is restic's:
 *
 * 1. list the locks; a conflicting live lock -> LOCKED (or wait and retry, `retryMs`); this
 *    listing may be one taken while the repository opened (OpenOptions.listLocksEarly);
 * 2. create our lock file;
 * 3. list again; a conflicting live lock that appeared meanwhile -> remove ours, LOCKED/retry.
 *
 * With a backend whose listing shows every file whose save has completed (local disks, S3),
 * two racing lockers cannot both miss each other: whichever re-lists last sees the other.
 * Conflicts: exclusive vs anything; shared vs exclusive.
 *
 * A held lock is refreshed every `refreshMs` (5 min) by writing it anew (its name is the
 * BLAKE3 of its bytes, so the refreshed file has a new name) and removing the old file.
 * Stale locks (lock-rules.ts: not refreshed for `staleMs`, refreshed in the future beyond
 * the allowed clock skew, or taken on this host by a process that is gone or is not the one
 * that took it) and unreadable lock files (misnamed, damaged: with a note through `onNote`)
 * are ignored by everyone; `stowage unlock` removes both. A holder checks its own lock
 * before the step that must not happen without it (`verify()`: a snapshot before writing
 * its snapshot file, gc before its first deletion): LOCKED when the file was removed
 * (`unlock --remove-all`) or the last refresh is so old that others may have judged it stale.
 *
 * Queued exclusive requests: an exclusive locker that waits (`retryMs` > 0) writes a
 * request file (a lock file with `request: true`, refreshed like a lock) after its first
 * refusal. While a live request exists, new shared locks are refused (LOCKED, or they wait
 * with their own `retryMs`); locks already held run to their end. So gc with --retry-lock
 * gets its turn even beside writers that snapshot in a loop without pause. Two waiting
 * exclusive lockers queue in the order of their requests (time, then name).
 *
 * Locks are re-entrant per Repository object: taking a lock while one of the same or a
 * stronger kind is held only counts up, so an operation that calls another (snapshotFile ->
 * snapshotStream) holds one lock file. After a lock is taken, an open index cache is
 * brought up to date (gc may have replaced index files while we waited).
 */
import { randomBytes } from 'node:crypto';
import { hostname as osHostname, userInfo } from 'node:os';
import { StowageError, isStowageError } from '../errors.js';
import { describeLock, lockName, readLockFile, selfIdentity, staleReason, type LockInfo } from './lock-rules.js';
import type { FileInfo } from '../backend/backend.js';
import type { Held, LiveFile, LockKind, LockOptions } from './lock-state.js';
import type { Repository } from './repository.js';

export { describeLock, staleReason, MAX_CLOCK_SKEW_MS, type LockInfo } from './lock-rules.js';

export type { LockKind, LockOptions } from './lock-state.js';

/** A lock file as listed. */
export interface LockListing {
  readonly name: string;
  /** Undefined when the file cannot be read (damaged, or sealed with another key). */
  readonly info?: LockInfo;
  readonly error?: string;
  readonly stale: boolean;
  /** Why it is stale. */
  readonly staleReason?: string;
}

export const DEFAULT_STALE_MS = 30 * 60 * 1000;
export const DEFAULT_REFRESH_MS = 5 * 60 * 1000;

/** A held lock. Disposing it (or `release()`) gives it up. */
export interface RepositoryLock extends AsyncDisposable {
  readonly kind: LockKind;
  /** Name of the lock file in locks/. */
  readonly name: string;
  /** LOCKED when the lock file is gone or too old to be trusted (others may judge it stale). */
  verify(): Promise<void>;
  /**
   * Aborts (with a LOCKED error as its reason) once the lock is known to be lost: its file was
   * removed by another process, or it could not be refreshed in time. Operations pass it on
   * as their abort signal, so they stop instead of committing under a lock they no longer hold.
   */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/** Default options for every lock taken on `repo` (the CLI's --retry-lock). */
export function setLockDefaults(repo: Repository, opts: LockOptions): void {
  repo.lockState.defaults = opts;
}

/** The lock `repo` holds in this process, if any. */
export function heldLock(repo: Repository): { kind: LockKind; name: string } | undefined {
  const h = repo.lockState.held;
  return h ? { kind: h.kind, name: h.name } : undefined;
}

/**
 * Takes a lock of `kind` on the repository (re-entrant, see the module comment).
 * LOCKED naming the holder when a conflicting live lock exists and `retryMs` ran out.
 */
export async function lockRepository(repo: Repository, kind: LockKind, options: LockOptions = {}): Promise<RepositoryLock> {
  // One acquisition per repository object at a time, so concurrent callers share one lock file.
  const state = repo.lockState;
  const before = state.acquiring ?? Promise.resolve();
  const p = before.then(() => acquire(repo, kind, options));
  const settled = p.then(
    () => undefined,
    () => undefined,
  );
  state.acquiring = settled;
  void settled.then(() => {
    if (state.acquiring === settled) state.acquiring = undefined;
  });
  return p;
}

async function acquire(repo: Repository, kind: LockKind, options: LockOptions): Promise<RepositoryLock> {
  const opts = { ...repo.lockState.defaults, ...options };
  const cur = repo.lockState.held;
  if (cur) {
    if (cur.kind === 'shared' && kind === 'exclusive') throw new TypeError('cannot take an exclusive lock while holding a shared lock on the same repository object');
    cur.count++;
    return handle(repo, cur);
  }
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
  const deadline = now() + (opts.retryMs ?? 0);
  const noted = new Set<string>();
  const note = (name: string, error: string): void => {
    if (noted.has(name)) return;
    noted.add(name);
    opts.onNote?.(`ignoring lock file ${name.slice(0, 8)}, which cannot be read (${error}); "stowage unlock" removes it`);
  };
  let attempt = 0;
  let request: LiveFile | undefined;
  let h: Held;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      try {
        h = await tryLock(repo, kind, { staleMs, now, refreshMs, note, request });
        break;
      } catch (err) {
        if (!isStowageError(err, 'LOCKED')) throw err;
        const left = deadline - now();
        if (left <= 0) throw err;
        // queue for the exclusive lock: new shared locks wait from now on
        if (kind === 'exclusive' && !request) request = await writeLive(repo, lockInfo(true, now, true), now, refreshMs);
        // Back off with jitter (so two lockers that keep colliding drift apart): 0.1 s doubling to 5 s.
        const wait = Math.min(left, Math.min(5000, 100 * 2 ** Math.min(attempt++, 6)) * (0.5 + Math.random()));
        await sleep(wait, opts.signal);
      }
    }
  } finally {
    if (request) await dropLive(repo, request);
  }
  repo.lockState.held = h;
  const lock = handle(repo, h);
  try {
    await repo.refreshIndex();
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/**
 * Every lock file (and queued request) with its staleness; unreadable ones with `error`.
 * Files named in `skip` (the caller's own) are left out unread.
 */
export async function listLocks(repo: Repository, opts: { staleMs?: number; now?: () => number; skip?: ReadonlySet<string>; listed?: Iterable<FileInfo> | undefined } = {}): Promise<LockListing[]> {
  const out: LockListing[] = [];
  const now = (opts.now ?? Date.now)();
  for await (const f of opts.listed ?? repo.backend.list('lock')) {
    if (opts.skip?.has(f.name)) continue;
    let info: LockInfo;
    try {
      info = readLockFile(f.name, await repo.backend.load({ type: 'lock', name: f.name }), (b) => repo.cipher.open(b, `lock ${f.name}`));
    } catch (err) {
      if (isStowageError(err, 'NOT_FOUND')) continue; // released meanwhile
      if (!isStowageError(err, 'CORRUPT')) throw err;
      out.push({ name: f.name, error: err.message, stale: false });
      continue;
    }
    const why = staleReason(info, now, opts.staleMs ?? DEFAULT_STALE_MS);
    out.push({ name: f.name, info, stale: why !== undefined, ...(why && { staleReason: why }) });
  }
  return out;
}

/** Removes stale and unreadable locks (every lock with `all`, live ones too). Returns the names removed. */
export async function removeLocks(repo: Repository, opts: { all?: boolean; staleMs?: number; now?: () => number } = {}): Promise<string[]> {
  const mine = repo.lockState.held?.name;
  const removed: string[] = [];
  for (const l of await listLocks(repo, opts)) {
    if (l.name === mine) continue;
    if (!opts.all && !l.stale && !l.error) continue;
    try {
      await repo.backend.remove({ type: 'lock', name: l.name });
      removed.push(l.name);
    } catch (err) {
      if (!isStowageError(err, 'NOT_FOUND')) throw err;
    }
  }
  return removed;
}

interface TryOptions {
  readonly staleMs: number;
  readonly now: () => number;
  readonly refreshMs: number;
  readonly note: (name: string, error: string) => void;
  /** This locker's queued request for the exclusive lock, if it wrote one. */
  readonly request: LiveFile | undefined;
}

async function tryLock(repo: Repository, kind: LockKind, o: TryOptions): Promise<Held> {
  const exclusive = kind === 'exclusive';
  const mine = new Set(o.request ? [o.request.name] : []);
  // this first look only spares writing a lock file beside a conflicting one: a listing taken
  // while the repository opened will do (the look after our file is written is what counts)
  const early = await repo.takeEarlyLockListing()?.catch(() => undefined);
  await assertNoConflict(repo, exclusive, mine, o, early);
  const live = await writeLive(repo, lockInfo(exclusive, o.now), o.now, o.refreshMs);
  try {
    mine.add(live.name);
    await assertNoConflict(repo, exclusive, mine, o);
  } catch (err) {
    await dropLive(repo, live);
    throw err;
  }
  const h = live as Held;
  Object.assign(h, { kind, count: 1, staleMs: o.staleMs });
  return h;
}

function lockInfo(exclusive: boolean, now: () => number, request = false): LockInfo {
  const t = new Date(now()).toISOString();
  return {
    exclusive,
    hostname: osHostname(),
    pid: process.pid,
    username: safeUsername(),
    time: t,
    refreshed: t,
    ...(request && { request }),
    ...selfIdentity(),
    nonce: randomBytes(8).toString('hex'),
  };
}

/** Writes a lock file and keeps it refreshed every `refreshMs` until dropLive. */
async function writeLive(repo: Repository, info: LockInfo, now: () => number, refreshMs: number): Promise<LiveFile> {
  const bytes = encodeLock(repo, info);
  const name = lockName(bytes);
  await repo.backend.save({ type: 'lock', name }, bytes);
  const f: LiveFile = {
    name,
    info,
    lastRefresh: now(),
    lost: undefined,
    lostSignal: new AbortController(),
    now,
    refreshing: undefined,
    timer: setInterval(() => {
      f.refreshing ??= refresh(repo, f).finally(() => (f.refreshing = undefined));
    }, refreshMs),
  };
  f.timer.unref();
  return f;
}

/** Stops refreshing `f` and removes its file. */
async function dropLive(repo: Repository, f: LiveFile): Promise<void> {
  clearInterval(f.timer);
  await f.refreshing;
  // missingOk: one request on S3 (no HEAD first); a lock removed by another process is gone either way
  await repo.backend.remove({ type: 'lock', name: f.name }, { missingOk: true }).catch(() => undefined);
}

/**
 * LOCKED when a live lock conflicts. Requests for the exclusive lock conflict with new shared
 * locks, and with an exclusive locker whose own request is younger (or who has none).
 */
async function assertNoConflict(repo: Repository, exclusive: boolean, mine: ReadonlySet<string>, o: TryOptions, listed?: readonly FileInfo[]): Promise<void> {
  // our own files are not read (on S3 a GET each)
  for (const l of await listLocks(repo, { staleMs: o.staleMs, now: o.now, skip: mine, listed })) {
    if (l.stale) continue;
    if (!l.info) {
      o.note(l.name, l.error ?? 'unreadable');
      continue;
    }
    if (l.info.request) {
      if (exclusive && o.request && !queuedBefore(l.name, l.info, o.request.name, o.request.info)) continue;
    } else if (!exclusive && !l.info.exclusive) {
      continue;
    }
    throw new StowageError('LOCKED', `repository ${repo.backend.info.location} is locked: ${describeLock(l.name, l.info)}`);
  }
}

/** True when request a was queued before request b. */
function queuedBefore(aName: string, a: LockInfo, bName: string, b: LockInfo): boolean {
  return a.time < b.time || (a.time === b.time && aName < bName);
}

/**
 * Writes the lock file anew with a new refresh time (a new name), then removes the old one;
 * never recreates a lock that was removed.
 */
async function refresh(repo: Repository, h: LiveFile): Promise<void> {
  if (h.lost) return;
  try {
    if (!(await repo.backend.exists({ type: 'lock', name: h.name }))) {
      markLost(h, `lock file ${h.name.slice(0, 8)} was removed by another process`);
      return;
    }
    const info = { ...h.info, refreshed: new Date(h.now()).toISOString() };
    const bytes = encodeLock(repo, info);
    const name = lockName(bytes);
    await repo.backend.save({ type: 'lock', name }, bytes);
    const old = h.name;
    h.name = name;
    h.info = info;
    h.lastRefresh = h.now();
    await repo.backend.remove({ type: 'lock', name: old }, { missingOk: true }).catch(() => undefined);
  } catch {
    // transient backend trouble: the next interval tries again; verify() notices when it is too late
  }
}

function handle(repo: Repository, h: Held): RepositoryLock {
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    if (--h.count > 0) return;
    if (repo.lockState.held === h) repo.lockState.held = undefined;
    await dropLive(repo, h);
  };
  return {
    kind: h.kind,
    get name() {
      return h.name;
    },
    async verify() {
      if (released) throw new TypeError('lock already released');
      await verifyHeld(repo, h);
    },
    signal: h.lostSignal.signal,
    release,
    [Symbol.asyncDispose]: release,
  };
}

/** LOCKED when the held lock's file is gone or its last refresh is too old to be trusted. */
async function verifyHeld(repo: Repository, h: Held): Promise<void> {
  await h.refreshing;
  if (!h.lost && !(await repo.backend.exists({ type: 'lock', name: h.name }))) markLost(h, `lock file ${h.name.slice(0, 8)} was removed by another process`);
  if (h.lost) throw new StowageError('LOCKED', `lost the repository lock: ${h.lost}`);
  const age = h.now() - h.lastRefresh;
  // Others call a lock stale after staleMs without refresh; stop well before that.
  if (age > h.staleMs / 2) {
    await refresh(repo, h);
    if (!h.lost && h.now() - h.lastRefresh > h.staleMs / 2) markLost(h, `it could not be refreshed for ${Math.round(age / 1000)} s`);
    if (h.lost) throw new StowageError('LOCKED', `lost the repository lock: ${h.lost}`);
  }
}

/** Records why a live lock file is lost, and fires its signal (once). */
function markLost(f: LiveFile, why: string): void {
  if (f.lost) return;
  f.lost = why;
  f.lostSignal.abort(new StowageError('LOCKED', `lost the repository lock: ${why}`));
}

function encodeLock(repo: Repository, info: LockInfo): Buffer {
  return repo.cipher.seal(Buffer.from(JSON.stringify(info)));
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new StowageError('ABORTED', 'interrupted while waiting for the repository lock'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
