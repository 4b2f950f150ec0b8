/**
 * Restore of a tree snapshot to a directory, with every entry's metadata: types, mode
 * (setuid/setgid/sticky), owners (when run as root), extended attributes (capabilities
 * and ACLs included), mtime with nanoseconds, hard links, sparse files (holes left as
 * holes). Order per entry: create, write, chown, chmod, xattrs, mtime; a directory's own
 * metadata is set after its contents (so its mtime is the stored one).
 *
 * How (a tree of many small files is bound by per-file costs, not bytes):
 * - The walk queues directories, symlinks and files (devices and FIFOs it makes itself, through
 *   the fs helper, once their directory is made). The
 *   queued files' extents, back to back, are read in windows of WINDOW_BYTES across files
 *   and directories (object/read-window.ts: one index lookup per window, pack reads
 *   grouped, every blob decoded and verified once on the codec workers, delta bases
 *   included), WINDOWS_AHEAD windows prepared while one is written.
 * - The files' writes (create, write, truncate, chown, chmod, close), and the making of the
 *   directories and symlinks walked among them (mkdir; symlink, lchown, lutimes), are made per
 *   window on a thread of their own (restore/tree-writer.ts), in walk order (a directory
 *   before what is in it), while this thread walks on and plans the next windows; a file's
 *   or symlink's extended attributes and an mtime with nanoseconds are set here once its
 *   window's answer says it is complete (a directory's metadata once its contents are). A chown or chmod that would set what a new
 *   entry has already is left out when the target passes nothing on (inheritsNothing).
 * - An mtime of whole seconds (tar archives', container layers') is set by the writer on the
 *   open file, or here with lutimes (both exact then: file-writes.ts wholeSeconds); other
 *   mtimes go to the fs helper without a round trip each (its requests are batched and
 *   answered in order). A directory's mtime is set once its contents are complete.
 * - Directory trees are loaded TREE_BATCH subdirectories at a time (one lookup, frames
 *   decoded once, on this thread: the walk needs no codec worker to start), and once a batch
 *   is taken by the walk, its directories' subdirectories (AHEAD_TREES at most in all) load
 *   beside it: a directory with few subdirectories (a root file system's
 *   /usr/share/locale/<language>/, /usr/share/doc/<package>/) no longer costs the walk a
 *   lookup and a read of its own, one after another (on rootfs v5 the walk waited ~480 of its
 *   ~700 ms for trees, in ~220 waits; ~315 ms in ~90 with them loaded ahead).
 *
 * Memory: the entries of the directories on the current path (and of up to two batches of
 * their subdirectories, and of up to AHEAD_TREES directories loaded ahead), the hard-linked
 * files seen (dev:ino), the windows in flight (shared slots). The walk waits while WINDOWS_AHEAD windows wait to be written.
 */
import * as fs from 'node:fs/promises';
import { chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
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
import { buildPlannedWindow, windowRings, type BuiltWindow, type WindowRings } from '../object/read-window.js';
import { WindowPlanner, type CarryOptions } from '../object/window-plan.js';
import { answerError, CHMOD, CHOWN, DIR, encodeBatch, FIRST, LAST, MTIME, SYMLINK, wholeSeconds, type SegmentSpec, type WriteAnswer, type WriteBatch } from './file-writes.js';
import { TreeWriter } from './tree-writer.js';
import { mark, now, timelineSpan } from '../util/timeline.js';

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
/**
 * Windows planned beyond the one being built, and decoded blobs kept for them (object/
 * window-plan.ts): a frame whose members several windows need is decompressed once, its
 * members for later windows kept aside (shared memory, touched only as used).
 */
const CARRY: CarryOptions = { horizon: 4, budget: 16 << 20 };
/** Subdirectories whose trees are loaded in one batch. */
const TREE_BATCH = 64;
/** Directories whose entries are loaded ahead of the walk at most (TreeRestorer.ahead). */
const AHEAD_TREES = 256;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_ISGID = 0o2000;
const SLASH = Buffer.from('/');

/** Restores `snap` (a tree snapshot) into directory `target`. TARGET_EXISTS when it is not empty and no overwrite. */
export async function restoreTree(repo: Repository, snap: Snapshot, target: string, opts: TreeRestoreOptions = {}): Promise<TreeRestoreResult> {
  mark('tree restore start');
  const { node: top, entries } = await lookupPath(repo, snap, opts.subpath ?? '');
  mark('top tree loaded');
  const dest = nodePath.resolve(target);
  const emptied = await prepareTarget(dest, opts.overwrite ?? false);
  const r = new TreeRestorer(repo, opts, emptied && inheritsNothing(dest));
  try {
    if (entries) {
      const kids = await r.contents(Buffer.from(dest), entries, '', false, MADE);
      mark('walk done');
      await r.finish(
        Promise.all(kids).then(() => {
          if (top) r.meta(Buffer.from(dest), top);
        }),
      );
    } else {
      // a single file asked for: restored under its name
      const one = await r.entry(Buffer.concat([Buffer.from(dest), Buffer.from('/'), nodeName(top!)]), top!, '', true, () => Promise.resolve([]), MADE);
      await r.finish(one.done);
    }
  } catch (err) {
    await r.abandon(err);
    throw unwritable(err, dest);
  } finally {
    mark('tree restore finished');
    await r.close();
    mark('tree restore closed');
  }
  return r.result();
}

/** Creates `dest` or checks that it is an empty directory (or overwrite); true when it is empty now. */
async function prepareTarget(dest: string, overwrite: boolean): Promise<boolean> {
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
    return true;
  }
  if (names.length > 0 && !overwrite) throw new StowageError('TARGET_EXISTS', `${dest} is not empty (use --overwrite to restore into it)`);
  return names.length === 0;
}

