/**
 * The file writes of a tree restore as one batch per read window, so that a thread other than
 * the walk's can make them (restore/tree-writer.ts runs FileWrites on a worker thread): for each
 * regular file, create (O_EXCL, not following a symlink), write its content at its data
 * regions (holes of a sparse file stay holes), set its size, owner and mode, close. The
 * directories and symlinks walked among the files are made in the same order (DIR, SYMLINK),
 * so a directory exists before what is in it. A batch is
 * the window's run of file segments in order (a file larger than a window has a segment in
 * each); a file stays open from its first segment to its last.
 *
 * A batch travels as a Float64Array of numbers and one latin1 string of the paths of the files
 * it creates (NUL-separated: a path never holds a NUL; latin1 keeps every byte), which a
 * worker's message clones without walking objects. Per segment: job, flags, bytes; and for a
 * segment with FIRST: open mode, final mode, uid, gid, size, mtime (whole seconds), the number
 * of data regions and their (offset, length) pairs (none: the whole file is data).
 *
 * The mtime is set here (futimens on the open file, last) only when it is a whole number of
 * seconds (MTIME): Node's futimes takes seconds as a double and libuv keeps microseconds, so
 * only then is it exact; files unpacked from tar archives (container layers) have such mtimes.
 * Others go through the tree helper's utimensat with nanoseconds (tree/fs-helper.ts).
 *
 * Whatever the walk's thread must do afterwards (extended attributes, an mtime with
 * nanoseconds, counting) it does once the batch's answer says the file is complete: `done` segments of the batch were
 * written (all, or up to the failed one), `warnings` name segments whose owner was refused
 * (not fatal, like the walk's own chown warnings), `error` is the first failure (the file it
 * concerns is closed; files still open stay open until abandon()).
 */
