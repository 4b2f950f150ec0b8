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
 * 1. list the locks; a conflicting live lock -> LOCKED (or wait and retry, `retryMs`);
 * 2. create our lock file;
 * 3. list again; a conflicting live lock that appeared meanwhile -> remove ours, LOCKED/retry.
 *
 * With a backend whose listing shows every file whose save has completed (local disks, S3),
 * two racing lockers cannot both miss each other: whichever re-lists last sees the other.
 * Conflicts: exclusive vs anything; shared vs exclusive.
 *
 * A held lock is refreshed every `refreshMs` (5 min) by rewriting it (save with overwrite).
 * A lock is stale, and ignored by everyone, when its `refreshed` time is more than `staleMs`
 * (30 min) old, or when it was taken on this host by a process that no longer exists. A
 * holder checks its own lock before the step that must not happen without it (`verify()`:
 * a snapshot before writing its snapshot file, gc before its first deletion): LOCKED when the
 * file was removed (`unlock --remove-all`) or the last refresh is so old that others may
 * have judged it stale. `stowage unlock` removes stale locks.
 *
 * Locks are re-entrant per Repository object: taking a lock while one of the same or a
 * stronger kind is held only counts up, so an operation that calls another (snapshotFile ->
 * snapshotStream) holds one lock file. After a lock is taken, an open index cache is
 * brought up to date (gc may have replaced index files while we waited).
 */
import { randomBytes } from 'node:crypto';
import { hostname as osHostname, userInfo } from 'node:os';
import { StowageError, isStowageError } from '../errors.js';
import type { Repository } from './repository.js';

export type LockKind = 'shared' | 'exclusive';

/** The content of a lock file. */
export interface LockInfo {
  readonly exclusive: boolean;
  readonly hostname: string;
  readonly pid: number;
  readonly username: string;
  /** ISO time the lock was taken. */
  readonly time: string;
  /** ISO time of the last refresh. */
  readonly refreshed: string;
}

export interface LockOptions {
  /** Keep trying this long when the repository is locked (default 0: fail with LOCKED at once). */
  readonly retryMs?: number;
  /** A lock not refreshed for this long is stale (default 30 min). */
  readonly staleMs?: number;
  /** Refresh interval of a held lock (default 5 min). */
  readonly refreshMs?: number;
  readonly signal?: AbortSignal;
  /** Clock (tests). */
  readonly now?: () => number;
}

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
  release(): Promise<void>;
}

interface Held {
  readonly kind: LockKind;
  readonly name: string;
  count: number;
  info: LockInfo;
  lastRefresh: number;
  lost: string | undefined;
  timer: NodeJS.Timeout;
  readonly staleMs: number;
  readonly now: () => number;
  refreshing: Promise<void> | undefined;
}

const held = new WeakMap<Repository, Held>();
const defaults = new WeakMap<Repository, LockOptions>();
const acquiring = new WeakMap<Repository, Promise<void>>();

/** Default options for every lock taken on `repo` (the CLI's --retry-lock). */
export function setLockDefaults(repo: Repository, opts: LockOptions): void {
  defaults.set(repo, opts);
}

/** The lock `repo` holds in this process, if any. */
export function heldLock(repo: Repository): { kind: LockKind; name: string } | undefined {
  const h = held.get(repo);
  return h ? { kind: h.kind, name: h.name } : undefined;
}

/**
 * Takes a lock of `kind` on the repository (re-entrant, see the module comment).
 * LOCKED naming the holder when a conflicting live lock exists and `retryMs` ran out.
 */
export async function lockRepository(repo: Repository, kind: LockKind, options: LockOptions = {}): Promise<RepositoryLock> {
  // One acquisition per repository object at a time, so concurrent callers share one lock file.
  const before = acquiring.get(repo) ?? Promise.resolve();
  const p = before.then(() => acquire(repo, kind, options));
  const settled = p.then(
    () => undefined,
    () => undefined,
  );
  acquiring.set(repo, settled);
  void settled.then(() => {
    if (acquiring.get(repo) === settled) acquiring.delete(repo);
  });
  return p;
}

