/**
 * What every command gets: global options, output helpers (output.ts says which stream
 * carries what), and the repository opener.
 */
import { Repository, StowageError, openBackend, type Backend, type KekCache } from '@stowage/core';
import { AGENT_SOCKET_ENV, defaultCacheRoot, defaultWorkerCount, keyAgentCache } from '@stowage/core/internal';
import { expectsEncryption, passwordSource } from './password.js';
import { applyLockOptions } from './locking.js';

export interface GlobalOptions {
  readonly repo?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  /** -v: more detail (count: -vv). */
  readonly verbose?: number;
  readonly debug?: boolean;
  readonly cacheDir?: string;
  /** File holding the repository password (or STOWAGE_PASSWORD_FILE / STOWAGE_PASSWORD). */
  readonly passwordFile?: string;
  /** Key id (prefix) to try first (or STOWAGE_KEY_HINT). */
  readonly keyHint?: string;
}

export interface Context {
  readonly opts: GlobalOptions;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Requested data: a line on stdout, also with -q. */
  out(line: string): void;
  /** A summary line on stdout ("snapshot ... saved"), not with -q. */
  say(line: string): void;
  /** A note on stderr, not with -q. */
  info(line: string): void;
  /** A detail line on stderr, only with -v. */
  verbose(line: string): void;
  /** "stowage: warning: ..." on stderr (a JSON line with --json), also with -q. */
  warn(message: string): void;
  /** Prints one JSON document on stdout. */
  json(value: unknown): void;
}

/** The repository location from -r or STOWAGE_REPOSITORY. */
export function repoLocation(ctx: Context): string {
  const loc = ctx.opts.repo ?? process.env.STOWAGE_REPOSITORY;
  if (!loc) throw new StowageError('NO_REPOSITORY', 'no repository given: use -r <path> or set STOWAGE_REPOSITORY');
  return loc;
}

/**
 * The backend of a location (local directory or s3:..., see the core's parseLocation); S3
 * settings from STOWAGE_S3_* and the AWS_* environment, notices (a created bucket) on stderr,
 * retries with -v. SIGINT/SIGTERM (ctx.signal) abort every request of it.
 */
export function backendFor(ctx: Context, location: string): Promise<Backend> {
  return openBackend(location, {
    signal: ctx.signal,
    s3: { cacheDir: cacheRoot(ctx), onNotice: (m) => ctx.info(m) },
    // -v shows each retry of a transient storage failure
    retry: { onRetry: (e) => ctx.verbose(`retrying ${e.op} ${e.what} in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt + 1}): ${e.error.message}`) },
  });
}

export function cacheRoot(ctx: Context): string {
  return ctx.opts.cacheDir ?? defaultCacheRoot();
}

/** The key agent's cache when STOWAGE_AGENT_SOCK names one (the opt-in; `stowage agent`); an unreachable agent is noted with --debug and skipped. */
export function kekCacheFor(ctx: Context): { kekCache?: KekCache } {
  const socket = process.env[AGENT_SOCKET_ENV];
  if (!socket) return {};
  return { kekCache: keyAgentCache(socket, (err) => (ctx.opts.debug ? ctx.info(`stowage: key agent skipped: ${err.message}`) : undefined)) };
}

/** How withRepo opens the repository. */
export interface RepoOpening {
  /**
   * Codec workers the command will use, started first so they boot while the password's key
   * is derived (core OpenOptions.prestartWorkers): 'all' for a restore (its pool starts one
   * per core at once), 1 for a snapshot of new data (its pool starts a second only while the
   * first is busy). One never used costs about 45 ms of CPU.
   */
  readonly workers?: number | 'all';
  /** The command looks blobs up: open the index cache while the key is derived (core OpenOptions.openIndexEarly). */
  readonly index?: boolean;
  /** The command takes a lock: on S3 the lock files are listed while the key is derived (core OpenOptions.listLocksEarly). */
  readonly locks?: boolean;
  /** The command lists the snapshots: their files are listed and read while the key is derived (core OpenOptions.readSnapshotsEarly). */
  readonly snapshots?: boolean;
}

/** Opens the repository (as `how` says), runs `fn`, and always closes it. */
export async function withRepo<T>(ctx: Context, fn: (repo: Repository) => Promise<T>): Promise<T>;
export async function withRepo<T>(ctx: Context, how: RepoOpening, fn: (repo: Repository) => Promise<T>): Promise<T>;
export async function withRepo<T>(ctx: Context, a: RepoOpening | ((repo: Repository) => Promise<T>), b?: (repo: Repository) => Promise<T>): Promise<T> {
  const [how, fn] = typeof a === 'function' ? [{}, a] : [a, b!];
  if (process.env['STOWAGE_TIMELINE']) performance.mark('withRepo');
  const keyHint = ctx.opts.keyHint ?? (process.env.STOWAGE_KEY_HINT || undefined);
  const repo = await Repository.open(await backendFor(ctx, repoLocation(ctx)), {
    cacheRoot: cacheRoot(ctx),
    password: passwordSource(ctx),
    expectEncrypted: expectsEncryption(ctx),
    ...(keyHint && { keyHint }),
    ...kekCacheFor(ctx),
    ...(how.workers && { prestartWorkers: how.workers === 'all' ? defaultWorkerCount() : how.workers }),
    ...(how.index && { openIndexEarly: true }),
    ...(how.locks && { listLocksEarly: true }),
    ...(how.snapshots && { readSnapshotsEarly: true }),
  });
  applyLockOptions(ctx, repo);
  if (process.env['STOWAGE_TIMELINE']) performance.mark('repository open');
  try {
    return await fn(repo);
  } finally {
    await repo.close();
    if (process.env['STOWAGE_TIMELINE']) performance.mark('repository closed');
  }
}
