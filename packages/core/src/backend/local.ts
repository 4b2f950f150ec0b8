/**
 * Local directory backend.
 *
 * Durable atomic writes: the bytes go to a temp file in the destination directory,
 * are fsynced, then linked (no-clobber) or renamed (overwrite) into place, and the
 * directory is fsynced. Lock files are written and removed the same way but without the
 * fsyncs: a lock only guards the process that holds it, so after a crash it is
 * stale (lock-rules.ts: its process is gone, the boot differs) or, if its bytes never reached
 * the disk, unreadable, and both are ignored; other processes see it at once either way (the
 * link is atomic, and on NFS close() sends the bytes). That takes two fsyncs off the start of
 * every snapshot and one off its end. Temp files start with "." and are never listed. A file written piece
 * by piece (createTemp: packs while they are built) is a temp file in the type's directory
 * (`data/` for packs) until committed the same way.
 *
 * Modes (restic's rule): key files are 0600 in a 0700 `keys/` (an offline password-guessing
 * target must not be readable by others, whatever the umask); every other file is made
 * read-only after writing (it is immutable): 0444 minus the umask (0444 under umask 022, 0400
 * under 077), and directories are 0755 minus the umask. Group and other never get write
 * access; the umask can only take more away.
 */
import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { StowageError } from '../errors.js';
import { AbstractBackend } from './abstract-backend.js';
import type { BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions, TempFile } from './backend.js';
import { FILE_TYPES } from './backend.js';
import { checkName, dirOf, pathOf } from './layout.js';
import { HandleCache } from './handle-cache.js';
import { mkdirs } from '../util/mkdirs.js';

/** Key files and their directory: owner only. */
const KEY_MODE = 0o600;
const KEY_DIR_MODE = 0o700;
/** Other directories, before the umask. */
const DIR_MODE = 0o755;
/**
 * Files up to this size are written with synchronous calls, all but the fsyncs (snapshot, lock
 * and key files, small index files): each call takes microseconds, where an asynchronous one
 * costs a round trip through libuv's thread pool (0.05-1 ms, more on a loaded machine), and a
 * save is about ten of them. The fsyncs, which wait for the disk, stay asynchronous.
 */
export const SMALL_FILE_BYTES = 64 * 1024;
/** Directory entries stat-ed at once when listing. */
const LIST_STATS_AT_ONCE = 32;

/** Whether files of a type are fsynced (with their directory) when saved and removed: all but lock files (see the header). */
function durable(type: FileType): boolean {
  return type !== 'lock';
}

export class LocalBackend extends AbstractBackend {
  readonly info: BackendInfo;
  readonly root: string;
  /** Read handles of packs, reused by ranged reads. */
  private readonly handles = new HandleCache();

  constructor(root: string) {
    super();
    this.root = path.resolve(root);
    this.info = { location: `local:${this.root}`, connections: 4 };
  }

  private abs(h: Handle): string {
    return path.join(this.root, pathOf(h));
  }

