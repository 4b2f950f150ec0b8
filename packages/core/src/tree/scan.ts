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

/** BigInt64 values of one packed lstat. */
export const STAT_FIELDS = 11;
const FIELDS = STAT_FIELDS;
const S_IFMT = 0o170000;

/**
 * An lstat packed in a BigInt64Array (STAT_FIELDS values from `at`), its fields read from it
 * on use: a directory's lstats held while it is walked cost about 100 bytes an entry, where
 * a BigIntStats costs 1-2 KB of heap (18 BigInts and 4 Dates) that outlives young collections.
 */
export class PackedStat implements EntryStat {
  /** The file type bits of the mode. */
  private readonly fmt: number;

  constructor(
    private readonly a: BigInt64Array,
    private readonly at: number,
  ) {
    this.fmt = Number(a[at + 2]!) & S_IFMT;
  }

  get dev(): bigint {
    return this.a[this.at]!;
  }
  get ino(): bigint {
    return this.a[this.at + 1]!;
  }
  get mode(): bigint {
    return this.a[this.at + 2]!;
  }
  get nlink(): bigint {
    return this.a[this.at + 3]!;
  }
  get uid(): bigint {
    return this.a[this.at + 4]!;
  }
  get gid(): bigint {
    return this.a[this.at + 5]!;
  }
  get rdev(): bigint {
    return this.a[this.at + 6]!;
  }
  get size(): bigint {
    return this.a[this.at + 7]!;
  }
  get blocks(): bigint {
    return this.a[this.at + 8]!;
  }
  get mtimeNs(): bigint {
    return this.a[this.at + 9]!;
  }
  get ctimeNs(): bigint {
    return this.a[this.at + 10]!;
  }

  isFile(): boolean {
    return this.fmt === 0o100000;
  }
  isDirectory(): boolean {
    return this.fmt === 0o040000;
  }
  isSymbolicLink(): boolean {
    return this.fmt === 0o120000;
  }
  isFIFO(): boolean {
    return this.fmt === 0o010000;
  }
  isCharacterDevice(): boolean {
    return this.fmt === 0o020000;
  }
  isBlockDevice(): boolean {
    return this.fmt === 0o060000;
  }
  isSocket(): boolean {
    return this.fmt === 0o140000;
  }
}

/** The packed fields, in PackedStat's order. */
const KEYS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const;

function pack(st: BigIntStats, a: BigInt64Array, at: number): void {
  for (let i = 0; i < FIELDS; i++) a[at + i] = st[KEYS[i]!];
}

/**
 * lstat of `path` packed into entry `i` of `into` (STAT_FIELDS values an entry); the
 * BigIntStats is garbage right away. Throws what lstat throws.
 */
export function lstatPacked(path: Buffer, into: BigInt64Array, i: number): PackedStat {
  pack(lstatSync(path, { bigint: true }), into, i * FIELDS);
  return new PackedStat(into, i * FIELDS);
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
  /** The latest ctime (ns) of the entries scanned so far: 0 before any (a hint that something changed since a time). */
  newestCtime = 0n;

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
        if (st.ctimeNs > this.newestCtime) this.newestCtime = st.ctimeNs;
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
