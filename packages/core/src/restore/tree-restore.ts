/**
 * Restore of a tree snapshot to a directory, with every entry's metadata: types, mode
 * (setuid/setgid/sticky), owners (when run as root), extended attributes (capabilities
 * and ACLs included), mtime with nanoseconds, hard links, sparse files (holes left as
 * holes). Order per entry: create, write, chown, chmod, xattrs, mtime; a directory's own
 * metadata is set after its contents (so its mtime is the stored one).
 *
 * How (a tree of many small files is bound by per-file costs, not bytes):
 * - The walk creates directories, symlinks and devices as it goes and queues files. The
 *   queued files' extents, back to back, are read in windows of WINDOW_BYTES across files
 *   and directories (object/read-window.ts: one index lookup per window, pack reads
 *   grouped, every blob decoded and verified once on the codec workers, delta bases
 *   included), WINDOWS_AHEAD windows prepared while one is written.
 * - Files below SYNC_WRITE are written, chowned and chmodded with synchronous calls (a
 *   thread-pool round trip per call costs more than the call); larger ones asynchronously.
 * - mtimes go to the fs helper without a round trip each (its requests are batched and
 *   answered in order); a directory's request follows its contents' requests.
 * - Directory trees are loaded TREE_BATCH subdirectories at a time (one lookup, frames
 *   decoded once, on this thread: the walk needs no codec worker to start).
 *
 * Memory: the entries of the directories on the current path (and of up to two batches of
 * their subdirectories), the hard-linked files seen (dev:ino), the windows in flight (shared
 * slots). The walk waits while WINDOWS_AHEAD windows wait to be written.
 */
import * as fs from 'node:fs/promises';
import {
  chmodSync,
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import * as nodePath from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import ignore, { type Ignore } from 'ignore';
import { StowageError } from '../errors.js';
import { isFatalWriteError, targetWriteError } from '../util/fs-error.js';
import { mkdirs } from '../util/mkdirs.js';
import type { ProgressFn } from '../progress.js';
import type { CodecPool } from '../repository/codec-pool.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { FsHelper } from '../tree/fs-helper.js';
import { decodeExtents, nodeName, symlinkTarget, utf8OrUndefined, type Extent, type TreeNode } from '../tree/node.js';
import { loadEntriesOf, lookupPath } from '../tree/stored.js';
import { buildWindow, windowRings, type BuiltWindow, type WindowRings } from '../object/read-window.js';

export interface TreeRestoreOptions {
  /** Restore into a non-empty directory, replacing entries of the same names. */
  readonly overwrite?: boolean;
  /** Part of the snapshot to restore ("" or undefined: all). */
  readonly subpath?: string;
  /** gitignore-style patterns (paths relative to the restored top): only matching entries (and what is under them). */
  readonly includes?: readonly string[];
  /** gitignore-style patterns: entries not restored. */
  readonly excludes?: readonly string[];
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
  readonly onWarning?: (message: string) => void;
}

export interface TreeRestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly others: number;
  readonly bytes: number;
  readonly warnings: readonly string[];
}

/** Plaintext bytes of file content per window. */
const WINDOW_BYTES = 8 << 20;
/** Files per window at most (a window of empty-ish files is still one lookup). */
const WINDOW_FILES = 4096;
/** Windows built (read, decoded) ahead of the one being written. */
const WINDOWS_AHEAD = 2;
/** Files up to this size are written with synchronous calls. */
const SYNC_WRITE = 256 << 10;
/** Subdirectories whose trees are loaded in one batch. */
const TREE_BATCH = 64;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** Restores `snap` (a tree snapshot) into directory `target`. TARGET_EXISTS when it is not empty and no overwrite. */
export async function restoreTree(repo: Repository, snap: Snapshot, target: string, opts: TreeRestoreOptions = {}): Promise<TreeRestoreResult> {
  const { node: top, entries } = await lookupPath(repo, snap, opts.subpath ?? '');
  const dest = nodePath.resolve(target);
  await prepareTarget(dest, opts.overwrite ?? false);
  const r = new TreeRestorer(repo, opts);
  try {
    if (entries) {
      const kids = await r.contents(Buffer.from(dest), entries, '', false);
      await r.finish(
        Promise.all(kids).then(() => {
          if (top) r.meta(Buffer.from(dest), top);
        }),
      );
    } else {
      // a single file asked for: restored under its name
      const one = await r.entry(Buffer.concat([Buffer.from(dest), Buffer.from('/'), nodeName(top!)]), top!, '', true, () => Promise.resolve([]));
      await r.finish(one.done);
    }
  } catch (err) {
    await r.abandon(err);
    throw unwritable(err, dest);
  } finally {
    await r.close();
  }
  return r.result();
}

