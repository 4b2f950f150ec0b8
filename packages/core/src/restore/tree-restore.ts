/**
 * Restore of a tree snapshot to a directory, with every entry's metadata: types, mode
 * (setuid/setgid/sticky), owners (when run as root), extended attributes (capabilities
 * and ACLs included), mtime with nanoseconds, hard links, sparse files (holes left as
 * holes). Order per entry: create, write, chown, chmod, xattrs, mtime; a directory's own
 * metadata is set after its contents (so its mtime is the stored one).
 *
 * Memory: the entries of the directories on the current path, the hard-linked files seen
 * (dev:ino -> path), and a bounded blob cache. Several files are written at a time.
 */
import * as fs from 'node:fs/promises';
import { constants as C } from 'node:fs';
import * as nodePath from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import ignore, { type Ignore } from 'ignore';
import { StowageError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { FsHelper } from '../tree/fs-helper.js';
import { mapLimit } from '../tree/limit.js';
import { decodeExtents, nodeName, symlinkTarget, utf8OrUndefined, type TreeNode } from '../tree/node.js';
import { loadEntries, lookupPath } from '../tree/stored.js';
import { BlobCache } from '../object/blob-cache.js';

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

const CONCURRENCY = 8;
/** Blob bytes loaded ahead per batch of small files. */
const PREFETCH_BYTES = 32 << 20;
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
      await r.dirContents(Buffer.from(dest), entries, '');
      if (top) await r.meta(Buffer.from(dest), top);
    } else {
      // a single file asked for: restored under its name
      await r.entry(Buffer.concat([Buffer.from(dest), Buffer.from('/'), nodeName(top!)]), top!, '');
    }
  } catch (err) {
    throw unwritable(err);
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
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unwritable(err);
    await fs.mkdir(dest, { recursive: true }).catch((e: unknown) => {
      throw unwritable(e);
    });
    return;
  }
  if (names.length > 0 && !overwrite) throw new StowageError('TARGET_EXISTS', `${dest} is not empty (use --overwrite to restore into it)`);
}

/** A file system error while writing the target: TARGET_UNWRITABLE naming the path. */
function unwritable(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof StowageError || typeof e?.code !== 'string' || !e.code.startsWith('E')) return err;
  const why = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EROFS' ? 'read-only file system' : e.message;
  return new StowageError('TARGET_UNWRITABLE', `cannot restore to ${e.path ?? 'the target'}: ${why}`, { cause: err });
}

class TreeRestorer {
  private readonly helper = FsHelper.start();
  private readonly cache: BlobCache;
  private readonly links = new Map<string, Promise<Buffer>>();
  private readonly warnings: string[] = [];
  private readonly include: Ignore | undefined;
  private readonly exclude: Ignore | undefined;
  private readonly root = process.getuid?.() === 0;
  private files = 0;
  private dirs = 0;
  private others = 0;
  private bytes = 0;

