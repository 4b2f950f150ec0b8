/**
 * When a lock file counts: what a lock says (LockInfo), how it is named and read, and the
 * rules that make a lock stale (ignored by everyone, removed by `stowage unlock`).
 *
 * A lock is stale when
 * - its `refreshed` time is not a valid time;
 * - it was refreshed more than MAX_CLOCK_SKEW_MS (10 min) in the future: no host's clock is
 *   allowed to be that far ahead, so it is forged or its host's clock is wrong (a lock
 *   "refreshed" in the year 2100 would otherwise block the repository for ever);
 * - it was not refreshed for `staleMs` (30 min; a live holder rewrites it every 5 min);
 * - it was taken on this host and its process is gone, or the host restarted since (boot
 *   id), or the PID now belongs to another process (its start time differs), or, for a lock
 *   that records no start time, the process is not a stowage process (its command line does
 *   not mention stowage). The last three need /proc (Linux); elsewhere only "gone" applies.
 *
 * Hosts are told apart by hostname only: two machines (or containers with their own PID
 * namespaces) sharing a hostname must not share a repository, as with restic.
 *
 * A lock file's name is the BLAKE3 of its (sealed) bytes, as every repository file's is.
 * A file whose name does not match, or that does not open or parse, is unreadable: it
 * takes part in no decision (a note says it is ignored), and `stowage unlock` removes it.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { StowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';

/** How far in the future a lock's refresh time may lie (hosts' clocks must agree this well). */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

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
  /**
   * A queued request for the exclusive lock (gc waiting with --retry-lock), not a lock:
   * new shared locks wait while it is live, so writers that never pause cannot starve gc.
   */
  readonly request?: boolean;
  /** The holder's start time (Linux: clock ticks since boot, /proc/<pid>/stat field 22). */
  readonly start?: string;
  /** The holder's host boot id (Linux: /proc/sys/kernel/random/boot_id). */
  readonly boot?: string;
  /** Random: two locks written in the same millisecond by one process differ (and so do their names). */
  readonly nonce?: string;
}

/** What the stale rules ask about a process of this host (replaceable in tests). */
export interface ProcessProbe {
  /** False when no process has this PID. */
  alive(pid: number): boolean;
  /** The process's start time as LockInfo.start records it, or undefined when unknown. */
  start(pid: number): string | undefined;
  /** The process's command line (NUL-separated arguments), or undefined when unknown. */
  cmdline(pid: number): string | undefined;
  /** This host's boot id, or undefined when unknown. */
  bootId(): string | undefined;
}

/** The probe of this machine (/proc where there is one). */
export const systemProbe: ProcessProbe = {
  alive(pid) {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  start(pid) {
    const stat = readProc(`/proc/${pid}/stat`);
    if (stat === undefined) return undefined;
    // fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  },
  cmdline(pid) {
    return readProc(`/proc/${pid}/cmdline`);
  },
  bootId() {
    return readProc('/proc/sys/kernel/random/boot_id')?.trim();
  },
};

function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** What this process records about itself in its locks. */
export function selfIdentity(probe: ProcessProbe = systemProbe): Pick<LockInfo, 'start' | 'boot'> {
  const start = probe.start(process.pid);
  const boot = probe.bootId();
  return { ...(start !== undefined && { start }), ...(boot !== undefined && { boot }) };
}

/** Why a lock is stale, or undefined when it is live (the rules are in the module comment). */
export function staleReason(info: LockInfo, now: number, staleMs: number, host = osHostname(), probe: ProcessProbe = systemProbe): string | undefined {
  const refreshed = Date.parse(info.refreshed);
  if (!Number.isFinite(refreshed)) return 'no valid refresh time';
  if (refreshed - now > MAX_CLOCK_SKEW_MS) {
    return `refreshed ${info.refreshed}, ${Math.round((refreshed - now) / 60000)} min in the future (more than the ${MAX_CLOCK_SKEW_MS / 60000} min clock skew allowed: forged, or its host's clock is wrong)`;
  }
  if (now - refreshed > staleMs) return `not refreshed for ${Math.round((now - refreshed) / 60000)} min`;
  if (info.hostname !== host) return undefined;
  if (!probe.alive(info.pid)) return `process ${info.pid} on this host is gone`;
  const boot = probe.bootId();
  if (info.boot !== undefined && boot !== undefined && info.boot !== boot) return `taken before this host restarted (process ${info.pid} is gone)`;
  const start = probe.start(info.pid);
  if (info.start !== undefined && start !== undefined) {
    return info.start === start ? undefined : `process ${info.pid} on this host is another process now (its PID was reused)`;
  }
  const cmd = probe.cmdline(info.pid);
  if (cmd !== undefined && !/stowage/i.test(cmd)) return `process ${info.pid} on this host is not a stowage process (${cmd.split('\0').filter(Boolean).join(' ').slice(0, 60)})`;
  return undefined;
}

/** The name of a lock file with these (sealed) bytes. */
export function lockName(bytes: Uint8Array): string {
  return blake3Hex(bytes);
}

/**
 * The LockInfo of lock file `name` from its stored bytes (`open` unseals them); CORRUPT
 * when the name is not the BLAKE3 of the bytes, or they do not open or parse.
 */
export function readLockFile(name: string, bytes: Uint8Array, open: (b: Uint8Array) => Buffer): LockInfo {
  if (lockName(bytes) !== name) throw new StowageError('CORRUPT', `lock ${name.slice(0, 8)}: its name is not the BLAKE3 of its content (damaged, or not written by stowage)`);
  let v: LockInfo;
  try {
    v = JSON.parse(open(bytes).toString('utf8')) as LockInfo;
  } catch (err) {
    throw new StowageError('CORRUPT', `lock ${name.slice(0, 8)}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof v !== 'object' || v === null || typeof v.exclusive !== 'boolean' || typeof v.pid !== 'number' || typeof v.hostname !== 'string' || typeof v.refreshed !== 'string') {
    throw new StowageError('CORRUPT', `lock ${name.slice(0, 8)}: fields missing`);
  }
  return v;
}

/** A one-line description of a lock's holder, for LOCKED messages. */
export function describeLock(name: string, info: LockInfo | undefined): string {
  if (!info) return `an unreadable lock ${name.slice(0, 8)}`;
  const what = info.request ? 'a request for the exclusive lock' : info.exclusive ? 'an exclusive lock' : 'a shared lock';
  return `${what} ${name.slice(0, 8)} ${info.request ? 'by' : 'held by'} PID ${info.pid} on ${info.hostname}${info.username ? ` (${info.username})` : ''} since ${info.time}`;
}
