/**
 * Lock options of the CLI: `--retry-lock <duration>` (wait for a lock instead of failing
 * with LOCKED, exit 11) and `--no-lock` (restore and check run without a shared lock).
 */
import { StowageError, lockRepository, setLockDefaults, type Repository, type RepositoryLock } from '@stowage/core';
import type { Context, GlobalOptions } from './context.js';

interface LockGlobals extends GlobalOptions {
  readonly retryLock?: string;
  /** false with --no-lock. */
  readonly lock?: boolean;
}

function globals(ctx: Context): LockGlobals {
  return ctx.opts as LockGlobals;
}

/** "90", "30s", "5m", "1h30m", "500ms" -> milliseconds. INVALID_ARGUMENT otherwise. */
export function parseDuration(v: string): number {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') throw new StowageError('INVALID_ARGUMENT', `invalid duration "${v}" (examples: 30s, 5m, 1h30m)`);
  return Number(m[1] ?? 0) * 3600_000 + Number(m[2] ?? 0) * 60_000 + Number(m[3] ?? 0) * 1000 + Number(m[4] ?? 0);
}

/** Applies --retry-lock (and the interrupt signal) to every lock the commands take on `repo`. */
export function applyLockOptions(ctx: Context, repo: Repository): void {
  const g = globals(ctx);
  setLockDefaults(repo, { retryMs: g.retryLock === undefined ? 0 : parseDuration(g.retryLock), signal: ctx.signal });
}

/** True unless --no-lock. */
export function wantsLock(ctx: Context): boolean {
  return globals(ctx).lock !== false;
}

/** The shared lock of a reading command (restore), or undefined with --no-lock. */
export async function readLock(ctx: Context, repo: Repository): Promise<RepositoryLock | undefined> {
  return wantsLock(ctx) ? lockRepository(repo, 'shared') : undefined;
}
