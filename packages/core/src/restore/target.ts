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
import { DirectWriter } from './direct-writer.js';
import { checkRestoreTarget } from './target-check.js';

/**
 * Writes pieces of the output, in order. `room`: the pieces are one piece in page-aligned
 * memory with that many bytes in front of it free to overwrite (ReadWindow.room), so a
 * file writer may write it with O_DIRECT (direct-writer.ts); streams ignore it.
 */
export type PieceWriter = (pieces: readonly Buffer[], room?: number) => Promise<void>;

/**
 * Runs `fill` with a writer into a temp file beside `target` (whole blocks written with
 * O_DIRECT where the pieces allow it and the file system takes it: direct-writer.ts); when
 * `fill` resolves, the file is put in place (replacing an existing target only with `overwrite`). TARGET_EXISTS
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
    const writer = await DirectWriter.open(tmp, fh);
    let result: T;
    try {
      result = await fill((pieces, room) =>
        writer.write(pieces, room).catch((err: unknown) => {
          throw targetWriteError(err, what);
        }),
      );
      await writer.finish().catch((err: unknown) => {
        throw targetWriteError(err, what);
      });
    } finally {
      await writer.close().catch(() => undefined);
    }
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
