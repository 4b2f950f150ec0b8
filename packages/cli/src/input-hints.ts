/**
 * Files this machine snapshotted, remembered as a hint for the next command's start-up: a
 * snapshot of a file starts its first codec worker while the password's key is derived
 * (commands/snapshot.ts fileOpening), which an unchanged file (a repeat: its content is
 * reused unread) never uses, so a file that looks unchanged since its last snapshot here
 * starts none ahead.
 *
 * The hint is `<cache root>/recent-inputs.json`: SHA-256 digests of (absolute path, device,
 * inode, size, mtime and ctime in ns) of the last RECENT_INPUTS files snapshotted, no path or
 * stat in clear. It decides nothing but that: whether a file is unchanged is decided by the
 * snapshot from the repository's snapshots (core snapshotFile). A stale, missing or unwritable
 * hint only costs the worker's early start (about 50 ms of wall time) or its boot (about 45 ms
 * of CPU).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** How many files the hint remembers. */
export const RECENT_INPUTS = 32;

/** What the hint is keyed by: the fields of the stat a snapshot records (core SourceStat). */
export interface InputStat {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

function hintFile(cacheRoot: string): string {
  return path.join(cacheRoot, 'recent-inputs.json');
}

function digest(abs: string, st: InputStat): string {
  return createHash('sha256').update(`${abs}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`).digest('hex');
}

function recent(cacheRoot: string): string[] {
  try {
    const j = JSON.parse(fs.readFileSync(hintFile(cacheRoot), 'utf8')) as { inputs?: unknown };
    return Array.isArray(j.inputs) ? j.inputs.filter((d): d is string => typeof d === 'string') : [];
  } catch {
    return [];
  }
}

/** The fields of `st` a snapshot records. */
export function inputStat(st: fs.BigIntStats): InputStat {
  return { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString() };
}

/** True when `abs` was snapshotted on this machine with this very stat (lately). */
export function looksUnchanged(cacheRoot: string, abs: string, st: InputStat): boolean {
  return recent(cacheRoot).includes(digest(abs, st));
}

/** Remembers that `abs` was snapshotted with stat `st` (best effort: never throws). */
export function rememberInput(cacheRoot: string, abs: string, st: InputStat): void {
  const d = digest(abs, st);
  const old = recent(cacheRoot);
  if (old[old.length - 1] === d) return;
  const inputs = [...old.filter((x) => x !== d), d].slice(-RECENT_INPUTS);
  const file = hintFile(cacheRoot);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(cacheRoot, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify({ inputs }) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
