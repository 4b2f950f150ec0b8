import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { pieceSlots, readPieces, type PieceSource } from './input-reader.js';

/** A file of `size` bytes (byte i = i & 255) whose reads are counted and finish when the test says. */
function fakeFile(size: number, failAt?: number) {
  let pos = 0;
  const calls: number[] = [];
  const pending: (() => void)[] = [];
  const source: PieceSource = {
    read: (async (buf: Uint8Array, off: number, len: number) => {
      calls.push(pos);
      if (failAt !== undefined && pos >= failAt) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      const n = Math.min(len, size - pos);
      for (let i = 0; i < n; i++) buf[off + i] = (pos + i) & 255;
      pos += n;
      await new Promise<void>((resolve) => pending.push(resolve));
      return { bytesRead: n, buffer: buf };
    }) as PieceSource['read'],
  };
  /** Lets every read issued so far finish. */
  const finishReads = async () => {
    for (let i = 0; i < 5; i++) {
      while (pending.length) pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { source, calls, finishReads };
}

describe('readPieces', () => {
  it('reads the next piece while the caller still holds this one', async () => {
    const f = fakeFile(10);
    const it = readPieces(f.source, 'input', 3, 4);
    const first = it.next();
    await f.finishReads();
    const a = await first;
    expect([...(a.value as Uint8Array)]).toEqual([0, 1, 2, 3]);
    // the caller has not asked for the second piece, yet it is being read
    expect(f.calls).toEqual([0, 4]);
    pieceSlots.get(a.value as Uint8Array)!.release();
    await f.finishReads();
    const b = await it.next();
    expect([...(b.value as Uint8Array)]).toEqual([4, 5, 6, 7]);
    expect(f.calls).toEqual([0, 4, 8]);
    await f.finishReads();
    const c = await it.next();
    expect([...(c.value as Uint8Array)]).toEqual([8, 9]);
    await f.finishReads();
    expect((await it.next()).done).toBe(true);
    expect(f.calls).toEqual([0, 4, 8, 10]);
  });

  it('waits for a free slot before reading ahead, and stops reading when the caller stops', async () => {
    const f = fakeFile(100);
    const it = readPieces(f.source, 'input', 2, 4);
    const p1 = it.next();
    await f.finishReads();
    const a = (await p1).value as Uint8Array;
    await f.finishReads();
    const b = (await it.next()).value as Uint8Array;
    await f.finishReads();
    // both slots are held by the caller: no third read
    expect(f.calls).toEqual([0, 4]);
    pieceSlots.get(a)!.release();
    await f.finishReads();
    expect(f.calls).toEqual([0, 4, 8]);
    // the caller stops: the generator ends once the read in flight is done, and reads no more
    const stopped = it.return(undefined);
    await f.finishReads();
    expect((await stopped).done).toBe(true);
    await f.finishReads();
    expect(f.calls).toEqual([0, 4, 8]);
    pieceSlots.get(b)!.release();
  });

  it('turns a read error into INPUT_UNREADABLE naming the input', async () => {
    const f = fakeFile(100, 4);
    const it = readPieces(f.source, '/data/image.tar', 3, 4);
    const p1 = it.next();
    await f.finishReads();
    await p1;
    const err = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStowageError(err, 'INPUT_UNREADABLE')).toBe(true);
    expect((err as Error).message).toContain('/data/image.tar');
  });
});