/**
 * True when what is created in directory `dest` gets exactly the mode asked for minus the
 * umask, and the creator's owner and group: `dest` has no setgid bit (new entries would take
 * its group, new directories the bit) and no default ACL (new entries would take its entries
 * and mask instead of the umask). Then the restore may leave out a chown or chmod that would
 * set what an entry already has (TreeRestorer.made).
 */
function inheritsNothing(dest: string): boolean {
  try {
    if (statSync(dest).mode & S_ISGID) return false;
  } catch {
    return false;
  }
  try {
    return !listAttributesSync(dest).includes('system.posix_acl_default');
  } catch {
    return true; // no extended attributes on this file system: no ACLs either
  }
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

/** An entry the writer makes (a directory, a symlink): settles once it is made. */
interface Made {
  /** Resolves once the entry is made (never rejects: a failure fails the restore). */
  readonly done: Promise<boolean>;
  /** A directory that existed already (overwrite). */
  existed: boolean;
}

/** Made already: the target directory. */
const MADE: Made = { done: Promise.resolve(true), existed: true };

/**
 * An entry the writer makes: a regular file (its content goes through the windows), or a
 * directory or symlink (made in walk order with the files around it).
 */
interface FileJob {
  /** Its number for the writer. */
  readonly id: number;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** A directory's mode to make it with. */
  readonly mode?: number;
  /** A directory's or symlink's state. */
  readonly made?: Made;
  readonly path: Buffer;
  readonly node: TreeNode;
  /** Content bytes written so far. */
  written: number;
  /** The writer sets its mtime (whole seconds). */
  mtimeSet: boolean;
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
  /** Directories whose entries load ahead of the walk (subdirectories of a batch walked into), until the walk takes them. */
  private readonly ahead = new Map<TreeNode, Promise<TreeNode[]>>();
  private readonly warnings: string[] = [];
  private readonly include: Ignore | undefined;
  private readonly exclude: Ignore | undefined;
  private readonly root = process.getuid?.() === 0;
  /**
   * What an entry this restore creates gets without a call, when the target passes on
   * nothing (inheritsNothing): this process's owner and group, the mode asked for minus the
   * umask. Then a chown or chmod that would set exactly that is left out (a rootfs: most
   * entries are root's, most modes 0644/0755). Undefined: every entry gets both calls.
   */
  private readonly made: { readonly uid: number; readonly gid: number; readonly umask: number } | undefined;
  private files = 0;
  private dirs = 0;
  private others = 0;
  private bytes = 0;
  private window: Window = { refs: [], segments: [], bytes: 0 };
  /** Windows dispatched and not built yet. */
  private windowsQueued = 0;
  private readonly planner: WindowPlanner;
  /** Windows given to the planner whose building has not started, with their writer batches, in order. */
  private readonly planned: { readonly w: Window; readonly batch: WriteBatch }[] = [];
  /** Built windows given to the writer, in order. */
  private posted: Promise<void> = Promise.resolve();
  /** Answers of the writer handled, in order. */
  private written: Promise<void> = Promise.resolve();
  private readonly writer = TreeWriter.start();
  private jobs = 0;
  private builds = 0;
  /** Windows being built (read and decoded) now. */
  private building = 0;
  private roomFor: (() => void) | undefined;
  /** Helper requests not answered yet. */
  private helperCalls = 0;
  private helperIdle: (() => void) | undefined;
  private failure: { err: unknown } | undefined;
  private readonly stop = new AbortController();

  constructor(
    private readonly repo: Repository,
    private readonly opts: TreeRestoreOptions,
    clean: boolean,
  ) {
    this.made = clean && process.geteuid && process.getegid ? { uid: process.geteuid(), gid: process.getegid(), umask: process.umask() } : undefined;
    this.pool = repo.codecs();
    this.treePool = repo.codecs(0);
    this.rings = this.pool.maxWorkers > 0 ? windowRings(WINDOW_BYTES, repo.config.chunker.maxSize) : undefined;
    this.planner = new WindowPlanner(repo, this.rings && CARRY);
    if (opts.includes?.length) this.include = ignore().add([...opts.includes]);
    if (opts.excludes?.length) this.exclude = ignore().add([...opts.excludes]);
  }

  result(): TreeRestoreResult {
    return { files: this.files, dirs: this.dirs, others: this.others, bytes: this.bytes, warnings: this.warnings };
  }

  async close(): Promise<void> {
    await this.writer.close();
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
    while (this.planned.length > 0) this.build();
    await this.posted;
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
    await this.posted;
    await this.written;
    await this.writer.abandon();
  }

  /**
   * Restores `entries` into the existing directory `dir` (`rel`: its path relative to the
   * top); resolves once all are walked, to their completions.
   */
  async contents(dir: Buffer, entries: readonly TreeNode[], rel: string, included: boolean, made: Made): Promise<Promise<boolean>[]> {
    const out: Promise<boolean>[] = [];
    // subdirectories' trees, TREE_BATCH at a time, the next batch loading while this one is walked
    const subdirs: number[] = [];
    const names = entries.map((n) => nodeName(n));
    // paths relative to the top only where patterns need them
    const filtered = this.include !== undefined || this.exclude !== undefined;
    const rels = filtered ? names.map((name) => (rel ? `${rel}/${name.toString()}` : name.toString())) : undefined;
    const wanted = rels ? entries.map((n, i) => !this.exclude?.ignores(n.type === 'dir' ? `${rels[i]!}/` : rels[i]!)) : undefined;
    entries.forEach((n, i) => {
      if (n.type === 'dir' && (!wanted || wanted[i])) subdirs.push(i);
    });
    const batches = new Map<number, Promise<TreeNode[][]>>();
    const batch = (b: number): Promise<TreeNode[][]> => {
      let p = batches.get(b);
      if (!p) {
        p = this.trees(subdirs.slice(b * TREE_BATCH, (b + 1) * TREE_BATCH).map((i) => entries[i]!));
        p.catch(() => undefined);
        batches.set(b, p);
      }
      return p;
    };
    let d = 0;
    for (let i = 0; i < entries.length; i++) {
      this.check();
      const n = entries[i]!;
      if (wanted && !wanted[i]) continue;
      const inc = included || !this.include || this.include.ignores(n.type === 'dir' ? `${rels![i]!}/` : rels![i]!);
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
      out.push((await this.entry(Buffer.concat([dir, SLASH, names[i]!]), n, rels ? rels[i]! : '', inc, tree, made)).done);
    }
    return out;
  }

  /**
   * The entries of directories `dirs` (in order): those loaded ahead taken from there, the
   * others loaded in one batch; then the subdirectories of these start loading (ahead), up
   * to AHEAD_TREES directories ahead in all.
   */
  private trees(dirs: readonly TreeNode[]): Promise<TreeNode[][]> {
    const missing = dirs.filter((n) => !this.ahead.has(n));
    const loaded =
      missing.length > 0
        ? loadEntriesOf(
            this.repo,
            this.treePool,
            missing.map((n) => n.tree),
          )
        : Promise.resolve([]);
    let m = 0;
    const parts = dirs.map((n) => {
      const a = this.ahead.get(n);
      if (a) {
        this.ahead.delete(n);
        return a;
      }
      const k = m++;
      return loaded.then((all) => all[k]!);
    });
    const p = Promise.all(parts);
    p.then(
      (all) => this.loadAhead(all),
      () => undefined,
    );
    return p;
  }

  /** Starts loading the subdirectories of directories whose entries are `loaded` (one batch), while fewer than AHEAD_TREES are loaded ahead. */
  private loadAhead(loaded: readonly TreeNode[][]): void {
    if (this.failure) return;
    const next: TreeNode[] = [];
    for (const entries of loaded) {
      for (const n of entries) {
        if (this.ahead.size + next.length >= AHEAD_TREES) break;
        if (n.type === 'dir' && n.tree?.length && !this.ahead.has(n)) next.push(n);
      }
    }
    if (next.length === 0) return;
    const p = loadEntriesOf(
      this.repo,
      this.treePool,
      next.map((n) => n.tree),
    );
    next.forEach((n, k) => {
      const one = p.then((all) => all[k]!);
      one.catch(() => undefined); // the walk gets the failure where it takes the directory
      this.ahead.set(n, one);
    });
  }

  /**
   * Restores one entry at `path` (`tree`: a directory's entries). Resolves once it is walked
   * (a file's content queued). With includes, a directory not included itself is kept only
   * if something under it is.
   */
  async entry(path: Buffer, n: TreeNode, rel: string, included: boolean, tree: () => Promise<TreeNode[]>, parent: Made): Promise<Pending> {
    this.check();
    if (this.opts.overwrite) clear(path, n.type === 'dir');
    switch (n.type) {
      case 'dir': {
        // made by the writer, in walk order before what is in it, with its own mode when
        // nothing is inherited (the owner may always write, to fill it)
        let created: number | undefined = this.made ? (n.mode & 0o777) | 0o700 : 0o700;
        const made = this.queueEntry(path, n, 'dir', created);
        const kids = await this.contents(path, await tree(), rel, included, made);
        return this.after([made.done, ...kids], () => {
          if (!included && readdirSync(path).length === 0) {
            rmdirSync(path);
            return false;
          }
          if (made.existed) created = undefined;
          this.dirs++;
          this.meta(path, n, created);
          return true;
        });
      }
      case 'file':
        return this.file(path, n, parent);
      case 'symlink':
        this.others++;
        return { done: this.queueEntry(path, n, 'symlink', 0o777).done };
      case 'fifo':
      case 'char':
      case 'block':
        return { done: this.special(path, n, parent) };
    }
  }

  /**
   * A FIFO or device node: made by the fs helper once its directory is made (the writer
   * makes directories in walk order), with its metadata; the walk goes on meanwhile. False
   * when left out (warning) or when the restore failed.
   */
  private async special(path: Buffer, n: TreeNode, parent: Made): Promise<boolean> {
    await parent.done; // never rejects; after a failure it may never settle (finish() races the failure)
    if (this.failure) return false;
    const type = n.type === 'fifo' ? S_IFIFO : n.type === 'char' ? S_IFCHR : S_IFBLK;
    try {
      await this.helper.mknod(path, type | (n.mode & 0o7777), n.rdev ?? 0);
    } catch (err) {
      if (isFatalWriteError(err))
        this.fail(withPath(err, path)); // a full or read-only file system fails the restore
      else this.warn(path, `${n.type === 'fifo' ? 'FIFO' : 'device'} not created: ${(err as Error).message}`);
      return false;
    }
    if (this.failure) return false;
    try {
      this.meta(path, n);
    } catch (err) {
      this.fail(err);
      return false;
    }
    this.others++;
    return true;
  }

  /** Runs `then` once every one of `kids` is complete (a failure is recorded, not thrown). */
  private after(kids: readonly Promise<unknown>[], then: () => boolean): Pending {
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

  /**
   * Queues a directory (made with `mode`) or a symlink for the writer, in the current window
   * (written once the window is: in walk order with the files around it).
   */
  private queueEntry(path: Buffer, n: TreeNode, kind: 'dir' | 'symlink', mode: number): Made {
    let resolve!: (ok: boolean) => void;
    const made: Made = { done: new Promise<boolean>((r) => (resolve = r)), existed: false };
    const job: FileJob = { id: this.jobs++, kind, path, node: n, written: 0, mtimeSet: false, resolve, mode, made };
    this.window.segments.push({ job, bytes: 0, first: true, last: true });
    if (this.window.segments.length >= WINDOW_FILES) this.dispatch();
    return made;
  }

  /** A regular file: a later name of a hard-linked file is linked to the first; else its content is queued. */
  private async file(path: Buffer, n: TreeNode, parent: Made): Promise<Pending> {
    const key = n.links && n.links > 1 ? `${n.dev}:${n.ino}` : undefined;
    const first = key ? this.links.get(key) : undefined;
    if (first) {
      return {
        // once the first name is written and this name's directory is made
        done: Promise.all([first, parent.done]).then(([target]) => {
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
    const job: FileJob = { id: this.jobs++, kind: 'file', path, node: n, written: 0, mtimeSet: false, resolve };
    const extents = decodeExtents(n);
    if (extents.length === 0) {
      // nothing to read (empty, or all holes): created with the window's files
      this.window.segments.push({ job, bytes: 0, first: true, last: true });
      if (this.window.segments.length >= WINDOW_FILES) await this.dispatched();
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
        if (w.bytes >= WINDOW_BYTES || w.segments.length >= WINDOW_FILES) await this.dispatched();
      }
    }
    return { done };
  }

  /** Dispatches the queued window; resolves once no more than WINDOWS_AHEAD (beyond the planner's horizon) wait to be built. */
  private async dispatched(): Promise<void> {
    this.dispatch();
    const t0 = now();
    let waited = false;
    while (this.windowsQueued > WINDOWS_AHEAD + this.planner.horizon && !this.failure) {
      waited = true;
      await new Promise<void>((r) => (this.roomFor = r));
    }
    if (waited) timelineSpan('walk waited', t0);
    this.check();
  }

  /** Queues the current window with the planner (its index lookup starts); builds the windows the planner has seen far enough past. */
  private dispatch(): void {
    const w = this.window;
    if (w.segments.length === 0) return;
    this.window = { refs: [], segments: [], bytes: 0 };
    this.planner.add(w.refs);
    this.planned.push({ w, batch: this.batch(w) });
    this.windowsQueued++;
    while (this.planner.queued > this.planner.horizon) this.build();
    this.keepBuilding();
  }

  /**
   * Starts building the oldest queued window when none is being built, planned with the
   * windows queued after it so far: the planner waits for its horizon of windows behind a
   * window (blobs later windows need are kept decoded), and where the walk queues windows
   * slowly (a root file system's last windows: thousands of small files each, walked on this
   * thread) the codec workers and the writer would wait for it, and the last windows were all
   * built only once the walk was done.
   */
  private keepBuilding(): void {
    if (this.building === 0 && this.planner.queued > 0 && !this.failure) this.build();
  }

  /** Starts reading the oldest planned window; the writer gets it after the windows before it. */
  private build(): void {
    const { w, batch } = this.planned.shift()!;
    const t0 = now();
    const wn = this.builds++;
    const built = buildPlannedWindow(this.repo, this.pool, this.planner.next(), this.rings, this.stop.signal, 0, true);
    this.building++;
    built.then(
      () => {
        this.building--;
        this.keepBuilding();
      },
      () => this.building--,
    );
    built.then(
      () => timelineSpan(`window ${wn} built`, t0, { bytes: w.bytes, files: w.segments.length }),
      () => undefined,
    );
    built.catch(() => undefined);
    this.posted = this.posted.then(async () => {
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
      if (this.failure) {
        b.release();
        return;
      }
      // one piece in shared memory (read in place by the writer), else the pieces copied into one
      const data = b.pieces.length === 1 ? b.pieces[0]! : Buffer.concat(b.pieces);
      const t1 = now();
      const answer = this.writer.write(batch, data);
      answer.then(
        () => timelineSpan(`window ${wn} written`, t1),
        () => undefined,
      );
      this.written = this.written.then(() =>
        answer
          .then(
            (a) => this.answered(w, a),
            (err: unknown) => this.fail(err),
          )
          .finally(() => b.release()),
      );
    });
  }

  /** The writer's batch of a window's segments (owner and mode left out where a new file has them already). */
  private batch(w: Window): WriteBatch {
    const specs: SegmentSpec[] = [];
    for (const seg of w.segments) {
      const j = seg.job;
      const flags = (seg.first ? FIRST : 0) | (seg.last ? LAST : 0);
      if (!seg.first) {
        specs.push({ job: j.id, flags, bytes: seg.bytes });
        continue;
      }
      const n = j.node;
      if (j.kind === 'dir') {
        specs.push({ job: j.id, flags: flags | DIR, bytes: 0, path: j.path, openMode: j.mode!, mode: 0, uid: 0, gid: 0, size: 0 });
        continue;
      }
      if (j.kind === 'symlink') {
        const sec = wholeSeconds(n.mtime);
        j.mtimeSet = sec !== undefined;
        const chown = this.root && !this.ownerIs(n);
        specs.push({
          job: j.id,
          flags: flags | SYMLINK | (chown ? CHOWN : 0) | (j.mtimeSet ? MTIME : 0),
          bytes: 0,
          path: j.path,
          target: symlinkTarget(n),
          openMode: 0,
          mode: 0,
          uid: n.uid,
          gid: n.gid,
          size: 0,
          mtime: sec,
        });
        continue;
      }
      const openMode = this.made ? n.mode & 0o777 : 0o600;
      const mtime = wholeSeconds(n.mtime);
      j.mtimeSet = mtime !== undefined;
      specs.push({
        job: j.id,
        flags: flags | (this.root && !this.ownerIs(n) ? CHOWN : 0) | (this.modeIs(n, openMode) ? 0 : CHMOD) | (j.mtimeSet ? MTIME : 0),
        bytes: seg.bytes,
        path: j.path,
        openMode,
        mode: n.mode & 0o7777,
        uid: n.uid,
        gid: n.gid,
        size: n.size ?? 0,
        mtime,
        regions: n.sparse,
      });
    }
    return encodeBatch(specs);
  }

  /** A window's files the writer completed: their xattrs and mtime; its failure fails the restore. */
  private answered(w: Window, a: WriteAnswer): void {
    for (const [i, m] of a.warnings) this.warn(w.segments[i]!.job.path, m);
    if (a.existed) for (const i of a.existed) w.segments[i]!.job.made!.existed = true;
    for (let i = 0; i < a.done && !this.failure; i++) {
      const seg = w.segments[i]!;
      const j = seg.job;
      if (j.made) {
        if (j.kind === 'symlink' && !this.completed(j)) return;
        j.resolve(true);
        continue;
      }
      j.written += seg.bytes;
      if (!seg.last) continue;
      if (!this.completed(j)) return;
      this.files++;
      this.bytes += j.written;
      this.opts.progress?.({ op: 'restore', done: this.bytes });
      j.resolve(true);
    }
    if (a.error) this.fail(withPath(answerError(a.error), w.segments[a.error.seg]!.job.path)); // a write error names the file, not the target folder
  }

  /** What is left of a made file or symlink once the writer answered: its xattrs, an mtime with nanoseconds; false when that failed the restore. */
  private completed(j: FileJob): boolean {
    try {
      this.xattrs(j.path, j.node);
    } catch (err) {
      this.fail(err);
      return false;
    }
    if (!j.mtimeSet) this.mtime(j.path, j.node);
    return true;
  }

  /** True when an entry created by this restore has `n`'s owner already. */
  private ownerIs(n: TreeNode): boolean {
    return this.made !== undefined && n.uid === this.made.uid && n.gid === this.made.gid;
  }

  /** True when an entry created by this restore with mode `created` has `n`'s mode already (setuid/setgid/sticky always set by chmod). */
  private modeIs(n: TreeNode, created: number): boolean {
    return this.made !== undefined && (n.mode & 0o7777) === (created & 0o777 & ~this.made.umask);
  }

  /**
   * Owner, mode, xattrs, mtime of `path` (in that order: chown clears setuid bits and
   * capabilities); `created`: the mode this restore created it with (undefined: it existed).
   */
  meta(path: Buffer, n: TreeNode, created?: number): void {
    if (this.root && !(created !== undefined && this.ownerIs(n))) {
      try {
        lchownSync(path, n.uid, n.gid);
      } catch (err) {
        if (isFatalWriteError(err)) throw withPath(err, path);
        this.warn(path, `owner not set: ${(err as Error).message}`);
      }
    }
    if (n.type !== 'symlink' && !(created !== undefined && this.modeIs(n, created))) chmodSync(path, n.mode & 0o7777);
    this.xattrs(path, n);
    const sec = wholeSeconds(n.mtime);
    if (sec !== undefined)
      lutimesSync(path, Date.now() / 1000, sec); // exact (see wholeSeconds), and no helper request
    else this.mtime(path, n);
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