async function prepareTarget(dest: string, overwrite: boolean): Promise<void> {
  let names: string[];
  try {
    const st = await fs.stat(dest);
    if (!st.isDirectory()) throw new StowageError('TARGET_EXISTS', `${dest} exists and is not a directory`);
    names = await fs.readdir(dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unwritable(err, dest);
    await mkdirs(dest).catch((e: unknown) => {
      throw unwritable(e, dest);
    });
    return;
  }
  if (names.length > 0 && !overwrite) throw new StowageError('TARGET_EXISTS', `${dest} is not empty (use --overwrite to restore into it)`);
}

/** A file system error while writing the target: NO_SPACE or TARGET_UNWRITABLE naming the path (util/fs-error.ts). */
function unwritable(err: unknown, dest: string): unknown {
  const p = (err as { path?: unknown })?.path;
  return targetWriteError(err, `cannot restore to ${p === undefined ? dest : String(p)}`);
}

/** `err` with the path it concerns (write errors of open files, the helper's and xattr calls' errors carry none). */
function withPath(err: unknown, path: Buffer): unknown {
  if (err && typeof err === 'object' && (err as { path?: unknown }).path === undefined) (err as { path?: unknown }).path = path.toString();
  return err;
}

/** An entry being restored: `done` settles once it is complete (true: restored, false: left out). */
interface Pending {
  readonly done: Promise<boolean>;
}

/** A regular file whose content goes through the windows. */
interface FileJob {
  readonly path: Buffer;
  readonly node: TreeNode;
  /** Data regions (the whole file, or a sparse file's regions): where the content bytes go. */
  readonly regions: readonly [number, number][];
  region: number;
  pos: number;
  regionLeft: number;
  written: number;
  fd?: number;
  fh?: fs.FileHandle;
  resolve(ok: boolean): void;
}

/** A run of a file's content bytes inside one window. */
interface Segment {
  readonly job: FileJob;
  readonly bytes: number;
  readonly first: boolean;
  readonly last: boolean;
}

interface Window {
  readonly refs: Extent[];
  readonly segments: Segment[];
  bytes: number;
}

class TreeRestorer {
  private readonly helper = FsHelper.start();
  private readonly pool: CodecPool;
  /** Tree blobs are small: decoded on this thread (the walk starts while the workers start). */
  private readonly treePool: CodecPool;
  private readonly rings: WindowRings | undefined;
  /** First name restored of each hard-linked file (dev:ino), once its content is written. */
  private readonly links = new Map<string, Promise<Buffer | undefined>>();
  private readonly warnings: string[] = [];
  private readonly include: Ignore | undefined;
  private readonly exclude: Ignore | undefined;
  private readonly root = process.getuid?.() === 0;
  private files = 0;
  private dirs = 0;
  private others = 0;
  private bytes = 0;
  private window: Window = { refs: [], segments: [], bytes: 0 };
  /** Windows dispatched and not written yet. */
  private windowsQueued = 0;
  private written: Promise<void> = Promise.resolve();
  private roomFor: (() => void) | undefined;
  /** Helper requests not answered yet. */
  private helperCalls = 0;
  private helperIdle: (() => void) | undefined;
  private failure: { err: unknown } | undefined;
  private readonly stop = new AbortController();
  /** Files open across windows (large ones), closed when abandoned. */
  private readonly open = new Set<FileJob>();

  constructor(
    private readonly repo: Repository,
    private readonly opts: TreeRestoreOptions,
  ) {
    this.pool = repo.codecs();
    this.treePool = repo.codecs(0);
    this.rings = this.pool.maxWorkers > 0 ? windowRings(WINDOW_BYTES, repo.config.chunker.maxSize) : undefined;
    if (opts.includes?.length) this.include = ignore().add([...opts.includes]);
    if (opts.excludes?.length) this.exclude = ignore().add([...opts.excludes]);
  }

  result(): TreeRestoreResult {
    return { files: this.files, dirs: this.dirs, others: this.others, bytes: this.bytes, warnings: this.warnings };
  }

  async close(): Promise<void> {
    await this.helper.close();
  }

  private warn(path: Buffer, what: string): void {
    const m = `${path.toString()}: ${what}`;
    this.warnings.push(m);
    this.opts.onWarning?.(m);
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = { err };
    this.stop.abort(err);
    this.roomFor?.();
  }

  private check(): void {
    if (this.failure) throw this.failure.err;
    this.opts.signal?.throwIfAborted();
  }

  /** After the walk: writes what is queued, waits for `top` (every entry's completion) and every helper call. */
  async finish(top: Promise<unknown>): Promise<void> {
    this.dispatch();
    await this.written;
    this.check();
    await Promise.race([top, new Promise<void>((_, reject) => this.stop.signal.addEventListener('abort', () => reject(this.failure!.err), { once: true }))]);
    while (this.helperCalls > 0) await new Promise<void>((r) => (this.helperIdle = r));
    await this.helper.idle();
    this.check();
  }

  /** After a failure: nothing more is written; waits for the windows in flight (their reads end) and closes open files. */
  async abandon(err: unknown): Promise<void> {
    this.fail(err);
    await this.written;
    for (const j of this.open) await closeJob(j).catch(() => undefined);
    this.open.clear();
  }

  /**
   * Restores `entries` into the existing directory `dir` (`rel`: its path relative to the
   * top); resolves once all are walked, to their completions.
   */
  async contents(dir: Buffer, entries: readonly TreeNode[], rel: string, included: boolean): Promise<Promise<boolean>[]> {
    const out: Promise<boolean>[] = [];
    // subdirectories' trees, TREE_BATCH at a time, the next batch loading while this one is walked
    const subdirs: number[] = [];
    const names = entries.map((n) => nodeName(n));
    const rels = names.map((name) => (rel ? `${rel}/${name.toString()}` : name.toString()));
    const wanted = entries.map((n, i) => !this.exclude?.ignores(n.type === 'dir' ? `${rels[i]!}/` : rels[i]!));
    entries.forEach((n, i) => {
      if (n.type === 'dir' && wanted[i]) subdirs.push(i);
    });
    const batches = new Map<number, Promise<TreeNode[][]>>();
    const batch = (b: number): Promise<TreeNode[][]> => {
      let p = batches.get(b);
      if (!p) {
        p = loadEntriesOf(
          this.repo,
          this.treePool,
          subdirs.slice(b * TREE_BATCH, (b + 1) * TREE_BATCH).map((i) => entries[i]!.tree),
        );
        p.catch(() => undefined);
        batches.set(b, p);
      }
      return p;
    };
    let d = 0;
    for (let i = 0; i < entries.length; i++) {
      this.check();
      const n = entries[i]!;
      if (!wanted[i]) continue;
      const inc = included || !this.include || this.include.ignores(n.type === 'dir' ? `${rels[i]!}/` : rels[i]!);
      if (!inc && n.type !== 'dir') continue;
      let tree = (): Promise<TreeNode[]> => Promise.resolve([]);
      if (n.type === 'dir') {
        const b = Math.floor(d / TREE_BATCH);
        const k = d % TREE_BATCH;
        d++;
        batches.delete(b - 1);
        if (subdirs.length > (b + 1) * TREE_BATCH) void batch(b + 1);
        tree = () => batch(b).then((all) => all[k]!);
      }
      out.push((await this.entry(Buffer.concat([dir, Buffer.from('/'), names[i]!]), n, rels[i]!, inc, tree)).done);
    }
    return out;
  }

  /**
   * Restores one entry at `path` (`tree`: a directory's entries). Resolves once it is walked
   * (a file's content queued). With includes, a directory not included itself is kept only
   * if something under it is.
   */
  async entry(path: Buffer, n: TreeNode, rel: string, included: boolean, tree: () => Promise<TreeNode[]>): Promise<Pending> {
    this.check();
    if (this.opts.overwrite) clear(path, n.type === 'dir');
    switch (n.type) {
      case 'dir': {
        try {
          mkdirSync(path, { mode: 0o700 });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const kids = await this.contents(path, await tree(), rel, included);
        return this.after(kids, () => {
          if (!included && readdirSync(path).length === 0) {
            rmdirSync(path);
            return false;
          }
          this.dirs++;
          this.meta(path, n);
          return true;
        });
      }
      case 'file':
        return this.file(path, n);
      case 'symlink':
        symlinkSync(symlinkTarget(n), path);
        this.others++;
        break;
      case 'fifo':
      case 'char':
      case 'block': {
        const type = n.type === 'fifo' ? S_IFIFO : n.type === 'char' ? S_IFCHR : S_IFBLK;
        try {
          await this.helper.mknod(path, type | (n.mode & 0o7777), n.rdev ?? 0);
        } catch (err) {
          if (isFatalWriteError(err)) throw withPath(err, path); // a full or read-only file system fails the restore
          this.warn(path, `${n.type === 'fifo' ? 'FIFO' : 'device'} not created: ${(err as Error).message}`);
          return { done: Promise.resolve(false) };
        }
        this.others++;
        break;
      }
    }
    this.meta(path, n);
    return { done: Promise.resolve(true) };
  }

  /** Runs `then` once every one of `kids` is complete (a failure is recorded, not thrown). */
  private after(kids: readonly Promise<boolean>[], then: () => boolean): Pending {
    return {
      done: Promise.all(kids).then(() => {
        if (this.failure) return false;
        try {
          return then();
        } catch (err) {
          this.fail(err);
          return false;
        }
      }),
    };
  }

  /** A regular file: a later name of a hard-linked file is linked to the first; else its content is queued. */
  private async file(path: Buffer, n: TreeNode): Promise<Pending> {
    const key = n.links && n.links > 1 ? `${n.dev}:${n.ino}` : undefined;
    const first = key ? this.links.get(key) : undefined;
    if (first) {
      return {
        done: first.then((target) => {
          if (this.failure || target === undefined) return false;
          try {
            linkSync(target, path);
          } catch (err) {
            this.fail(err);
            return false;
          }
          this.files++;
          return true;
        }),
      };
    }
    let resolve!: (ok: boolean) => void;
    const done = new Promise<boolean>((r) => (resolve = r));
    if (key)
      this.links.set(
        key,
        done.then((ok) => (ok ? path : undefined)),
      );
    const job: FileJob = { path, node: n, regions: n.sparse ?? [[0, n.size ?? 0]], region: 0, pos: 0, regionLeft: 0, written: 0, resolve };
    job.pos = job.regions[0]?.[0] ?? 0;
    job.regionLeft = job.regions[0]?.[1] ?? 0;
    const extents = decodeExtents(n);
    if (extents.length === 0) {
      // nothing to read (empty, or all holes): written now
      await this.write({ job, bytes: 0, first: true, last: true }, []);
      return { done };
    }
    let seg = 0;
    let firstSeg = true;
    for (let x = 0; x < extents.length; x++) {
      const e = extents[x]!;
      const w = this.window;
      w.refs.push(e);
      w.bytes += e.length;
      seg += e.length;
      const last = x === extents.length - 1;
      if (last || w.bytes >= WINDOW_BYTES) {
        w.segments.push({ job, bytes: seg, first: firstSeg, last });
        seg = 0;
        firstSeg = false;
        if (w.bytes >= WINDOW_BYTES || w.segments.length >= WINDOW_FILES) {
          this.dispatch();
          while (this.windowsQueued > WINDOWS_AHEAD && !this.failure) await new Promise<void>((r) => (this.roomFor = r));
          this.check();
        }
      }
    }
    return { done };
  }

  /** Starts reading the queued window; it is written after the windows before it. */
  private dispatch(): void {
    const w = this.window;
    if (w.refs.length === 0) return;
    this.window = { refs: [], segments: [], bytes: 0 };
    const built = buildWindow(this.repo, this.pool, w.refs, this.rings, this.stop.signal);
    built.catch(() => undefined);
    this.windowsQueued++;
    this.written = this.written.then(async () => {
      let b: BuiltWindow;
      try {
        b = await built;
      } catch (err) {
        this.fail(err);
        return;
      } finally {
        this.windowsQueued--;
        this.roomFor?.();
      }
      try {
        if (!this.failure) await this.writeWindow(w, b.pieces);
      } catch (err) {
        this.fail(err);
      } finally {
        b.release();
      }
    });
  }

  /** Writes a window's bytes to its files, segment by segment. */
  private async writeWindow(w: Window, pieces: readonly Buffer[]): Promise<void> {
    let p = 0;
    let at = 0;
    for (const seg of w.segments) {
      const bufs: Buffer[] = [];
      let need = seg.bytes;
      while (need > 0) {
        const piece = pieces[p]!;
        const take = Math.min(need, piece.length - at);
        bufs.push(piece.subarray(at, at + take));
        at += take;
        need -= take;
        if (at === piece.length) {
          p++;
          at = 0;
        }
      }
      await this.write(seg, bufs);
      if (this.failure) return;
    }
  }

  /** Writes one segment of a file: created with the first, metadata with the last. */
  private async write(seg: Segment, bufs: readonly Buffer[]): Promise<void> {
    const j = seg.job;
    const size = j.node.size ?? 0;
    const sync = seg.first && seg.last && size <= SYNC_WRITE;
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    if (seg.first) {
      if (sync) j.fd = openSync(j.path, flags, 0o600);
      else {
        j.fh = await fs.open(j.path, flags, 0o600);
        this.open.add(j);
      }
    }
    try {
      for (let data of bufs) {
        while (data.length > 0) {
          while (j.regionLeft === 0 && j.region + 1 < j.regions.length) {
            j.region++;
            j.pos = j.regions[j.region]![0];
            j.regionLeft = j.regions[j.region]![1];
          }
          const take = Math.min(data.length, j.regionLeft || data.length);
          if (j.fd !== undefined) writeAll(j.fd, data.subarray(0, take), j.pos);
          else await writeAllAsync(j.fh!, data.subarray(0, take), j.pos);
          j.pos += take;
          j.regionLeft -= Math.min(take, j.regionLeft);
          j.written += take;
          data = data.subarray(take);
        }
      }
      if (!seg.last) return;
      const fd = j.fd ?? j.fh!.fd;
      if (j.node.sparse || j.written !== size) ftruncateSync(fd, size);
      this.fdMeta(fd, j.path, j.node);
    } catch (err) {
      await closeJob(j).catch(() => undefined);
      this.open.delete(j);
      throw withPath(err, j.path); // a write error names the file, not the target folder
    }
    await closeJob(j);
    this.open.delete(j);
    this.mtime(j.path, j.node);
    this.files++;
    this.bytes += j.written;
    this.opts.progress?.({ op: 'restore', done: this.bytes });
    j.resolve(true);
  }

  /** Owner, mode and xattrs of an open file (chown first: it clears setuid bits and capabilities). */
  private fdMeta(fd: number, path: Buffer, n: TreeNode): void {
    if (this.root) {
      try {
        fchownSync(fd, n.uid, n.gid);
      } catch (err) {
        if (isFatalWriteError(err)) throw withPath(err, path);
        this.warn(path, `owner not set: ${(err as Error).message}`);
      }
    }
    fchmodSync(fd, n.mode & 0o7777);
    this.xattrs(path, n);
  }

  /** Owner, mode, xattrs, mtime of `path` (in that order: chown clears setuid bits and capabilities). */
  meta(path: Buffer, n: TreeNode): void {
    if (this.root) {
      try {
        lchownSync(path, n.uid, n.gid);
      } catch (err) {
        if (isFatalWriteError(err)) throw withPath(err, path);
        this.warn(path, `owner not set: ${(err as Error).message}`);
      }
    }
    if (n.type !== 'symlink') chmodSync(path, n.mode & 0o7777);
    this.xattrs(path, n);
    this.mtime(path, n);
  }

  private xattrs(path: Buffer, n: TreeNode): void {
    if (!n.xattrs?.length) return;
    const text = utf8OrUndefined(path);
    for (const [name, b64] of n.xattrs) {
      const v = Buffer.from(b64, 'base64');
      if (text === undefined) {
        this.helperCall(this.helper.setXattr(path, name, v), (err) =>
          isFatalWriteError(err) ? this.fail(withPath(err, path)) : this.warn(path, `extended attribute ${name} not set: ${err.message}`),
        );
        continue;
      }
      try {
        setAttributeSync(text, name, v);
      } catch (err) {
        // a full or read-only file system fails the restore; unsupported or refused attributes are warnings
        if (isFatalWriteError(err)) throw withPath(err, path);
        this.warn(path, `extended attribute ${name} not set: ${(err as Error).message}`);
      }
    }
  }

  /** Sets the mtime through the helper, without waiting for the answer (finish() waits for all). */
  private mtime(path: Buffer, n: TreeNode): void {
    this.helper.setMtimeQueued(path, n.mtime, (err) => this.fail(withPath(err, path)));
  }

  private helperCall(p: Promise<void>, onError: (err: Error) => void): void {
    this.helperCalls++;
    p.then(
      () => undefined,
      (err: Error) => onError(err),
    ).finally(() => {
      if (--this.helperCalls === 0) this.helperIdle?.();
    });
  }
}

/** Replaces what is at `path` (overwrite): anything but a directory that stays a directory. */
function clear(path: Buffer, dir: boolean): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (dir && st.isDirectory()) return;
  rmSync(path, { recursive: true, force: true });
}

async function closeJob(j: FileJob): Promise<void> {
  if (j.fd !== undefined) {
    const fd = j.fd;
    j.fd = undefined;
    closeSync(fd);
  }
  if (j.fh) {
    const fh = j.fh;
    j.fh = undefined;
    await fh.close();
  }
}

function writeAll(fd: number, data: Buffer, pos: number): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, pos + off);
}

async function writeAllAsync(fh: fs.FileHandle, data: Buffer, pos: number): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off, pos + off)).bytesWritten;
}
