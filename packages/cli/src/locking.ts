/**
 * Lock options of the CLI: `--retry-lock <duration>` (wait for a lock instead of failing
 * with LOCKED, exit 11) and `--no-lock` (restore and check run without a shared lock).
 */
import { isStowageError, lockRepository, setLockDefaults, type Repository, type RepositoryLock } from '@stowage/core';
import { parseDuration } from '@stowage/core/internal';
import type { Context, GlobalOptions } from './context.js';

interface LockGlobals extends GlobalOptions {
  readonly retryLock?: string;
  /** false with --no-lock. */
  readonly lock?: boolean;
}

function globals(ctx: Context): LockGlobals {
  return ctx.opts as LockGlobals;
}

/** Applies --retry-lock (and the interrupt signal) to every lock the commands take on `repo`. */
export function applyLockOptions(ctx: Context, repo: Repository): void {
  const g = globals(ctx);
  setLockDefaults(repo, { retryMs: g.retryLock === undefined ? 0 : parseDuration(g.retryLock, '--retry-lock'), signal: ctx.signal, onNote: (m) => ctx.info(`stowage: note: ${m}`) });
}

/** True unless --no-lock. */
export function wantsLock(ctx: Context): boolean {
  return globals(ctx).lock !== false;
}

/**
 * The shared lock of a reading command (restore, ls, check, ...), or undefined with --no-lock,
 * or when the lock cannot be written because the repository is read-only (a read-only mount,
 * no write permission, an S3 bucket we may only read): then the command reads without a lock,
 * with a note (gc cannot run there either, so nothing is deleted under it).
 */
export async function readLock(ctx: Context, repo: Repository): Promise<RepositoryLock | undefined> {
  if (!wantsLock(ctx)) return undefined;
  try {
    return await lockRepository(repo, 'shared');
  } catch (err) {
    if (isStowageError(err, 'NO_SPACE')) {
      ctx.info(`stowage: note: the repository's file system is full (${(err as Error).message}): reading without a lock`);
      return undefined;
    }
    if (!cannotWrite(err)) throw err;
    ctx.info(`stowage: note: the repository is read-only (${(err as Error).message}): reading without a lock`);
    return undefined;
  }
}

/** True for a BACKEND error that says the repository cannot be written (not a transient failure). */
function cannotWrite(err: unknown): boolean {
  if (!isStowageError(err, 'BACKEND')) return false;
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || /access denied|permission denied|read-only/i.test((err as Error).message);
}