  protected async _save(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions): Promise<void> {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    if (size <= SMALL_FILE_BYTES) return this.saveSmall(h, parts, opts);
    const dest = this.abs(h);
    const dir = path.dirname(dest);
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      // created 0600 (a key keeps that); the others become read-only below
      const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, h.type === 'key' ? KEY_MODE : 0o644);
      try {
        await writeParts(fh, parts, 0, opts.signal);
        await sealFile(fh, h.type);
      } finally {
        await fh.close();
      }
      opts.signal?.throwIfAborted(); // the last moment the file is still invisible
      if (opts.overwrite) {
        await fs.rename(tmp, dest);
      } else {
        await fs.link(tmp, dest);
        await fs.unlink(tmp);
      }
      if (durable(h.type)) await fsyncDir(dir);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** _save of a small file (SMALL_FILE_BYTES): the same steps, synchronous but for the fsyncs. */
  private async saveSmall(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions): Promise<void> {
    const dest = this.abs(h);
    const dir = path.dirname(dest);
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      // created 0600 (a key keeps that); the others become read-only below
      const fd = fsSync.openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, h.type === 'key' ? KEY_MODE : 0o644);
      try {
        for (const data of parts) {
          opts.signal?.throwIfAborted();
          for (let done = 0; done < data.length;) done += fsSync.writeSync(fd, data, done, data.length - done);
        }
        fsSync.fchmodSync(fd, h.type === 'key' ? KEY_MODE : fsSync.fstatSync(fd).mode & 0o444);
        if (durable(h.type)) await fsyncFd(fd);
      } finally {
        fsSync.closeSync(fd);
      }
      opts.signal?.throwIfAborted(); // the last moment the file is still invisible
      if (opts.overwrite) {
        fsSync.renameSync(tmp, dest);
      } else {
        fsSync.linkSync(tmp, dest);
        fsSync.unlinkSync(tmp);
      }
      if (durable(h.type)) await fsyncDir(dir);
    } catch (err) {
      try {
        fsSync.unlinkSync(tmp);
      } catch {
        // never created, or already linked and removed
      }
      throw err;
    }
  }

  /**
   * A file of `type` written piece by piece (Backend.createTemp): a `.tmp-` file in the
   * type's directory (`data/` for packs), linked to its name by commit as `_save` links
   * its temp file (read-only, fsynced, no-clobber, directory fsynced).
   */
  async createTemp(type: FileType, opts: OpOptions = {}): Promise<TempFile> {
    if (!FILE_TYPES.includes(type) || type === 'config') throw new TypeError(`createTemp: bad file type ${JSON.stringify(type)}`);
    opts.signal?.throwIfAborted();
    const tmp = path.join(this.root, dirOf(type), `.tmp-${randomBytes(8).toString('hex')}`);
    const what = { type, name: path.basename(tmp) };
    let fh: fs.FileHandle | undefined;
    try {
      fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, type === 'key' ? KEY_MODE : 0o644);
    } catch (err) {
      throw mapFsError(err, what, 'save');
    }
    let size = 0;
    const drop = async (): Promise<void> => {
      const f = fh;
      fh = undefined;
      await f?.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
    };
    return {
      append: async (parts) => {
        if (!fh) throw new TypeError('TempFile: append after commit or discard');
        try {
          size = await writeParts(fh, parts, size);
        } catch (err) {
          throw mapFsError(err, what, 'save');
        }
      },
      commit: async (name, o = {}) => {
        const h = { type, name };
        checkName(h);
        const f = fh;
        if (!f) throw new TypeError('TempFile: commit after commit or discard');
        const dest = this.abs(h);
        try {
          await sealFile(f, type);
          fh = undefined;
          await f.close();
          o.signal?.throwIfAborted(); // the last moment the file is still invisible
          await fs.link(tmp, dest);
          await fs.unlink(tmp);
          await fsyncDir(path.dirname(dest));
        } catch (err) {
          fh = f;
          await drop();
          throw o.signal?.aborted ? new StowageError('ABORTED', `save ${pathOf(h)}: aborted`, { cause: err }) : mapFsError(err, h, 'save');
        }
      },
      discard: drop,
    };
  }

  protected async _load(h: Handle, range: Range | undefined, opts: OpOptions): Promise<Uint8Array> {
    if (range) {
      const buf = Buffer.allocUnsafe(range.length);
      await this._loadInto(h, range, buf, opts);
      return buf;
    }
    return fs.readFile(this.abs(h), { signal: opts.signal });
  }

  protected override async _loadInto(h: Handle, range: Range, target: Uint8Array, opts: OpOptions): Promise<void> {
    const file = this.abs(h);
    const read = async (fh: fs.FileHandle): Promise<void> => {
      let got = 0;
      while (got < range.length) {
        opts.signal?.throwIfAborted();
        const { bytesRead } = await fh.read(target, got, range.length - got, range.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got !== range.length) {
        throw new StowageError('CORRUPT', `${pathOf(h)}: short read, wanted ${range.length} bytes at offset ${range.offset}, file ends after ${got}`);
      }
    };
    if (h.type === 'pack') return this.handles.with(file, read); // packs never change: reuse handles
    const fh = await fs.open(file, 'r');
    try {
      await read(fh);
    } finally {
      await fh.close();
    }
  }

  protected async _stat(h: Handle): Promise<{ size: number }> {
    const st = await fs.stat(this.abs(h));
    return { size: st.size };
  }

  protected override async _exists(h: Handle): Promise<boolean> {
    try {
      await fs.access(this.abs(h));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  protected async *_list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this._exists({ type, name: 'config' })) yield { name: 'config', size: (await this._stat({ type, name: 'config' })).size };
      return;
    }
    const base = path.join(this.root, dirOf(type));
    const dirs = type === 'pack' ? (await readdirOrEmpty(base)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(base, d)) : [base];
    for (const dir of dirs) {
      const names = (await readdirOrEmpty(dir)).filter((n) => !n.startsWith('.'));
      // a batch of stats at once: one thread-pool round trip per batch, not per file
      for (let i = 0; i < names.length; i += LIST_STATS_AT_ONCE) {
        const batch = names.slice(i, i + LIST_STATS_AT_ONCE);
        const sizes = await Promise.all(
          batch.map(async (name) => {
            try {
              const st = await fs.stat(path.join(dir, name));
              return st.isFile() ? st.size : undefined;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw mapFsError(err, { type, name }, 'list');
              return undefined; // removed meanwhile
            }
          }),
        );
        for (const [j, name] of batch.entries()) if (sizes[j] !== undefined) yield { name, size: sizes[j] };
      }
    }
  }

  protected async _remove(h: Handle): Promise<void> {
    const file = this.abs(h);
    this.handles.evict(file);
    if (durable(h.type)) {
      await fs.unlink(file);
      await fsyncDir(path.dirname(file));
    } else {
      fsSync.unlinkSync(file); // a lock file: one call, no fsync to wait for
    }
  }

  protected async _isEmpty(): Promise<boolean> {
    try {
      return (await fs.readdir(this.root)).length === 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw mapFsError(err, undefined, 'read');
    }
  }

  protected override async _create(): Promise<void> {
    await mkdirs(this.root, DIR_MODE);
    for (const t of FILE_TYPES) {
      if (t === 'config') continue;
      const dir = path.join(this.root, dirOf(t));
      await fs.mkdir(dir, { recursive: true, mode: t === 'key' ? KEY_DIR_MODE : DIR_MODE });
      if (t === 'key') await fs.chmod(dir, KEY_DIR_MODE); // also when it existed
    }
    const data = path.join(this.root, dirOf('pack'));
    for (let i = 0; i < 256; i++) await fs.mkdir(path.join(data, i.toString(16).padStart(2, '0')), { recursive: true, mode: DIR_MODE });
    await fsyncDir(data);
    await fsyncDir(this.root);
    await fsyncDir(path.dirname(this.root));
  }

  protected override async _removeTemporary(types: readonly FileType[]): Promise<number> {
    let n = 0;
    for (const type of types) {
      if (type === 'config') continue;
      const base = path.join(this.root, dirOf(type));
      // packs: their directories, and data/ itself (createTemp's files)
      const dirs = type === 'pack' ? [base, ...(await readdirOrEmpty(base)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(base, d))] : [base];
      for (const dir of dirs) {
        for (const name of await readdirOrEmpty(dir)) {
          if (!name.startsWith('.tmp-')) continue;
          await fs.unlink(path.join(dir, name)).then(
            () => n++,
            () => undefined,
          );
        }
      }
    }
    return n;
  }

  protected override async _close(): Promise<void> {
    await this.handles.close();
  }

  protected override mapError(err: unknown, op: string, h: Handle | undefined): unknown {
    return mapFsError(err, h, op);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Writes `parts` at `off` on; returns the offset after them. */
async function writeParts(fh: fs.FileHandle, parts: readonly Uint8Array[], off: number, signal?: AbortSignal): Promise<number> {
  for (const data of parts) {
    signal?.throwIfAborted();
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, off);
      done += bytesWritten;
      off += bytesWritten;
    }
  }
  return off;
}

