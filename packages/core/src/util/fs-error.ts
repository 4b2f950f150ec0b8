/**
 * Errors of writes to the user's own files (restore targets: a file, a tree, an OCI layout;
 * and local caches) as stable codes, the one mapping every such write path uses:
 * - ENOSPC, EDQUOT: NO_SPACE (the file system or the quota is full);
 * - every other error of the file system (EACCES, EPERM, EROFS, EISDIR, ENOTDIR, ENOENT,
 *   EEXIST, ELOOP, ENAMETOOLONG, EPIPE, EIO, ...): TARGET_UNWRITABLE naming the path;
 * - a StowageError stays as it is, and anything else (a real bug) too.
 * Repository writes map theirs in the backend (backend/local.ts: NO_SPACE and BACKEND).
 */
import { constants } from 'node:os';
import { StowageError } from '../errors.js';

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  EPIPE: 'the reading end of the pipe was closed',
  EIO: 'input/output error',
};

/**
 * The errno name of a system error: Node's `code`, an errno number (the tree helper's), or
 * "(os error N)" in the message (native modules written in Rust, e.g. @napi-rs/xattr).
 */
export function errnoCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown } | undefined;
  if (typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  const message = typeof e?.message === 'string' ? e.message : '';
  const n = typeof e?.errno === 'number' ? Math.abs(e.errno) : Number(/\(os error (\d+)\)/.exec(message)?.[1] ?? NaN);
  if (Number.isFinite(n)) for (const [name, v] of Object.entries(constants.errno)) if (v === n) return name;
  // LevelDB (classic-level) gives strerror's text: "IO error: ...: No space left on device"
  for (const [text, code] of STRERROR) if (message.includes(text)) return code;
  return e?.cause !== undefined && e.cause !== err ? errnoCode(e.cause) : undefined;
}

const STRERROR: readonly [string, string][] = [
  ['No space left on device', 'ENOSPC'],
  ['Disk quota exceeded', 'EDQUOT'],
  ['Read-only file system', 'EROFS'],
  ['Permission denied', 'EACCES'],
  ['Operation not permitted', 'EPERM'],
];

/** `err` of a write to `what` (e.g. "restore target /x", "cannot restore to /x/y") as a StowageError with a stable code. */
export function targetWriteError(err: unknown, what: string): unknown {
  if (err instanceof StowageError) return err;
  const code = errnoCode(err);
  if (!code) return err;
  const why = WHY[code] ?? ((err as Error).message ?? code).replace(/^[A-Z0-9]+: /, '');
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StowageError('NO_SPACE', `${what}: ${why}`, { cause: err });
  return new StowageError('TARGET_UNWRITABLE', `${what}: ${why}`, { cause: err });
}

/**
 * `err` of a write to the local cache (`what` names it) as a StowageError: NO_SPACE when
 * full, CACHE_UNWRITABLE for any other file system error (with how to choose another cache);
 * a StowageError or an error without an errno (a bug) stays as it is.
 */
export function cacheWriteError(err: unknown, what: string): unknown {
  if (err instanceof StowageError) return err;
  const code = errnoCode(err);
  if (!code) return err;
  const why = WHY[code] ?? ((err as Error).message ?? code).replace(/^[A-Z0-9]+: /, '');
  const hint = 'choose a writable cache with --cache-dir or STOWAGE_CACHE_DIR';
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StowageError('NO_SPACE', `${what}: ${why} (${hint})`, { cause: err });
  return new StowageError('CACHE_UNWRITABLE', `${what}: ${why} (${hint})`, { cause: err });
}

/** True for an error that says a file system is full or read-only (nothing to retry, nothing to warn about: the write must fail). */
export function isFatalWriteError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}