async function acquire(repo: Repository, kind: LockKind, options: LockOptions): Promise<RepositoryLock> {
  const opts = { ...defaults.get(repo), ...options };
  const cur = held.get(repo);
  if (cur) {
    if (cur.kind === 'shared' && kind === 'exclusive') throw new TypeError('cannot take an exclusive lock while holding a shared lock on the same repository object');
    cur.count++;
    return handle(repo, cur);
  }
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const deadline = now() + (opts.retryMs ?? 0);
  let attempt = 0;
  let h: Held;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      h = await tryLock(repo, kind, staleMs, now, opts.refreshMs ?? DEFAULT_REFRESH_MS);
      break;
    } catch (err) {
      if (!isStowageError(err, 'LOCKED')) throw err;
      const left = deadline - now();
      if (left <= 0) throw err;
      // Back off with jitter (so two lockers that keep colliding drift apart): 0.1 s doubling to 5 s.
      const wait = Math.min(left, Math.min(5000, 100 * 2 ** Math.min(attempt++, 6)) * (0.5 + Math.random()));
      await sleep(wait, opts.signal);
    }
  }
  held.set(repo, h);
  repo.commitGuard = () => verifyHeld(repo, h);
  const lock = handle(repo, h);
  try {
    await repo.refreshIndex();
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/** Every lock file with its staleness. */
export async function listLocks(repo: Repository, opts: { staleMs?: number; now?: () => number } = {}): Promise<LockListing[]> {
  const out: LockListing[] = [];
  const now = (opts.now ?? Date.now)();
  for await (const f of repo.backend.list('lock')) {
    let info: LockInfo;
    try {
      info = parseLock(repo.cipher.open(await repo.backend.load({ type: 'lock', name: f.name }), `lock ${f.name}`), f.name);
    } catch (err) {
      if (isStowageError(err, 'NOT_FOUND')) continue; // released meanwhile
      out.push({ name: f.name, error: (err as Error).message, stale: false });
      continue;
    }
    const why = staleReason(info, now, opts.staleMs ?? DEFAULT_STALE_MS);
    out.push({ name: f.name, info, stale: why !== undefined, ...(why && { staleReason: why }) });
  }
  return out;
}

/** Removes stale locks (every lock with `all`, including live and unreadable ones). Returns the names removed. */
export async function removeLocks(repo: Repository, opts: { all?: boolean; staleMs?: number; now?: () => number } = {}): Promise<string[]> {
  const mine = held.get(repo)?.name;
  const removed: string[] = [];
  for (const l of await listLocks(repo, opts)) {
    if (l.name === mine) continue;
    if (!opts.all && !l.stale) continue;
    try {
      await repo.backend.remove({ type: 'lock', name: l.name });
      removed.push(l.name);
    } catch (err) {
      if (!isStowageError(err, 'NOT_FOUND')) throw err;
    }
  }
  return removed;
}

/** Why a lock is stale, or undefined when it is live. */
export function staleReason(info: LockInfo, now: number, staleMs: number, host = osHostname()): string | undefined {
  const refreshed = Date.parse(info.refreshed);
  if (!Number.isFinite(refreshed)) return 'no valid refresh time';
  if (now - refreshed > staleMs) return `not refreshed for ${Math.round((now - refreshed) / 60000)} min`;
  if (info.hostname === host && !processAlive(info.pid)) return `process ${info.pid} on this host is gone`;
  return undefined;
}

/** A one-line description of a lock's holder, for LOCKED messages. */
export function describeLock(name: string, info: LockInfo | undefined): string {
  if (!info) return `an unreadable lock ${name.slice(0, 8)}`;
  return `${info.exclusive ? 'an exclusive' : 'a shared'} lock ${name.slice(0, 8)} held by PID ${info.pid} on ${info.hostname}${info.username ? ` (${info.username})` : ''} since ${info.time}`;
}

async function tryLock(repo: Repository, kind: LockKind, staleMs: number, now: () => number, refreshMs: number): Promise<Held> {
  const exclusive = kind === 'exclusive';
  await assertNoConflict(repo, exclusive, undefined, staleMs, now);
  const t = new Date(now()).toISOString();
  const info: LockInfo = { exclusive, hostname: osHostname(), pid: process.pid, username: safeUsername(), time: t, refreshed: t };
  const name = randomBytes(32).toString('hex');
  await repo.backend.save({ type: 'lock', name }, encodeLock(repo, info));
  try {
    await assertNoConflict(repo, exclusive, name, staleMs, now);
  } catch (err) {
    await repo.backend.remove({ type: 'lock', name }).catch(() => undefined);
    throw err;
  }
  const h: Held = {
    kind,
    name,
    count: 1,
    info,
    lastRefresh: now(),
    lost: undefined,
    staleMs,
    now,
    refreshing: undefined,
    timer: setInterval(() => {
      h.refreshing ??= refresh(repo, h).finally(() => (h.refreshing = undefined));
    }, refreshMs),
  };
  h.timer.unref();
  return h;
}

async function assertNoConflict(repo: Repository, exclusive: boolean, mine: string | undefined, staleMs: number, now: () => number): Promise<void> {
  for (const l of await listLocks(repo, { staleMs, now })) {
    if (l.name === mine || l.stale) continue;
    if (l.info && !exclusive && !l.info.exclusive) continue;
    const hint = l.info ? '' : ' (remove it with "stowage unlock --remove-all" if no other stowage process is running)';
    throw new StowageError('LOCKED', `repository ${repo.backend.info.location} is locked: ${describeLock(l.name, l.info)}${hint}`);
  }
}

/** Rewrites the lock file with a new refresh time; never recreates a lock that was removed. */
async function refresh(repo: Repository, h: Held): Promise<void> {
  if (h.lost) return;
  const h0 = { type: 'lock' as const, name: h.name };
  try {
    if (!(await repo.backend.exists(h0))) {
      h.lost = `lock file ${h.name.slice(0, 8)} was removed by another process`;
      return;
    }
    const info = { ...h.info, refreshed: new Date(h.now()).toISOString() };
    await repo.backend.save(h0, encodeLock(repo, info), { overwrite: true });
    h.info = info;
    h.lastRefresh = h.now();
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
    clearInterval(h.timer);
    held.delete(repo);
    repo.commitGuard = undefined;
    await h.refreshing;
    await repo.backend.remove({ type: 'lock', name: h.name }).catch(() => undefined);
  };
  return {
    kind: h.kind,
    name: h.name,
    async verify() {
      if (released) throw new TypeError('lock already released');
      await verifyHeld(repo, h);
    },
    release,
    [Symbol.asyncDispose]: release,
  };
}

/** LOCKED when the held lock's file is gone or its last refresh is too old to be trusted. */
async function verifyHeld(repo: Repository, h: Held): Promise<void> {
  await h.refreshing;
  if (!h.lost && !(await repo.backend.exists({ type: 'lock', name: h.name }))) h.lost = `lock file ${h.name.slice(0, 8)} was removed by another process`;
  if (h.lost) throw new StowageError('LOCKED', `lost the repository lock: ${h.lost}`);
  const age = h.now() - h.lastRefresh;
  // Others call a lock stale after staleMs without refresh; stop well before that.
  if (age > h.staleMs / 2) {
    await refresh(repo, h);
    if (h.lost || h.now() - h.lastRefresh > h.staleMs / 2) throw new StowageError('LOCKED', `lost the repository lock: it could not be refreshed for ${Math.round(age / 1000)} s`);
  }
}

function encodeLock(repo: Repository, info: LockInfo): Buffer {
  return repo.cipher.seal(Buffer.from(JSON.stringify(info)));
}

function parseLock(plain: Buffer, name: string): LockInfo {
  let v: LockInfo;
  try {
    v = JSON.parse(plain.toString('utf8')) as LockInfo;
  } catch (err) {
    throw new StowageError('CORRUPT', `lock ${name}: not valid JSON`, { cause: err });
  }
  if (typeof v !== 'object' || v === null || typeof v.exclusive !== 'boolean' || typeof v.pid !== 'number' || typeof v.hostname !== 'string' || typeof v.refreshed !== 'string') {
    throw new StowageError('CORRUPT', `lock ${name}: fields missing`);
  }
  return v;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
