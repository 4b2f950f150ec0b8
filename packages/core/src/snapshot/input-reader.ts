/**
 * Reading a snapshot's input file: pieces in a small ring of shared-memory slots, the next
 * piece read while the caller processes this one.
 */
import type * as fs from 'node:fs/promises';
import { StowageError } from '../errors.js';
import { SlotRing, type Slot } from '../util/slot-ring.js';
import { markOnce } from '../util/timeline.js';

/** The part of a FileHandle the reader uses. */
export type PieceSource = Pick<fs.FileHandle, 'read'>;

/** The slot a piece yielded by readPieces lives in (the caller releases it once done: hashed). */
export const pieceSlots = new WeakMap<Uint8Array, Slot>();

/**
 * Yields the file in pieces of up to `pieceBytes`, each in a slot of a ring of `slots`
 * shared-memory buffers (no garbage, bounded memory). While the caller processes a piece,
 * the next one is already being read (one read in flight, at the file's position), so the
 * caller never waits for a read of a page-cached file; the read waits while every slot is
 * in use. A piece's slot comes back to the ring when the caller releases it (`pieceSlots`);
 * when the caller stops early, the piece read ahead is released here. Read errors become
 * INPUT_UNREADABLE naming `what`.
 */
export async function* readPieces(fh: PieceSource, what: string, slots: number, pieceBytes: number): AsyncGenerator<Uint8Array> {
  const ring = new SlotRing(slots, pieceBytes);
  const readOne = async (): Promise<{ slot: Slot; n: number }> => {
    const slot = await ring.acquire();
    try {
      return { slot, n: (await fh.read(slot.bytes, 0, pieceBytes, null)).bytesRead };
    } catch (err) {
      slot.release();
      throw inputError(what, err);
    }
  };
  let next: Promise<{ slot: Slot; n: number }> | undefined = readOne();
  try {
    for (;;) {
      const { slot, n } = await next;
      next = undefined;
      if (n === 0) {
        slot.release();
        return;
      }
      next = readOne();
      next.catch(() => undefined); // observed by the next round, or dropped in finally
      markOnce('first input piece');
      const piece = slot.bytes.subarray(0, n);
      pieceSlots.set(piece, slot);
      yield piece;
    }
  } finally {
    if (next) (await next.catch(() => undefined))?.slot.release();
  }
}

/** INPUT_UNREADABLE for a failed open, stat or read of the input `what`. */
export function inputError(what: string, err: unknown): StowageError {
  if (err instanceof StowageError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
  return new StowageError('INPUT_UNREADABLE', `cannot read ${what}: ${why}`, { cause: err });
}
