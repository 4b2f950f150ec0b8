/**
 * A tree's directory listings and lstats, read ahead of its snapshot: the CLI starts a scan
 * before it opens the repository, so that the walk's system calls (readdir, lstat of every
 * entry) run while the password's key is derived (scrypt, on another thread), and the
 * snapshot compares with its parent once the key is there. The snapshot takes each scanned
 * directory as its walk reaches it (snapshotTree's `scan` option) and lists the rest itself.
 *
 * - Same order as the walk (depth first, names sorted as bytes), in slices of at most
 *   SLICE_MS of synchronous calls, so the repository's opening goes on between them.
 * - Bounded: at most `maxEntries` entries held (default MAX_ENTRIES), packed (names in one
 *   buffer, the lstat fields the walk reads in a BigInt64Array: about 100 bytes an entry,
 *   where a BigIntStats held costs about 2 KB of heap); the scan stops there, when stop() is
 *   called (the walk starts), or at the end of the tree.
 * - Nothing is judged here: a directory that cannot be listed or an entry that cannot be
 *   lstat'ed keeps its error, which the walk reports as if it had met it itself. The scan
 *   does not descend into directory loops (bind mounts), nor into other file systems with
 *   `oneFileSystem`; exclude patterns are the walk's business (an excluded directory scanned
 *   is never taken).
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';

/** Entries a scan holds at most. */
export const MAX_ENTRIES = 50_000;
const EMPTY = Buffer.alloc(0);
/** Longest slice of synchronous calls before the scan lets the event loop run. */
const SLICE_MS = 2;

/** The lstat fields a tree snapshot reads (a BigIntStats is one). */
export type EntryStat = Pick<
  BigIntStats,
  | 'dev'
  | 'ino'
  | 'mode'
  | 'nlink'
  | 'uid'
  | 'gid'
  | 'rdev'
  | 'size'
  | 'blocks'
  | 'mtimeNs'
  | 'ctimeNs'
  | 'isFile'
  | 'isDirectory'
  | 'isSymbolicLink'
  | 'isFIFO'
  | 'isCharacterDevice'
  | 'isBlockDevice'
  | 'isSocket'
>;

export interface ScannedDir {
  /** Entry names sorted as bytes, or the error listing the directory gave. */
  readonly names: Buffer[] | Error;
  /** lstat of each name (same index), or the error it gave. */
  readonly stats: readonly (EntryStat | Error)[];
}

const FIELDS = 11;
const S_IFMT = 0o170000n;

/** An lstat unpacked from a scan. */
class PackedStat implements EntryStat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly nlink: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly rdev: bigint;
  readonly size: bigint;
  readonly blocks: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;

  constructor(a: BigInt64Array, at: number) {
    this.dev = a[at]!;
    this.ino = a[at + 1]!;
    this.mode = a[at + 2]!;
    this.nlink = a[at + 3]!;
    this.uid = a[at + 4]!;
    this.gid = a[at + 5]!;
    this.rdev = a[at + 6]!;
    this.size = a[at + 7]!;
    this.blocks = a[at + 8]!;
    this.mtimeNs = a[at + 9]!;
    this.ctimeNs = a[at + 10]!;
  }

  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000n;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000n;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000n;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === 0o010000n;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === 0o020000n;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === 0o060000n;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === 0o140000n;
  }
}

/** The packed fields, in PackedStat's order. */
const KEYS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const;

function pack(st: BigIntStats, a: BigInt64Array, at: number): void {
  for (let i = 0; i < FIELDS; i++) a[at + i] = st[KEYS[i]!];
}

/** A directory as held by the scan: names back to back, the lstat fields packed, errors aside. */
interface HeldDir {
  readonly error?: Error;
  readonly names: Buffer;
  /** End of each name in `names`. */
  readonly ends: Uint32Array;
  readonly stats: BigInt64Array;
  /** Entries whose lstat failed, by index. */
  readonly failed?: Map<number, Error>;
}

export interface TreeScanOptions {
  readonly oneFileSystem?: boolean;
  readonly maxEntries?: number;
}

