/**
 * What this process keeps about its lock on one Repository object: the lock held (re-entrant,
 * counted), the default lock options (the CLI's --retry-lock), and the acquisition in
 * progress (one at a time per repository object). The repository owns it
 * (`Repository.lockState`); lock.ts is the only code that reads or changes it. Nothing is kept
 * in module-level maps, so two Repository objects never share lock state.
 */
import type { LockInfo } from './lock-rules.js';

export type LockKind = 'shared' | 'exclusive';

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
  /** Told once per lock file that is ignored because it cannot be read (the core never prints). */
  readonly onNote?: (message: string) => void;
}
/** A lock file this process keeps alive (a lock, or a queued request). */
export interface LiveFile {
  /** Changes at every refresh (the name is the hash of the bytes). */
  name: string;
  info: LockInfo;
  lastRefresh: number;
  lost: string | undefined;
  /** Aborted when `lost` is set (markLost). */
  readonly lostSignal: AbortController;
  timer: NodeJS.Timeout;
  readonly now: () => number;
  refreshing: Promise<void> | undefined;
}

export interface Held extends LiveFile {
  readonly kind: LockKind;
  count: number;
  readonly staleMs: number;
}
/** The lock state of one Repository object (see the module comment). */
export class LockState {
  /** The lock this repository object holds, if any. */
  held: Held | undefined;
  /** Options every lock taken on the repository starts from. */
  defaults: LockOptions | undefined;
  /** Settles when the acquisition in progress has ended (either way). */
  acquiring: Promise<void> | undefined;
}
