/**
 * Restore targets: a file that appears only when complete (temp file beside it, then
 * rename or no-clobber link; removed on any failure), or a stream written in order. The
 * target is checked before any work (target-check.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { StowageError } from '../errors.js';
import { targetWriteError } from '../util/fs-error.js';
import { checkRestoreTarget } from './target-check.js';

/** Writes pieces of the output, in order. */
export type PieceWriter = (pieces: readonly Buffer[]) => Promise<void>;

/**
 * Runs `fill` with a writer into a temp file beside `target`; when `fill` resolves, the
 * file is put in place (replacing an existing target only with `overwrite`). TARGET_EXISTS
 * when the target exists (checked first, and again atomically at the end).
 */
export async function writeTargetFile<T>(target: string, overwrite: boolean, fill: (write: PieceWriter) => Promise<T>): Promise<T> {
  const { target: abs } = await checkRestoreTarget(target, { overwrite }); // kind, parent folder, writability: before any work
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.stowage-${randomBytes(6).toString('hex')}`);
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(tmp, 'wx', 0o644);
  } catch (err) {
    throw targetWriteError(err, `cannot write restore target ${abs}`);
  }
  let done = false;
  const what = `restore target ${abs}`;
  try {
    let pos = 0;
    const result = await fill(async (pieces) => {
      let want = 0;
      for (const p of pieces) want += p.length;
      const { bytesWritten } = await fh.writev(pieces as Buffer[], pos).catch((err: unknown) => {
        throw targetWriteError(err, what);
      });
      pos += bytesWritten;
      if (bytesWritten === want) return;
      // short write (rare): finish piece by piece
      let skip = bytesWritten;
      for (const p of pieces) {
        if (skip >= p.length) {
          skip -= p.length;
          continue;
        }
        let off = skip;
        skip = 0;
        while (off < p.length) {
          const r = await fh.write(p, off, p.length - off, pos).catch((err: unknown) => {
            throw targetWriteError(err, what);
          });
          off += r.bytesWritten;
          pos += r.bytesWritten;
        }
      }
    });
    try {
      await fh.close(); // (a full disk may show only now)
      if (overwrite) {
        await fs.rename(tmp, abs);
      } else {
        try {
          await fs.link(tmp, abs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new StowageError('TARGET_EXISTS', `target ${abs} appeared during the restore; not replaced`);
          throw err;
        }
        await fs.unlink(tmp);
      }
    } catch (err) {
      throw targetWriteError(err, what);
    }
    done = true;
    return result;
  } finally {
    if (!done) {
      await fh.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
    }
  }
}

/** A writer onto a stream (stdout into `docker load`): resolves when the last piece is flushed. */
export function streamWriter(out: Writable): PieceWriter {
  return (pieces) =>
    new Promise<void>((resolve, reject) => {
      if (pieces.length === 0) return resolve();
      pieces.forEach((p, i) => out.write(p, i === pieces.length - 1 ? (err) => (err ? reject(err) : resolve()) : undefined));
    });
}
