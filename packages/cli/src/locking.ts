/**
 * Lock options of the CLI: `--retry-lock <duration>` (wait for a lock instead of failing
 * with LOCKED, exit 11) and `--no-lock` (restore and check run without a shared lock).
 */
import { lockRepository, parseDuration, setLockDefaults, type Repository, type RepositoryLock } from '@stowage/core';
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

/** The shared lock of a reading command (restore), or undefined with --no-lock. */
export async function readLock(ctx: Context, repo: Repository): Promise<RepositoryLock | undefined> {
  return wantsLock(ctx) ? lockRepository(repo, 'shared') : undefined;
}
