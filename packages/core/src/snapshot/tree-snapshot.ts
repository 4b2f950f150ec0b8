/**
 * Snapshot of directories (`stowage snapshot <dir>...`): a depth-first walk that stores
 * each directory as tree blobs (tree/node.ts) and each file's content through the same
 * content writer as tar members (chunker, small-file stream, dedup, frames, deltas).
 *
 * - Streaming: the walk holds the entries of the directories on the current path and the
 *   files whose extents are not cut yet (at most a small-file stream chunk's worth), never
 *   the whole tree. A directory's blob is written once its files' extents are known.
 * - Several reads in flight: the small files of a directory are read ahead (READ_AHEAD
 *   files, READ_AHEAD_BYTES at most) while earlier ones are chunked, in order.
 * - Parent: a file whose size, mtime, ctime, inode and device equal its entry in the
 *   parent snapshot reuses that entry's extents without being read (restic's rule); an
 *   unchanged directory so gives the same tree blob, stored once.
 * - Never aborts on one bad entry: an unreadable file or directory, a file that changes or
 *   vanishes while read, a bind-mount loop become warnings (with a code and the path);
 *   the caller exits 3. Sockets are skipped with a note.
 */
import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { constants as C, readdirSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import * as nodePath from 'node:path';
import { getAttribute, getAttributeSync, listAttributes, listAttributesSync } from '@napi-rs/xattr';
import ignore, { type Ignore } from 'ignore';
import { StowageError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { lockRepository } from '../repository/lock.js';
import { commitSnapshot } from './commit.js';
import type { SplitEvent } from '../split/events.js';
import { ObjectWriter } from '../object/writer.js';
import { Basis, type BasisFile } from '../object/file-map.js';
import { listSnapshots, loadSnapshot, peekSnapshots, resolveSnapshot } from './find.js';
import type { Snapshot, SnapshotManifest } from './manifest.js';
import { manifestHead } from './create.js';
import { FsHelper } from '../tree/fs-helper.js';
import { OwnerNames } from '../tree/owners.js';
import { compareName, decodeExtents, encodeExtents, encodeTreeBlob, nameFields, nodeName, storedExtents, TREE_BLOB_ENTRIES, utf8OrUndefined, type Extent, type TreeNode } from '../tree/node.js';
import { isTreeSnapshot, loadEntries } from '../tree/stored.js';
import { ParentTrees, type OldDir } from '../tree/parent-trees.js';
import { ListOrder } from '../tree/list-order.js';
import { ReadArena } from '../tree/read-arena.js';
import { readAhead, readNow, type ReadAhead } from '../tree/read-file.js';
import { lstatPacked, STAT_FIELDS, type EntryStat, type TreeScan } from '../tree/scan.js';
import { mark } from '../util/timeline.js';
import { prestartCodecWorkers } from '../repository/codec-warm.js';

export type TreeWarningCode =
  /** A file or directory could not be read (permission denied, I/O error): skipped. */
  | 'UNREADABLE'
  /** A file changed while it was read: stored as read. */
  | 'CHANGED_WHILE_READ'
  /** An entry disappeared between listing and reading: skipped. */
  | 'VANISHED'
  /** A directory is its own ancestor (a loop of bind mounts): stored empty, not entered again. */
  | 'LOOP'
  /** Extended attributes could not be read: stored without them. */
  | 'XATTRS_UNREADABLE'
  /** A socket: not stored (a note, not a warning). */
  | 'SOCKET_SKIPPED';

export interface TreeWarning {
  readonly code: TreeWarningCode;
  /** Absolute path of the entry (bytes as text; not valid UTF-8 is replaced). */
  readonly path: string;
  readonly message: string;
  /** Notes (sockets) do not make the snapshot end with warnings. */
  readonly note?: boolean;
}

export interface TreeSnapshotOptions {
  /** Default: the first path's base name. */
  readonly name?: string;
  readonly tags?: readonly string[];
  readonly hostname?: string;
  readonly time?: Date;
  /** Snapshot (id, prefix, "latest") whose unchanged files are reused; default: the latest snapshot of the same paths on this host. */
  readonly parent?: string;
  /** Read every file again (no parent). */
  readonly force?: boolean;
  /** gitignore-style patterns, matched against paths relative to each input path. */
  readonly excludes?: readonly string[];
  /** Directories holding an entry with one of these names are not stored (e.g. CACHEDIR.TAG). */
  readonly excludeIfPresent?: readonly string[];
  /** Do not descend into directories on another file system than their input path. */
  readonly oneFileSystem?: boolean;
  /** Store changed files as deltas against their parent version (default true). */
  readonly delta?: boolean;
  readonly workers?: number;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
  /** Warnings and notes as they happen (they are also returned). */
  readonly onWarning?: (w: TreeWarning) => void;
  /**
   * Directory listings and lstats read ahead (tree/scan.ts, started on the same paths before
   * the repository was opened): taken as the walk reaches them. The snapshot stops the scan
   * when its walk starts and drops what is left at the end.
   */
  readonly scan?: TreeScan;
}

export interface TreeSnapshotResult {
  readonly snapshot: Snapshot;
  readonly warnings: readonly TreeWarning[];
  /** Files whose content was reused from the parent without reading them. */
  readonly filesReused: number;
  readonly filesRead: number;
}

const SLASH = Buffer.from('/');
/** One event for every file's end (the content writer only reads events). */
const END_CONTENT: SplitEvent = { kind: 'end-content' };
/** No extended attributes (shared: never changed). */
const NO_XATTRS: [string, string][] = [];
/** Small files are read whole, several at a time; larger ones are streamed in pieces. */
const SMALL_READ = 1 << 20;
/**
 * Files below this are read with synchronous calls on the walking thread, larger small files
 * ahead on the thread pool: for a tree of tiny files the thread-pool round trips (five per
 * file) cost more CPU than the reads (10,000 files of 50..2,000 bytes: see native-bench tree-bench).
 * A larger small file that was not read ahead (the walk reached it before the read-ahead did)
 * or whose read-ahead is not done when the walk reaches it is read then, synchronously
 * (tree/read-file.ts readNow, readAhead).
 */
const SYNC_READ = 64 << 10;
/** SMALL_READ and SYNC_READ as BigInts (lstat sizes), made once. */
const SMALL_READ_N = BigInt(SMALL_READ);
const SYNC_READ_N = BigInt(SYNC_READ);
const PIECE = 4 << 20;
const READ_AHEAD = 16;
/** The walk lets the event loop run (I/O callbacks: the parent's trees loading) after this many ms of synchronous work. */
const YIELD_MS = 2;
/** Fed small files are handed to the content writer in batches of this many bytes. */
const BATCH_BYTES = 4 << 20;
/** Batches queued for the content writer before the walk waits. */
const MAX_BATCHES = 2;
/**
 * New tree blobs are stored together once this many bytes of them wait (and at the end): one
 * index lookup and one encode job for a few hundred directories, where a job per directory
 * (870 in the v5 rootfs) cost a lookup, an encode slot, a worker round trip and a pack append
 * each. The batch is compressed as one frame (blob-codec.ts frames), which also bounds what a
 * read of one tree blob decodes.
 */
const TREE_SAVE_BYTES = 256 << 10;

interface Stats {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
  bytesRead: number;
  filesRead: number;
  filesReused: number;
}

/** Snapshots directories (and files beside them). INPUT_UNREADABLE when an input path does not exist. */
export async function snapshotTree(repo: Repository, inputs: readonly string[], opts: TreeSnapshotOptions = {}): Promise<TreeSnapshotResult> {
  if (inputs.length === 0) throw new StowageError('INVALID_ARGUMENT', 'no path to snapshot');
  const abs = inputs.map((p) => nodePath.resolve(p));
  const tops: { path: string; st: BigIntStats; name: Buffer }[] = [];
  for (const p of abs) {
    let st: BigIntStats;
    try {
      st = await fs.lstat(p, { bigint: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new StowageError('INPUT_UNREADABLE', `cannot read ${p}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message}`, { cause: err });
    }
    if (st.isSymbolicLink()) {
      // a symlink given as input is followed (as restic and tar do for named arguments)
      try {
        st = await fs.stat(p, { bigint: true });
      } catch (err) {
        throw new StowageError('INPUT_UNREADABLE', `cannot read ${p}: dangling symlink`, { cause: err });
      }
    }
    const name = Buffer.from(p === '/' ? 'root' : nodePath.basename(p));
    if (tops.some((t) => t.name.equals(name)))
      throw new StowageError('INVALID_ARGUMENT', `two paths have the base name "${name.toString()}": snapshot them separately (restore puts each path under its base name)`);
    tops.push({ path: p, st, name });
  }
  if (!tops.some((t) => t.st.isDirectory())) throw new StowageError('INVALID_ARGUMENT', `${abs.join(', ')}: not a directory (snapshot a file with one path, a tree with directories)`);
  const host = opts.hostname ?? osHostname();
  mark('snapshotTree');
  // The lock file is written (fsynced, 25-35 ms on a local disk; a PUT on S3) while the parent
  // is found, its top tree read and its first directories loaded (ParentTrees): reads only,
  // and what they found is used only if the parent still exists once the lock is held (a gc
  // in between could have removed it, and its blobs with it)
  const locking = lockRepository(repo, 'shared');
  locking.catch(() => undefined); // awaited below: its failure is the snapshot's
  let trees = new ParentTrees(repo, repo.codecs(0));
  const early = opts.force ? undefined : readParent(repo, abs, host, opts.parent, tops, trees);
  await using lock = await locking;
  mark('locked');
  let found = await early;
  if (found?.parent && !(await repo.backend.exists({ type: 'snapshot', name: found.parent.id }))) found = undefined;
  if (!found && !opts.force) {
    // not read early (a parent not in the index cache before its sync, a parent gone): found again, under the lock
    trees.stop(); // the early parent's directories are of no use now
    trees = new ParentTrees(repo, repo.codecs(0));
    found = await readParent(repo, abs, host, opts.parent, tops, trees, true);
  }
  const parent = found?.parent;
  mark('parent found');
  const t0 = performance.now();
  const session = new WriteSession(repo, opts.workers === undefined ? {} : { workers: opts.workers });
  const helper = FsHelper.start();
  try {
    const walker = new TreeWalker(repo, session, helper, opts, parent?.id, trees);
    // a codec worker now when the snapshot will store something: no parent (tree blobs at
    // least), or an entry the scan saw changed since the parent was taken (else at the first file read)
    if (!parent || (opts.scan && opts.scan.newestCtime > BigInt(Date.parse(parent.time)) * 1_000_000n)) walker.warm();
    opts.scan?.stop(); // the walk lists the rest itself
    const rootNodes: Promise<TreeNode | undefined>[] = [];
    for (let i = 0; i < tops.length; i++) {
      const t = tops[i]!;
      const old = found?.olds[i];
      rootNodes.push((await walker.entry(Buffer.from(t.path), t.name, '', t.st, old, t.st.dev, new Set())).later);
    }
    mark('walked');
    await walker.finish();
    const top = await walker.saveTree(rootNodes);
    walker.listed.put(top.refs);
    await walker.storeTrees();
    const root = top.ids;
    const written = await walker.object.finish();
    mark('object finished');
    // as file and image snapshots (create.ts): the lock is checked beside the last index file's
    // save, and the snapshot file goes up beside that file's absorption into the index cache
    // (one after the other before: rootfs v1's absorption alone took 47 ms)
    const snapshot = await session.flush(
      () => lock.verify(),
      async (): Promise<Snapshot> => {
        mark('flushed');
        const s = walker.stats;
        const manifest: SnapshotManifest = {
          ...manifestHead(opts, host, opts.name ?? tops[0]!.name.toString()),
          source: { kind: 'dir', path: abs[0]!, size: s.bytes, sha256: '' },
          format: 'tree',
          tree: { paths: abs, root, files: s.files, dirs: s.dirs, others: s.others, bytes: s.bytes },
          content: { chunks: written.chunks, lists: written.lists },
          summary: {
            bytesRead: s.bytesRead,
            bytesNew: written.stats.bytesNew,
            bytesStored: session.stats.storedBytes,
            chunks: written.chunks,
            newChunks: written.stats.newChunks,
            seconds: (performance.now() - t0) / 1000,
            ...(written.stats.deltaCandidates && { deltaCandidates: written.stats.deltaCandidates }),
            ...(session.stats.deltaBlobs && { deltaBlobs: session.stats.deltaBlobs, deltaBytesStored: session.stats.deltaStoredBytes }),
          },
          ...(parent && { parent: parent.id }),
          ...(parent && session.stats.deltaBlobs && { basis: parent.id }),
        };
        return { id: await commitSnapshot(repo, lock, manifest, { verified: true }), ...manifest };
      },
    );
    mark('committed');
    const s = walker.stats;
    return { snapshot, warnings: walker.warnings, filesReused: s.filesReused, filesRead: s.filesRead };
  } catch (err) {
    await session.abort(err);
    throw err;
  } finally {
    opts.scan?.close();
    await helper.close();
  }
}

/**
 * The parent (findParent), its entries of the input paths (`olds`, same index as `tops`) and
 * the loading of their directories started in `trees`. With `strict` false (before the lock),
 * undefined when anything fails (the caller tries again, strictly, under the lock); strictly,
 * the errors of findParent and of the parent's top tree are thrown.
 */
async function readParent(
  repo: Repository,
  paths: readonly string[],
  host: string,
  wanted: string | undefined,
  tops: readonly { name: Buffer }[],
  trees: ParentTrees,
  strict = false,
): Promise<{ parent: Snapshot | undefined; olds: (TreeNode | undefined)[] } | undefined> {
  try {
    // before the lock: the snapshots read while the repository opened (OpenOptions.readSnapshotsEarly), if it read them
    const parent = await findParent(repo, paths, host, wanted, strict ? undefined : await peekSnapshots(repo));
    const top = parent ? await loadEntries(repo, parent.tree!.root) : [];
    const olds = tops.map((t) => top.find((n) => nodeName(n).equals(t.name)));
    trees.preload(olds.filter((o): o is TreeNode => o !== undefined));
    return { parent, olds };
  } catch (err) {
    if (strict) throw err;
    return undefined;
  }
}

/** The parent: `wanted` if given (must be a tree snapshot), else the latest tree snapshot of the same paths on `host`. */
async function findParent(repo: Repository, paths: readonly string[], host: string, wanted: string | undefined, listed?: readonly Snapshot[]): Promise<Snapshot | undefined> {
  if (wanted !== undefined) {
    const s = await loadSnapshot(repo, await resolveSnapshot(repo, wanted));
    if (!isTreeSnapshot(s)) throw new StowageError('INVALID_ARGUMENT', `--parent ${wanted}: snapshot ${s.id.slice(0, 8)} is not a snapshot of directories (format ${s.format ?? 'raw'})`);
    return s;
  }
  const all = listed ?? (await listSnapshots(repo));
  const key = JSON.stringify(paths);
  return all.findLast((s) => isTreeSnapshot(s) && s.hostname === host && JSON.stringify(s.tree!.paths) === key);
}

class TreeWalker {
  readonly stats: Stats = { files: 0, dirs: 0, others: 0, bytes: 0, bytesRead: 0, filesRead: 0, filesReused: 0 };
  readonly warnings: TreeWarning[] = [];
  /** The snapshot's object: every file's bytes back to back, each file's extents handed back. */
  readonly object: ObjectWriter;
  /** The snapshot's chunk-list entries, in walk order. */
  readonly listed = new ListOrder((refs) => this.object.reference(refs));
  private readonly owners = new OwnerNames();
  private readonly ignore: Ignore | undefined;
  /** Old versions of the files in the batch being fed, by path key (delta bases). */
  private readonly oldFiles = new Map<string, BasisFile>();
  private readonly basis: Basis | undefined;
  private events: SplitEvent[] = [];
  private batchBytes = 0;
  /** Memory of the tiny files' bytes in the batches being fed (reused batch to batch). */
  private readonly arena = new ReadArena();
  /** Hard-linked files seen (nlink > 1), by dev:ino: their content, stored once. */
  private readonly linked = new Map<string, Promise<Pick<TreeNode, 'size' | 'content' | 'sparse'>>>();
  /** Detached work in flight (files waiting for their extents, tree blobs being written): a count, not a list (memory). */
  private outstanding = 0;
  private failure: { err: unknown } | undefined;
  private idle: (() => void) | undefined;
  private fileNo = 0;
  /** New tree blobs not stored yet (their ids are known and listed), and their bytes. */
  private treeBlobs: Uint8Array[] = [];
  private treeIds: Buffer[] = [];
  private treeBytes = 0;
  /** The last store of tree blobs (stores run one after another). */
  private treeSaving: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: Repository,
    private readonly session: WriteSession,
    private readonly helper: FsHelper,
    private readonly opts: TreeSnapshotOptions,
    parentId: string | undefined,
    /** The parent's directories, loaded ahead of the walk. */
    private readonly trees: ParentTrees,
  ) {
    this.basis = parentId && opts.delta !== false ? new Basis(parentId, this.oldFiles) : undefined;
    const basis = this.basis;
    this.object = new ObjectWriter(repo, session, { fileExtents: true, ...(basis && { basis: () => Promise.resolve(basis) }) });
    if (opts.excludes?.length) this.ignore = ignore().add([...opts.excludes]);
  }

  private warn(code: TreeWarningCode, path: Buffer, message: string, note = false): void {
    const w: TreeWarning = { code, path: path.toString(), message: `${path.toString()}: ${message}`, ...(note && { note }) };
    this.warnings.push(w);
    this.opts.onWarning?.(w);
  }

  /**
   * Stores one entry (and, for a directory, everything under it). Resolves once the entry
   * is walked (its content fed); `later` resolves to its node once its content is cut
   * and its tree blobs are written (undefined: not stored).
   */
  async entry(
    abs: Buffer,
    name: Buffer,
    rel: string,
    st: EntryStat,
    old: TreeNode | undefined,
    rootDev: bigint,
    ancestors: Set<string>,
    xattrs?: [string, string][],
  ): Promise<Later<TreeNode | undefined>> {
    this.opts.signal?.throwIfAborted();
    if (st.isSocket()) {
      this.warn('SOCKET_SKIPPED', abs, 'socket not stored', true);
      return now(undefined);
    }
    if (old !== undefined && old.type !== 'dir' && this.sameEntry(old, st)) return now(this.reuse(old, st));
    const base = this.baseNode(name, st, xattrs ?? (await this.xattrs(abs)));
    if (st.isSymbolicLink()) {
      if (old?.type === 'symlink' && sameInode(old, st)) {
        // a symlink's target never changes in place (a new target is a new inode)
        this.stats.others++;
        return now({ ...base, type: 'symlink', ...(old.target !== undefined ? { target: old.target } : { targetb: old.targetb! }) });
      }
      let target: Buffer;
      try {
        target = await fs.readlink(abs, { encoding: 'buffer' });
      } catch (err) {
        this.unreadable(abs, err);
        return now(undefined);
      }
      const t = utf8OrUndefined(target);
      this.stats.others++;
      return now({ ...base, type: 'symlink', ...(t !== undefined ? { target: t } : { targetb: target.toString('base64') }) });
    }
    if (st.isFIFO()) {
      this.stats.others++;
      return now({ ...base, type: 'fifo' });
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      this.stats.others++;
      return now({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', rdev: Number(st.rdev) });
    }
    if (st.isDirectory()) return this.dir(abs, rel, st, base, old, rootDev, ancestors);
    if (st.isFile()) return this.file(abs, rel, st, base, old);
    this.warn('UNREADABLE', abs, 'unknown file type: not stored');
    return now(undefined);
  }

  /**
   * The parent's node `old` is this entry as it is now: the same inode unchanged since
   * (ctime: any change of content, mode, owner, link count, xattrs or times moves it), the
   * same type and, for a file, size and mtime (restic's rule), and the same owner names.
   * Such an entry is stored as the parent's node itself (no new object, no xattr or link
   * reads), so an unchanged directory's tree blob is the parent's without encoding it.
   */
  private sameEntry(old: TreeNode, st: EntryStat): boolean {
    return sameInode(old, st) && this.sameBeyondInode(old, st);
  }

  /** sameEntry for an entry whose inode is known to be the same (sameInode): what it checks beyond. */
  private sameBeyondInode(old: TreeNode, st: EntryStat): boolean {
    return old.type === nodeType(st) && (old.type !== 'file' || sameSizeAndMtime(old, st)) && old.user === this.owners.user(old.uid) && old.group === this.owners.group(old.gid);
  }

  /** An entry for which sameEntry(old) holds (not a directory): its stats counted, a file's extents referenced. */
  private reuse(old: TreeNode, st: EntryStat): TreeNode {
    if (old.type !== 'file') {
      this.stats.others++;
      return old;
    }
    this.stats.files++;
    this.prefetched = undefined;
    const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
    if (linkKey && this.linked.has(linkKey)) return old; // content counted with the first name
    if (linkKey) this.reuseContent(old, linkKey);
    else this.listReused(old);
    return old;
  }

  /** The stored content of `old` (unchanged since the parent): counted as reused, its extents listed again. */
  private listReused(old: TreeNode): void {
    this.prefetched = undefined;
    this.stats.filesReused++;
    this.stats.bytes += old.size ?? 0;
    this.listed.put(storedExtents(old)); // as stored: no object per extent (an unchanged repeat lists every file's this way)
  }

  /**
   * The stored content of `old`, a file unchanged since the parent (restic's rule: same size,
   * mtime, ctime, inode): counted as reused, its extents listed again, and kept for the
   * file's other names (`linkKey`). Returns its content fields.
   */
  private reuseContent(old: TreeNode, linkKey: string | undefined): Pick<TreeNode, 'size' | 'content' | 'sparse'> {
    this.listReused(old);
    const c: Pick<TreeNode, 'size' | 'content' | 'sparse'> = { size: old.size ?? 0 }; // no spread (see baseNode)
    if (old.content) c.content = old.content;
    if (old.sparse) c.sparse = old.sparse;
    if (linkKey) this.linked.set(linkKey, Promise.resolve(c));
    return c;
  }

  private baseNode(name: Buffer, st: EntryStat, xattrs: [string, string][]): TreeNode {
    const uid = Number(st.uid);
    const gid = Number(st.gid);
    const user = this.owners.user(uid);
    const group = this.owners.group(gid);
    const mode = Number(st.mode & 0o7777n);
    const mtime = st.mtimeNs.toString();
    const ctime = st.ctimeNs.toString();
    const ino = Number(st.ino);
    const dev = Number(st.dev);
    const links = st.nlink > 1n && !st.isDirectory() ? Number(st.nlink) : undefined;
    const f = nameFields(name);
    // No spread into the literal: V8 builds such an object through a slow path, about 3.5 KB
    // of heap a node instead of about 150 bytes, and nodes live until their directory's blob
    // is written (issue 11, peak RSS). Keys in the same order either way (the tree blob's JSON).
    let node: TreeNode;
    if ('name' in f && user !== undefined && group !== undefined && links === undefined) node = { name: f.name, type: 'file', mode, uid, gid, user, group, mtime, ctime, ino, dev };
    else {
      node = ('name' in f ? { name: f.name } : { nameb: f.nameb }) as TreeNode;
      node.type = 'file';
      node.mode = mode;
      node.uid = uid;
      node.gid = gid;
      if (user !== undefined) node.user = user;
      if (group !== undefined) node.group = group;
      node.mtime = mtime;
      node.ctime = ctime;
      node.ino = ino;
      node.dev = dev;
      if (links !== undefined) node.links = links;
    }
    if (xattrs.length) node.xattrs = xattrs;
    return node;
  }

  private async xattrs(abs: Buffer): Promise<[string, string][]> {
    const text = utf8OrUndefined(abs);
    try {
      const names = text !== undefined ? await listAttributes(text) : await this.helper.listXattrs(abs);
      if (names.length === 0) return NO_XATTRS;
      const out: [string, string][] = [];
      for (const n of [...names].sort()) {
        const v = text !== undefined ? await getAttribute(text, n) : await this.helper.getXattr(abs, n);
        if (v) out.push([n, v.toString('base64')]);
      }
      return out;
    } catch (err) {
      return this.xattrsFailed(abs, err);
    }
  }

  /** xattrsSync: listing and reading on the calling thread (see dir()). */
  private xattrsSync(abs: Buffer): [string, string][] {
    const text = utf8OrUndefined(abs);
    if (text === undefined) return NO_XATTRS; // filled in by entry() through the helper
    try {
      const names = listAttributesSync(text);
      if (names.length === 0) return NO_XATTRS;
      const out: [string, string][] = [];
      for (const n of [...names].sort()) {
        const v = getAttributeSync(text, n);
        if (v) out.push([n, v.toString('base64')]);
      }
      return out;
    } catch (err) {
      return this.xattrsFailed(abs, err);
    }
  }

  /** A failed xattr listing or read: nothing where the file system has no xattrs, else a warning. */
  private xattrsFailed(abs: Buffer, err: unknown): [string, string][] {
    const msg = (err as Error).message;
    if (!/not supported|ENOTSUP|EOPNOTSUPP|95/.test(msg)) this.warn('XATTRS_UNREADABLE', abs, `extended attributes not read: ${msg}`);
    return NO_XATTRS;
  }

  private unreadable(abs: Buffer, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') this.warn('VANISHED', abs, 'vanished while the snapshot was taken: not stored');
    else this.warn('UNREADABLE', abs, `${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.message}: not stored`);
  }

  private excluded(rel: string, dir: boolean): boolean {
    return this.ignore !== undefined && rel !== '' && this.ignore.ignores(dir ? `${rel}/` : rel);
  }

  private async dir(abs: Buffer, rel: string, st: EntryStat, base: TreeNode, old: TreeNode | undefined, rootDev: bigint, ancestors: Set<string>): Promise<Later<TreeNode | undefined>> {
    const key = `${st.dev}:${st.ino}`;
    this.stats.dirs++;
    const node = base;
    node.type = 'dir';
    if (ancestors.has(key)) {
      this.warn('LOOP', abs, 'directory loop (a bind mount of one of its ancestors): stored empty, not entered again');
      return now(node);
    }
    if (this.opts.oneFileSystem && st.dev !== rootDev) return now(node); // a mount point: the directory, not its contents
    const scanned = this.opts.scan?.take(abs);
    let names: Buffer[];
    try {
      if (scanned?.names instanceof Error) throw scanned.names;
      names = scanned ? scanned.names : readdirSync(abs, { encoding: 'buffer' });
    } catch (err) {
      this.unreadable(abs, err);
      return now(undefined);
    }
    if (this.opts.excludeIfPresent?.length && names.some((n) => this.opts.excludeIfPresent!.includes(n.toString()))) {
      this.stats.dirs--;
      return now(undefined);
    }
    if (!scanned) names.sort(Buffer.compare);
    const oldDir = old?.type === 'dir' ? ((await this.trees.take(old)) ?? (await this.trees.load(old))) : undefined;
    const oldEntries = oldDir?.entries ?? [];
    const olds = matchByName(names, oldEntries);
    // an entry's path is made where it is used (held for the directory's walk, a thousand paths outlived young collections)
    const pathOf = (i: number): Buffer => Buffer.concat([abs, SLASH, names[i]!]);
    const relOf = (i: number): string => (rel ? `${rel}/${names[i]!.toString()}` : names[i]!.toString());
    // lstat and xattrs of all entries: synchronous calls, as a tree of small files is bound by
    // them (measured on the v1 rootfs: 2.7 s with thread-pool calls, see the benchmark notes)
    // an entry whose inode and ctime are the parent's has the parent's xattrs (setting one changes the ctime)
    const xattrs: ([string, string][] | undefined)[] = [];
    // entries whose inode is the parent's, unchanged since (sameInode): 1
    const sameInodes = new Uint8Array(names.length);
    // packed: the entries' lstats are held while the directory is walked (see PackedStat)
    const packed = scanned ? undefined : new BigInt64Array(names.length * STAT_FIELDS);
    const stats = names.map((_, i) => {
      let p: Buffer | undefined; // made only when used (an entry scanned and unchanged needs none)
      try {
        const got = scanned?.stats[i];
        if (got instanceof Error) throw got;
        const st = got ?? lstatPacked((p = pathOf(i)), packed!, i);
        const o = olds[i];
        if (o && sameInode(o, st)) {
          sameInodes[i] = 1;
          xattrs[i] = o.xattrs ?? NO_XATTRS;
        } else if (!st.isSocket()) {
          p ??= pathOf(i);
          xattrs[i] = utf8OrUndefined(p) === undefined ? undefined : this.xattrsSync(p);
        }
        return st;
      } catch (err) {
        this.unreadable(p ?? pathOf(i), err);
        return undefined;
      }
    });
    const inner = new Set(ancestors).add(key);
    // the parent's trees of the subdirectories (and below), loaded ahead of the walk
    const oldDirs: TreeNode[] = [];
    stats.forEach((s, i) => {
      const o = s?.isDirectory() ? olds[i] : undefined;
      if (o) oldDirs.push(o);
    });
    this.trees.preload(oldDirs, true);
    // read ahead: small files not reusable from the parent, read while earlier entries are fed
    const reads = new Map<number, ReadAhead>();
    let nextRead = 0;
    let inFlightBytes = 0;
    const refill = (from: number): void => {
      if (nextRead < from) nextRead = from;
      while (nextRead < names.length && reads.size < READ_AHEAD && inFlightBytes < 4 * BATCH_BYTES) {
        const i = nextRead++;
        const s = stats[i];
        if (!s || !s.isFile() || s.size > SMALL_READ_N || s.size < SYNC_READ_N || (this.ignore && this.excluded(relOf(i), false))) continue;
        if (this.unchanged(olds[i], s)) continue;
        if (s.nlink > 1n && this.linked.has(`${s.dev}:${s.ino}`)) continue;
        inFlightBytes += Number(s.size);
        reads.set(i, readAhead(pathOf(i), s));
      }
    };
    // nodes known now (an unchanged entry: the parent's) as they are, no promise each
    const children: (TreeNode | Promise<TreeNode | undefined>)[] = [];
    for (let i = 0; i < names.length; i++) {
      refill(i + 1);
      if (performance.now() - this.ranSince > YIELD_MS) {
        // entries taken from the parent cost no I/O: without a turn of the event loop now and
        // then, the parent's trees loading ahead would wait for the walk to block on one
        await new Promise((r) => setImmediate(r));
        this.ranSince = performance.now();
      }
      const s = stats[i];
      if (!s) continue;
      const childRel = this.ignore ? relOf(i) : undefined; // else made only when used
      if (childRel !== undefined && this.excluded(childRel, s.isDirectory())) continue;
      const ahead = reads.get(i);
      if (ahead) {
        reads.delete(i);
        inFlightBytes -= Number(s.size);
        this.prefetched = ahead;
      }
      const o = olds[i];
      if (o !== undefined && o.type !== 'dir' && sameInodes[i] === 1 && this.sameBeyondInode(o, s)) {
        // what entry() does first, without making its path and relative path or calling it: in an
        // unchanged repeat every entry but the directories goes this way
        this.opts.signal?.throwIfAborted();
        children.push(this.reuse(o, s));
      } else children.push((await this.entry(pathOf(i), names[i]!, childRel ?? relOf(i), s, o, rootDev, inner, xattrs[i])).later);
      this.prefetched = undefined;
    }
    for (const o of oldDirs) void this.trees.take(o); // those not walked (excluded, no longer directories)
    const same = old !== undefined && oldDir !== undefined && this.sameEntry(old, st) ? oldDir : undefined;
    const listedAt = this.listed.reserve(); // the directory's tree blobs come after its entries'
    // a method, not a closure here: a closure would keep this call's locals (names, paths,
    // lstats) alive until the entries' extents are known
    return { later: this.detach(this.dirDone(node, children, old, same, listedAt)) };
  }

  /** Directory `node` once its entries are: its tree blobs written and listed at `listedAt`; the parent's node `old` itself when the directory is `same` as it. */
  private async dirDone(node: TreeNode, children: (TreeNode | Promise<TreeNode | undefined>)[], old: TreeNode | undefined, same: OldDir | undefined, listedAt: number): Promise<TreeNode> {
    const { ids, refs } = await this.saveTree(children, old?.type === 'dir' ? old.tree : undefined, same);
    this.listed.fill(listedAt, refs);
    if (same && old && ids === old.tree) return old; // the parent's directory, all of it
    node.tree = ids;
    return node;
  }

  private prefetched: ReadAhead | undefined;
  /** A codec worker was started (or not needed): see warm. */
  private warmed = false;

  /**
   * Starts a codec worker (codec-warm.ts; the pool takes it at its first encode job) unless the
   * pool has one or runs inline; once (snapshotTree, or the walk at its first file read). Its
   * start (about 50 ms) came after the first small-file batch was cut (up to BATCH_BYTES
   * later), and the walk's first large file then waited for it; a walk that reads nothing (an
   * unchanged tree) starts none.
   */
  warm(): void {
    this.warmed = true;
    const pool = this.repo.codecs(this.opts.workers);
    if (pool.maxWorkers > 0 && pool.size === 0) prestartCodecWorkers(1);
  }
  /** The buffer large files are read into, piece by piece (allocated at the first). */
  private piece: Buffer | undefined;
  /** When the walk last let the event loop run (see YIELD_MS). */
  private ranSince = performance.now();

  private unchanged(old: TreeNode | undefined, st: EntryStat): old is TreeNode {
    return old !== undefined && old.type === 'file' && sameSizeAndMtime(old, st) && old.ctime === st.ctimeNs.toString() && old.ino === Number(st.ino) && old.dev === Number(st.dev);
  }

  private async file(abs: Buffer, rel: string, st: EntryStat, base: TreeNode, old: TreeNode | undefined): Promise<Later<TreeNode | undefined>> {
    this.stats.files++;
    const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
    const seen = linkKey ? this.linked.get(linkKey) : undefined;
    if (seen) {
      this.prefetched = undefined;
      return { later: this.detach(seen.then((c) => withContent(base, c))) };
    }
    if (this.unchanged(old, st)) return now(withContent(base, this.reuseContent(old, linkKey)));
    // not detached: `later` never rejects, and its directory's blob waits for it (a file's
    // promises and closures live until its extents are cut: as few as possible, see readAndFeed)
    const later = (await this.readAndFeed(abs, rel, st, base, old, this.listed.reserve())).later;
    if (linkKey)
      this.linked.set(
        linkKey,
        later.then((n) => (n ? contentOf(n) : { size: 0 })),
      );
    return { later };
  }

  /**
   * Reads a file and feeds it; resolves (once fed) to its node (`base` with its content
   * fields), or undefined if unreadable. Its extents (none: unreadable) fill place
   * `listedAt` of the chunk lists. What waits here for the extents outlives the young
   * generation (they are known once the content writer cut the small-file chunk, about a
   * thousand tiny files later): one promise and one closure a file.
   */
  private async readAndFeed(abs: Buffer, rel: string, st: EntryStat, base: TreeNode, old: TreeNode | undefined, listedAt: number): Promise<Later<TreeNode | undefined>> {
    if (!this.warmed) this.warm();
    const pre = this.prefetched;
    this.prefetched = undefined;
    const sparse = st.size > 0n && st.blocks * 512n < st.size ? await this.helper.dataRegions(abs).catch(() => undefined) : undefined;
    const holes = sparse !== undefined && sparse.reduce((a, [, l]) => a + l, 0) < Number(st.size);
    if (!holes && st.size <= SMALL_READ_N) {
      // a file not read ahead, or whose read-ahead is still under way, is read now: the walk
      // does not wait on the thread pool's round trips (see readAhead)
      const r = pre?.result ?? (pre?.cancel(), readNow(abs, st, this.arena));
      if (r.error) {
        this.stats.files--;
        this.unreadable(abs, r.error);
        this.listed.fill(listedAt, []);
        return now(undefined);
      }
      if (r.changed) this.warn('CHANGED_WHILE_READ', abs, 'changed while it was read: stored as read');
      this.stats.filesRead++;
      this.stats.bytesRead += r.data.length;
      this.stats.bytes += r.data.length;
      const size = r.data.length;
      const later = this.feedWhole(rel, r.data, old).then((ext): TreeNode => {
        this.listed.fill(listedAt, ext);
        return withContent(base, { size, content: encodeExtents(ext) });
      });
      // backpressure: the walk waits while the content writer is MAX_BATCHES batches behind (memory)
      while (this.batchesQueued >= MAX_BATCHES) await this.batching;
      return { later };
    }
    // large or sparse: streamed in pieces
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(abs, C.O_RDONLY | C.O_NOFOLLOW);
    } catch (err) {
      this.stats.files--;
      this.unreadable(abs, err);
      this.listed.fill(listedAt, []);
      return now(undefined);
    }
    try {
      const regions: [number, number][] = holes ? sparse! : [[0, Number(st.size)]];
      const dataBytes = regions.reduce((a, [, l]) => a + l, 0);
      await this.flushBatch();
      const oldKey = await this.startFile(rel, dataBytes, old);
      const extentsP = this.object.expect(dataBytes);
      let got = 0;
      let short = false;
      for (const [off, len] of regions) {
        let pos = off;
        while (pos < off + len) {
          this.opts.signal?.throwIfAborted();
          const want = Math.min(PIECE, off + len - pos);
          // one buffer for every piece of every large file: the content writer is done with a
          // piece once process() resolved (it copies what it keeps); a fresh 4 MiB buffer per
          // piece was a fresh mapping each time, its pages faulted in and zeroed by the kernel
          const buf = (this.piece ??= Buffer.allocUnsafeSlow(PIECE));
          const n = (await fh.read(buf, 0, want, pos)).bytesRead;
          if (n === 0) {
            short = true;
            break;
          }
          await this.object.process([{ kind: 'content', bytes: buf.subarray(0, n) }]);
          got += n;
          pos += n;
          this.stats.bytesRead += n;
          this.opts.progress?.({ op: 'snapshot', done: this.stats.bytesRead });
        }
        if (short) break;
      }
      if (got < dataBytes) {
        // truncated while read: what was read is the content, the size says so
        this.warn('CHANGED_WHILE_READ', abs, `truncated while it was read (${got} of ${dataBytes} bytes): stored as read`);
        this.object.shrinkLast(dataBytes - got);
      } else {
        const after = await fh.stat({ bigint: true });
        if (after.nlink === 0n) this.warn('CHANGED_WHILE_READ', abs, 'deleted while it was read: stored as read');
        else if (after.mtimeNs !== st.mtimeNs || after.size !== st.size) this.warn('CHANGED_WHILE_READ', abs, 'changed while it was read: stored as read');
      }
      await this.object.process([{ kind: 'end-content' }]);
      if (oldKey !== undefined) this.oldFiles.delete(oldKey);
      this.stats.filesRead++;
      this.stats.bytes += got;
      const size = got < dataBytes ? (holes ? Number(st.size) : got) : Number(st.size);
      return {
        later: extentsP.then((ext): TreeNode => {
          this.listed.fill(listedAt, ext);
          return withContent(base, holes ? { size, content: encodeExtents(ext), sparse: regions } : { size, content: encodeExtents(ext) });
        }),
      };
    } catch (err) {
      if (err instanceof StowageError) throw err;
      const e = err as NodeJS.ErrnoException;
      if (!e.code) throw err;
      throw new StowageError('INPUT_UNREADABLE', `cannot read ${abs.toString()}: ${e.message}`, { cause: err });
    } finally {
      await fh.close();
    }
  }

  /** A large file's start: its old version offered as delta basis (until its end, see readAndFeed), its 'file' event fed. */
  private async startFile(rel: string, size: number, old: TreeNode | undefined): Promise<string | undefined> {
    const name = `${++this.fileNo}:${rel}`;
    const offered = this.offerOld(old);
    await this.object.process([{ kind: 'file', name, size, key: offered?.key ?? null }]);
    return offered?.mapKey;
  }

  /**
   * The parent's version of the file fed next (number `fileNo`), offered to the content writer
   * as delta basis until the batch that holds it was processed; returns its key (given with the
   * file's event) and its key in oldFiles. The key is the file's number in this walk, not a
   * hash of its name: unique, and a tree snapshot keeps no file map (whose records hold path
   * keys for later snapshots).
   */
  private offerOld(old: TreeNode | undefined): { key: Buffer; mapKey: string } | undefined {
    if (!this.basis || old?.type !== 'file' || !old.content) return undefined;
    const ext = decodeExtents(old);
    const key = Buffer.alloc(16);
    key.writeDoubleLE(this.fileNo);
    const mapKey = key.toString('latin1');
    this.oldFiles.set(mapKey, { ids: ext.map((e) => Buffer.from(e.id)), lengths: ext.map((e) => e.length), size: ext.reduce((a, e) => a + e.length, 0) });
    return { key, mapKey };
  }

  /** Queues a small file's bytes; the batch is fed when large enough. */
  private feedWhole(rel: string, data: Buffer, old: TreeNode | undefined): Promise<Extent[]> {
    const name = `${++this.fileNo}:${rel}`;
    const offered = this.offerOld(old);
    if (offered) this.batchOld.push(offered.mapKey);
    const extents = this.object.expect(data.length);
    // the key hashed once; null: no old version offered, nothing for the content writer to look up
    this.events.push({ kind: 'file', name, size: data.length, key: offered?.key ?? null });
    if (data.length) this.events.push({ kind: 'content', bytes: data });
    this.events.push(END_CONTENT);
    this.batchBytes += data.length;
    if (this.batchBytes >= BATCH_BYTES || this.events.length >= 3000) void this.detach(this.flushBatch());
    return extents;
  }

  private batching: Promise<void> = Promise.resolve();
  private batchesQueued = 0;
  /** Path keys of the old versions offered for the files of the batch being filled (dropped once it was processed). */
  private batchOld: string[] = [];

  /** Feeds the queued small files to the content writer (in order, one batch at a time). */
  flushBatch(): Promise<void> {
    const events = this.events;
    const old = this.batchOld;
    this.events = [];
    this.batchOld = [];
    this.batchBytes = 0;
    this.batchesQueued++;
    const release = this.arena.seal();
    const p = this.batching
      .then(async () => {
        if (events.length) await this.object.process(events);
        // this batch's old versions only: the walk offers the next batch's while this one is processed
        for (const k of old) this.oldFiles.delete(k);
      })
      .finally(() => {
        release(); // the content writer copied the batch's bytes
        this.batchesQueued--;
      });
    this.batching = p;
    return p;
  }

  private detach<T>(p: Promise<T>): Promise<T> {
    this.outstanding++;
    p.then(
      () => this.settled(),
      (err: unknown) => {
        this.failure ??= { err };
        this.trees.stop();
        this.settled();
      },
    );
    return p;
  }

  private settled(): void {
    if (--this.outstanding === 0) this.idle?.();
  }

  /** Feeds what is queued and cuts the last chunks: every fed file's extents resolve. */
  async finish(): Promise<void> {
    await this.flushBatch();
    await this.object.end();
    // tree blobs written in the meantime: wait for all (rethrows the first failure)
    while (this.outstanding > 0) await new Promise<void>((r) => (this.idle = r));
    if (this.failure) throw this.failure.err;
    if (this.listed.waiting) throw new Error(`internal error: ${this.listed.waiting} places of the chunk lists never filled`);
  }

  /** A new tree blob to store: stored with others once TREE_SAVE_BYTES of them wait (a failure is thrown by finish). */
  private queueTreeBlob(blob: Uint8Array, id: Buffer): void {
    this.treeBlobs.push(blob);
    this.treeIds.push(id);
    this.treeBytes += blob.length;
    if (this.treeBytes >= TREE_SAVE_BYTES) void this.detach(this.storeTrees());
  }

  /** Stores the tree blobs waiting (after the stores before); resolves once they are in the write session. */
  storeTrees(): Promise<void> {
    const blobs = this.treeBlobs;
    const ids = this.treeIds;
    this.treeBlobs = [];
    this.treeIds = [];
    this.treeBytes = 0;
    const p = this.treeSaving.then(async () => {
      if (blobs.length) await this.session.saveChunks('list', blobs, ids);
    });
    this.treeSaving = p.catch(() => undefined); // rejections go to the caller (detach: finish)
    return p;
  }

  /**
   * Writes entries as tree blobs (TREE_BLOB_ENTRIES each); returns their hex ids and their
   * chunk-list entries (for the caller to list in walk order). New blobs are stored with
   * others (queueTreeBlob; storeTrees after the last). A blob equal to the parent's
   * (`oldTree`: the directory's blobs in the parent snapshot) is stored already: no index
   * lookup. When the entries are the parent's nodes themselves (`same`: the parent's
   * directory as loaded, a one-blob directory), returns `oldTree` itself without encoding anything.
   */
  async saveTree(nodes: readonly (TreeNode | Promise<TreeNode | undefined>)[], oldTree?: string[], same?: OldDir): Promise<{ ids: string[]; refs: Extent[] }> {
    const done: TreeNode[] = [];
    for (const n of nodes) {
      // in order; a rejection of a later one is handled meanwhile (detach: the walk's failure)
      const v = n instanceof Promise ? await n : n;
      if (v !== undefined) done.push(v);
    }
    if (same && oldTree?.length === 1 && same.bytes > 0 && done.length === same.entries.length && done.every((n, i) => n === same.entries[i])) {
      // every entry is the parent's node (sameEntry), in the parent's order: the parent's blob, not encoded again
      return { ids: oldTree, refs: [{ id: Buffer.from(oldTree[0]!, 'hex'), offset: 0, length: same.bytes }] };
    }
    const ids: string[] = [];
    const refs: Extent[] = [];
    for (let i = 0; i < done.length || i === 0; i += TREE_BLOB_ENTRIES) {
      const blob = encodeTreeBlob(done.slice(i, i + TREE_BLOB_ENTRIES));
      const id = this.repo.codec.id(blob);
      if (oldTree?.[ids.length] !== id.toString('hex')) this.queueTreeBlob(blob, id);
      refs.push({ id, offset: 0, length: blob.length });
      ids.push(id.toString('hex'));
    }
    return { ids, refs };
  }
}

/**
 * The parent's entry of each name (same index; undefined: none): a merge of the two lists,
 * both sorted by name bytes (an entry out of order in a damaged parent only goes unmatched:
 * read again).
 */
function matchByName(names: readonly Buffer[], old: readonly TreeNode[]): (TreeNode | undefined)[] {
  const out = new Array<TreeNode | undefined>(names.length);
  let j = 0;
  for (let i = 0; i < names.length && j < old.length; i++) {
    let c = compareName(names[i]!, old[j]!);
    while (c > 0 && ++j < old.length) c = compareName(names[i]!, old[j]!);
    if (j >= old.length) break;
    if (c === 0) out[i] = old[j];
  }
  return out;
}

/** The content fields of a file's node (what its other hard-linked names get). */
function contentOf(n: TreeNode): Pick<TreeNode, 'size' | 'content' | 'sparse'> {
  const c: Pick<TreeNode, 'size' | 'content' | 'sparse'> = { size: n.size ?? 0 };
  if (n.content !== undefined) c.content = n.content;
  if (n.sparse !== undefined) c.sparse = n.sparse;
  return c;
}

/** `base` (a new node of this walk, not shared) with content fields `c`, in the order contentOf gives them; no spread (see baseNode). */
function withContent(base: TreeNode, c: Pick<TreeNode, 'size' | 'content' | 'sparse'>): TreeNode {
  base.size = c.size;
  if (c.content !== undefined) base.content = c.content;
  if (c.sparse !== undefined) base.sparse = c.sparse;
  return base;
}

/** The node type of an lstat (sockets and unknown types: undefined). */
function nodeType(st: EntryStat): TreeNode['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return undefined;
}

/** The parent's file `o` has `st`'s size and mtime (with the same inode and ctime: its content is unchanged). */
function sameSizeAndMtime(o: TreeNode, st: EntryStat): boolean {
  return o.size === Number(st.size) && o.mtime === st.mtimeNs.toString();
}

/** The parent's node `o` is of the same inode, unchanged since (ctime: any change of content or metadata moves it). */
function sameInode(o: TreeNode, st: EntryStat): boolean {
  return o.ino === Number(st.ino) && o.ctime === st.ctimeNs.toString() && o.dev === Number(st.dev) && (o.type === 'dir') === st.isDirectory() && (o.type === 'symlink') === st.isSymbolicLink();
}

/** A value available later, wrapped so that awaiting the wrapper does not wait for it. */
interface Later<T> {
  readonly later: Promise<T>;
}

function now<T>(v: T): Later<T> {
  return { later: Promise.resolve(v) };
}