/** A written file made immutable and durable: read-only (0644 minus the umask as created, keys stay 0600), fsynced (not a lock file: see the header). */
async function sealFile(fh: fs.FileHandle, type: FileType): Promise<void> {
  if (type === 'key') await fh.chmod(KEY_MODE);
  else await fh.chmod((await fh.stat()).mode & 0o444);
  if (durable(type)) await fh.sync();
}

/** fsync on the thread pool. */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsSync.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsyncs a directory: opened and closed synchronously (microseconds), the fsync itself on the thread pool. */
async function fsyncDir(dir: string): Promise<void> {
  const fd = fsSync.openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}

/** Translates fs errors into StowageErrors; the only place this backend does so (the front door calls it). */
function mapFsError(err: unknown, h: Handle | undefined, op: string): unknown {
  if (err instanceof StowageError) return err;
  const e = err as NodeJS.ErrnoException;
  const what = h ? pathOf(h) : 'repository';
  switch (e.code) {
    case 'ENOENT':
      return new StowageError('NOT_FOUND', `${what}: not found`, { cause: err });
    case 'EEXIST':
      return new StowageError('ALREADY_EXISTS', `${what}: already exists`, { cause: err });
    case 'ABORT_ERR':
      return new StowageError('ABORTED', `${op} ${what}: aborted`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      // the repository's file system (or quota) is full: nothing half-written stays (save removes its temp file)
      return new StowageError('NO_SPACE', `${op} ${what}: no space left on the repository's device`, { cause: err });
    case 'EROFS':
      return new StowageError('BACKEND', `${op} ${what}: read-only file system`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StowageError('BACKEND', `${op} ${what}: permission denied`, { cause: err });
    default:
      if (e.name === 'AbortError') return new StowageError('ABORTED', `${op} ${what}: aborted`, { cause: err });
      return new StowageError('BACKEND', `${op} ${what}: ${e.message}`, { cause: err, retryable: e.code === 'EIO' || e.code === 'EAGAIN' });
  }
}