  constructor(
    private readonly repo: Repository,
    private readonly opts: TreeRestoreOptions,
  ) {
    this.cache = new BlobCache(repo);
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

  /** Restores `entries` into the existing directory `dir`; `rel` is its path relative to the top. */
  async dirContents(dir: Buffer, entries: readonly TreeNode[], rel: string, included = false): Promise<void> {
    // the files' blobs in batches of PREFETCH_BYTES: frames decoded once, several reads at a time
    for (let i = 0; i < entries.length; ) {
      const ids: Buffer[] = [];
      let bytes = 0;
      let j = i;
      for (; j < entries.length && (j === i || bytes < PREFETCH_BYTES); j++) {
        const n = entries[j]!;
        if (n.type !== 'file' || (n.size ?? 0) > PREFETCH_BYTES) continue;
        for (const e of decodeExtents(n)) {
          ids.push(e.id);
          bytes += e.length;
        }
      }
      await this.cache.prefetch(ids);
      await this.entriesOf(dir, entries.slice(i, j), rel, included);
      i = j;
    }
  }

  private async entriesOf(dir: Buffer, entries: readonly TreeNode[], rel: string, included: boolean): Promise<void> {
    await mapLimit(entries, CONCURRENCY, async (n) => {
      const name = nodeName(n);
      const childRel = rel ? `${rel}/${name.toString()}` : name.toString();
      if (this.exclude?.ignores(n.type === 'dir' ? `${childRel}/` : childRel)) return;
      const inc = included || !this.include || this.include.ignores(n.type === 'dir' ? `${childRel}/` : childRel);
      if (!inc && n.type !== 'dir') return;
      await this.entry(Buffer.concat([dir, Buffer.from('/'), name]), n, childRel, inc);
    });
  }

  /** Restores one entry at `path`. With includes, a directory not included itself is created only if something under it is. */
  async entry(path: Buffer, n: TreeNode, rel: string, included = true): Promise<boolean> {
    this.opts.signal?.throwIfAborted();
    if (this.opts.overwrite) await this.clear(path, n.type === 'dir');
    switch (n.type) {
      case 'dir': {
        const entries = await loadEntries(this.repo, n.tree);
        if (!included) {
          // created only when something under it is included
          await fs.mkdir(path, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          });
          await this.dirContents(path, entries, rel, false);
          const left = await fs.readdir(path);
          if (left.length === 0) {
            await fs.rmdir(path);
            return false;
          }
        } else {
          await fs.mkdir(path, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          });
          await this.dirContents(path, entries, rel, true);
        }
        this.dirs++;
        await this.meta(path, n);
        return true;
      }
      case 'file':
        const link = await this.hardLink(path, n);
        if (link.linked) return true;
        await this.writeFile(path, n, link.first);
        this.files++;
        break;
      case 'symlink':
        await fs.symlink(symlinkTarget(n), path);
        this.others++;
        break;
      case 'fifo':
      case 'char':
      case 'block': {
        const type = n.type === 'fifo' ? S_IFIFO : n.type === 'char' ? S_IFCHR : S_IFBLK;
        try {
          await this.helper.mknod(path, type | (n.mode & 0o7777), n.rdev ?? 0);
        } catch (err) {
          this.warn(path, `${n.type === 'fifo' ? 'FIFO' : 'device'} not created: ${(err as Error).message}`);
          return false;
        }
        this.others++;
        break;
      }
    }
    await this.meta(path, n);
    return true;
  }

  /**
   * Hard links: the first name of a file with several is written (`first` set: call it
   * with the path once created); a later name is linked to it (`linked`).
   */
  private async hardLink(path: Buffer, n: TreeNode): Promise<{ linked: boolean; first?: (p: Buffer) => void }> {
    if (!n.links || n.links < 2) return { linked: false };
    const key = `${n.dev}:${n.ino}`;
    const first = this.links.get(key);
    if (!first) {
      let done!: (p: Buffer) => void;
      this.links.set(key, new Promise((r) => (done = r)));
      return { linked: false, first: done };
    }
    await fs.link(await first, path);
    this.files++;
    return { linked: true };
  }

  /** Replaces what is at `path` (overwrite): anything but a directory that stays a directory. */
  private async clear(path: Buffer, dir: boolean): Promise<void> {
    let st;
    try {
      st = await fs.lstat(path);
    } catch {
      return;
    }
    if (dir && st.isDirectory()) return;
    await fs.rm(path, { recursive: true, force: true });
  }

  private async writeFile(path: Buffer, n: TreeNode, created?: (p: Buffer) => void): Promise<void> {
    const fh = await fs.open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      created?.(path);
      const extents = decodeExtents(n);
      // data regions: the whole file, or the sparse map's regions (holes stay unwritten)
      const regions: [number, number][] = n.sparse ?? [[0, n.size ?? 0]];
      let r = 0;
      let pos = regions[0]?.[0] ?? 0;
      let regionLeft = regions[0]?.[1] ?? 0;
      let written = 0;
      for (let x = 0; x < extents.length; x++) {
        const e = extents[x]!;
        if (x % 64 === 0) await this.cache.prefetch(extents.slice(x, x + 64).map((y) => y.id));
        const blob = await this.cache.get(e.id);
        if (e.offset + e.length > blob.length) throw new StowageError('CORRUPT', `${path.toString()}: extent ${e.offset}+${e.length} past the end of blob ${e.id.toString('hex')}`);
        let data = blob.subarray(e.offset, e.offset + e.length);
        while (data.length > 0) {
          while (regionLeft === 0 && r + 1 < regions.length) {
            r++;
            pos = regions[r]![0];
            regionLeft = regions[r]![1];
          }
          const take = Math.min(data.length, regionLeft || data.length);
          await fh.write(data, 0, take, pos);
          pos += take;
          regionLeft -= Math.min(take, regionLeft);
          written += take;
          data = data.subarray(take);
        }
      }
      const size = n.size ?? 0;
      if (n.sparse || written !== size) await fh.truncate(size);
      this.bytes += written;
      this.opts.progress?.({ op: 'restore', done: this.bytes });
    } finally {
      await fh.close();
    }
  }

  /** Owner, mode, xattrs, mtime (in that order: chown clears setuid bits and capabilities). */
  async meta(path: Buffer, n: TreeNode): Promise<void> {
    if (this.root) {
      try {
        await fs.lchown(path, n.uid, n.gid);
      } catch (err) {
        this.warn(path, `owner not set: ${(err as Error).message}`);
      }
    }
    if (n.type !== 'symlink') await fs.chmod(path, n.mode & 0o7777);
    if (n.xattrs?.length) {
      const text = utf8OrUndefined(path);
      for (const [name, b64] of n.xattrs) {
        const v = Buffer.from(b64, 'base64');
        try {
          if (text !== undefined) await setAttribute(text, name, v);
          else await this.helper.setXattr(path, name, v);
        } catch (err) {
          this.warn(path, `extended attribute ${name} not set: ${(err as Error).message}`);
        }
      }
    }
    await this.helper.setMtime(path, BigInt(n.mtime));
  }
}