import { closeSync, constants as C, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, lutimesSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { isFatalWriteError } from '../util/fs-error.js';

/** Segment flags. */
export const FIRST = 1;
export const LAST = 2;
/** With FIRST: set the owner (uid, gid) at the last segment. */
export const CHOWN = 4;
/** With FIRST: set the final mode at the last segment. */
export const CHMOD = 8;
/** With FIRST: set the mtime (whole seconds) at the last segment. */
export const MTIME = 16;
/**
 * With FIRST|LAST, bytes 0: not a file but a directory to create (mkdir with `openMode`; one
 * that exists already is answered in WriteAnswer.existed). Its owner, mode and mtime are the
 * walk's to set, after its contents.
 */
export const DIR = 32;
/**
 * With FIRST|LAST, bytes 0: not a file but a symlink to `target`; CHOWN sets its owner
 * (lchown), MTIME its whole-second mtime (lutimes). A symlink's own mode is never set.
 */
export const SYMLINK = 64;

/** One file segment as the walk queues it. */
export interface SegmentSpec {
  readonly job: number;
  readonly flags: number;
  readonly bytes: number;
  /** With FIRST: */
  readonly path?: Buffer;
  readonly openMode?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  /** Whole seconds since the epoch (with MTIME). */
  readonly mtime?: number;
  /** Sparse files: the data regions, (offset, length) pairs. */
  readonly regions?: readonly (readonly [number, number])[] | undefined;
  /** With SYMLINK: its target. */
  readonly target?: Buffer;
}

/** A window's segments, encoded (see the file comment). */
export interface WriteBatch {
  readonly nums: Float64Array;
  readonly paths: string;
}

/** What a batch did. */
export interface WriteAnswer {
  /** Segments written, from the first. */
  readonly done: number;
  /** (segment index, message): the owner could not be set (not fatal). */
  readonly warnings: [number, string][];
  /** Segments (DIR) whose directory existed already (absent: none). */
  readonly existed?: number[];
  /** The first failure: at segment `seg`, with the system error's fields. */
  readonly error?: { readonly seg: number; readonly message: string; readonly code?: string; readonly errno?: number; readonly syscall?: string };
}

/** Encodes a window's segments. */
export function encodeBatch(segs: readonly SegmentSpec[]): WriteBatch {
  let n = 0;
  for (const s of segs) n += 3 + (s.flags & FIRST ? 7 + 2 * (s.regions?.length ?? 0) : 0);
  const nums = new Float64Array(n);
  const paths: string[] = [];
  let i = 0;
  for (const s of segs) {
    nums[i++] = s.job;
    nums[i++] = s.flags;
    nums[i++] = s.bytes;
    if (!(s.flags & FIRST)) continue;
    nums[i++] = s.openMode!;
    nums[i++] = s.mode!;
    nums[i++] = s.uid!;
    nums[i++] = s.gid!;
    nums[i++] = s.size!;
    nums[i++] = s.mtime ?? 0;
    const r = s.regions;
    nums[i++] = r?.length ?? 0;
    if (r)
      for (const [off, len] of r) {
        nums[i++] = off;
        nums[i++] = len;
      }
    paths.push(s.path!.toString('latin1'));
    if (s.flags & SYMLINK) paths.push(s.target!.toString('latin1'));
  }
  return { nums, paths: paths.join('\0') };
}

/** A file being written: its descriptor and where its next bytes go. */
interface Open {
  readonly fd: number;
  readonly regions: Float64Array | undefined;
  region: number;
  pos: number;
  regionLeft: number;
  written: number;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** The first segment's flags: CHOWN, CHMOD, MTIME apply at the last. */
  readonly flags: number;
}

const OPEN_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;

/** Makes the writes of batches, in order; keeps the files open across batches. */
export class FileWrites {
  private readonly open = new Map<number, Open>();

  /** Writes one batch: `data` holds its segments' bytes back to back. */
  apply(batch: WriteBatch, data: Uint8Array): WriteAnswer {
    const { nums } = batch;
    const paths = batch.paths.length > 0 ? batch.paths.split('\0') : [];
    const warnings: [number, string][] = [];
    let existed: number[] | undefined;
    const now = Date.now() / 1000; // the atime given with an mtime (a new file's, as the helper leaves it)
    let p = 0;
    let at = 0;
    let seg = 0;
    for (let i = 0; i < nums.length; seg++) {
      const job = nums[i++]!;
      const flags = nums[i++]!;
      const bytes = nums[i++]!;
      let f: Open | undefined;
      try {
        if (flags & FIRST) {
          const openMode = nums[i++]!;
          const mode = nums[i++]!;
          const uid = nums[i++]!;
          const gid = nums[i++]!;
          const size = nums[i++]!;
          const mtime = nums[i++]!;
          const nr = nums[i++]!;
          const regions = nr > 0 ? nums.subarray(i, i + 2 * nr) : undefined;
          i += 2 * nr;
          const path = Buffer.from(paths[p++]!, 'latin1');
          if (flags & DIR) {
            try {
              mkdirSync(path, openMode);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
              (existed ??= []).push(seg);
            }
            continue;
          }
          if (flags & SYMLINK) {
            symlinkSync(Buffer.from(paths[p++]!, 'latin1'), path);
            if (flags & CHOWN) {
              try {
                lchownSync(path, uid, gid);
              } catch (err) {
                if (isFatalWriteError(err)) throw err;
                warnings.push([seg, `owner not set: ${(err as Error).message}`]);
              }
            }
            if (flags & MTIME) lutimesSync(path, now, mtime);
            continue;
          }
          const fd = openSync(path, OPEN_FLAGS, openMode);
          f = { fd, regions, region: 0, pos: regions ? regions[0]! : 0, regionLeft: regions ? regions[1]! : size, written: 0, size, mode, uid, gid, mtime, flags };
          this.open.set(job, f);
        } else {
          f = this.open.get(job);
          if (!f) throw new Error(`internal error: segment of file job ${job} that is not open`);
        }
        if (bytes > 0) write(f, data.subarray(at, at + bytes));
        at += bytes;
        if (flags & LAST) {
          this.open.delete(job);
          try {
            if (f.regions || f.written !== f.size) ftruncateSync(f.fd, f.size);
            if (f.flags & CHOWN) {
              try {
                fchownSync(f.fd, f.uid, f.gid);
              } catch (err) {
                if (isFatalWriteError(err)) throw err;
                warnings.push([seg, `owner not set: ${(err as Error).message}`]);
              }
            }
            if (f.flags & CHMOD) fchmodSync(f.fd, f.mode);
            if (f.flags & MTIME) futimesSync(f.fd, now, f.mtime);
          } finally {
            closeSync(f.fd);
          }
        }
      } catch (err) {
        if (f && this.open.get(job) === f) {
          this.open.delete(job);
          try {
            closeSync(f.fd);
          } catch {
            // the error above is the one reported
          }
        }
        const e = err as NodeJS.ErrnoException;
        return {
          done: seg,
          warnings,
          ...(existed && { existed }),
          error: { seg, message: e.message, ...(e.code !== undefined && { code: e.code }), ...(e.errno !== undefined && { errno: e.errno }), ...(e.syscall !== undefined && { syscall: e.syscall }) },
        };
      }
    }
    return { done: seg, warnings, ...(existed && { existed }) };
  }

  /** Closes the files still open (a failed restore). */
  abandon(): void {
    for (const f of this.open.values()) {
      try {
        closeSync(f.fd);
      } catch {
        // closing is all that is left to do
      }
    }
    this.open.clear();
  }
}

/** Writes `data` at the file's next data position(s): a sparse file's bytes fill its regions in order. */
function write(f: Open, data: Uint8Array): void {
  while (data.length > 0) {
    const r = f.regions;
    if (r) {
      while (f.regionLeft === 0 && 2 * (f.region + 1) < r.length) {
        f.region++;
        f.pos = r[2 * f.region]!;
        f.regionLeft = r[2 * f.region + 1]!;
      }
    }
    const take = Math.min(data.length, f.regionLeft || data.length);
    let off = 0;
    while (off < take) off += writeSync(f.fd, data, off, take - off, f.pos + off);
    f.pos += take;
    f.regionLeft -= Math.min(take, f.regionLeft);
    f.written += take;
    data = data.subarray(take);
  }
}

/** A WriteAnswer's error as an Error with the system error's fields (util/fs-error.ts maps them). */
export function answerError(e: NonNullable<WriteAnswer['error']>): Error {
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  return err;
}

/** An mtime of decimal nanoseconds (a tree node's) as whole seconds when it is one, from 0 to 2^53 (exact through Node's futimes/lutimes); else undefined. */
export function wholeSeconds(mtimeNs: string): number | undefined {
  if (mtimeNs === '0') return 0;
  if (!/^[1-9][0-9]{0,15}000000000$/.test(mtimeNs)) return undefined;
  const s = Number(mtimeNs.slice(0, -9));
  return Number.isSafeInteger(s) ? s : undefined;
}