interface Pending {
  readonly path: Buffer;
  /** The device of the input path it is under (oneFileSystem). */
  readonly rootDev: bigint;
  /** dev:ino of this directory and of its ancestors (loops are not entered). */
  readonly ancestors: readonly string[];
}

export class TreeScan {
  private readonly dirs = new Map<string, HeldDir>();
  private readonly todo: Pending[] = [];
  private entries = 0;
  private stopped = false;
  private readonly maxEntries: number;

  /** Starts scanning `paths` (resolved against the working directory; a symlink given is followed, as the snapshot does). */
  constructor(
    paths: readonly string[],
    private readonly opts: TreeScanOptions = {},
  ) {
    this.maxEntries = opts.maxEntries ?? MAX_ENTRIES;
    const tops: Pending[] = [];
    for (const p of paths) {
      const abs = nodePath.resolve(p);
      try {
        const st = statSync(abs, { bigint: true });
        if (st.isDirectory()) tops.push({ path: Buffer.from(abs), rootDev: st.dev, ancestors: [`${st.dev}:${st.ino}`] });
      } catch {
        // the snapshot reports it
      }
    }
    this.todo.push(...tops.reverse());
    if (this.todo.length) setImmediate(() => this.slice());
  }

  /** Directories scanned and not taken. */
  get size(): number {
    return this.dirs.size;
  }

  /** The scan of directory `path` (absolute, as the walk builds it: parent + "/" + name), once; undefined when not scanned. */
  take(path: Buffer): ScannedDir | undefined {
    const k = path.toString('latin1');
    const d = this.dirs.get(k);
    if (d === undefined) return undefined;
    this.dirs.delete(k);
    const n = d.ends.length;
    this.entries -= n;
    if (d.error) return { names: d.error, stats: [] };
    const names: Buffer[] = new Array<Buffer>(n);
    const stats: (EntryStat | Error)[] = new Array<EntryStat | Error>(n);
    for (let i = 0, start = 0; i < n; start = d.ends[i]!, i++) {
      names[i] = d.names.subarray(start, d.ends[i]);
      stats[i] = d.failed?.get(i) ?? new PackedStat(d.stats, i * FIELDS);
    }
    return { names, stats };
  }

  /** Scans no further (what is scanned stays available to take). */
  stop(): void {
    this.stopped = true;
    this.todo.length = 0;
  }

  /** Stops and drops everything scanned. */
  close(): void {
    this.stop();
    this.dirs.clear();
    this.entries = 0;
  }

  private slice(): void {
    const t0 = performance.now();
    while (!this.stopped && this.todo.length && this.entries < this.maxEntries) {
      this.scanOne(this.todo.pop()!);
      if (performance.now() - t0 > SLICE_MS) {
        setImmediate(() => this.slice());
        return;
      }
    }
  }

  private scanOne(dir: Pending): void {
    let names: Buffer[];
    try {
      names = readdirSync(dir.path, { encoding: 'buffer' });
    } catch (err) {
      this.dirs.set(dir.path.toString('latin1'), { error: err as Error, names: EMPTY, ends: new Uint32Array(0), stats: new BigInt64Array(0) });
      return;
    }
    names.sort(Buffer.compare);
    const slash = Buffer.from('/');
    const stats = new BigInt64Array(names.length * FIELDS);
    const ends = new Uint32Array(names.length);
    let failed: Map<number, Error> | undefined;
    const subdirs: Pending[] = [];
    let end = 0;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      ends[i] = end += n.length;
      const path = Buffer.concat([dir.path, slash, n]);
      try {
        const st = lstatSync(path, { bigint: true });
        pack(st, stats, i * FIELDS);
        if (!st.isDirectory() || (this.opts.oneFileSystem && st.dev !== dir.rootDev)) continue;
        const key = `${st.dev}:${st.ino}`;
        if (!dir.ancestors.includes(key)) subdirs.push({ path, rootDev: dir.rootDev, ancestors: [...dir.ancestors, key] });
      } catch (err) {
        (failed ??= new Map()).set(i, err as Error);
      }
    }
    this.dirs.set(dir.path.toString('latin1'), { names: Buffer.concat(names, end), ends, stats, ...(failed && { failed }) });
    this.entries += names.length;
    this.todo.push(...subdirs.reverse());
  }
}
