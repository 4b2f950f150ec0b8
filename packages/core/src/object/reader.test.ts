/**
 * The object reader with shared-memory windows (as restore runs it): the workers decode
 * every blob straight to where its uses lie in the window, so each window is one piece,
 * and the bytes and their SHA-256 are those written; the same with fresh memory (inline).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WriteSession } from '../repository/write-session.js';
import { seeded, sharedTestRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { ObjectReader } from './reader.js';
import { ObjectWriter } from './writer.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('ObjectReader', () => {
  const shared = sharedTestRepo();

  // small text files (framed together), the same file twice (one blob used twice in a window), a large file
  const text = (i: number) => Buffer.from(`file ${i}: ${'some compressible text '.repeat(100 + 37 * i)}`);
  const tar = tarOf([
    ...Array.from({ length: 40 }, (_, i) => ({ name: `t/${i}`, data: text(i) })),
    { name: 'big', data: seeded('reader-big', 700_000) },
    { name: 'again/3', data: text(3) },
    { name: 'again/big', data: seeded('reader-big', 700_000) },
    { name: 'again/7', data: text(7) },
  ]);

  async function writeTar() {
    const session = new WriteSession(shared.repo, { workers: 2 });
    const w = new ObjectWriter(shared.repo, session, { workers: 2 });
    await w.write(tar);
    await w.end();
    const written = await w.finish();
    await session.flush();
    return written;
  }

  it('shared-memory windows come back as one piece each, with the bytes and SHA-256 written; fresh memory (inline) the same', async () => {
    const written = await writeTar();
    for (const [workers, sharedMemory] of [
      [2, true],
      [0, false],
    ] as const) {
      for (const windowBytes of [64 * 1024, 1 << 20]) {
        const reader = new ObjectReader(shared.repo, written.lists, { workers, windowBytes, ahead: 2, sharedMemory, sha256: true });
        const parts: Buffer[] = [];
        let windows = 0;
        for await (const win of reader) {
          windows++;
          if (sharedMemory) expect(win.pieces).toHaveLength(1);
          for (const p of win.pieces) parts.push(Buffer.from(p));
          win.done();
        }
        expect(windows).toBeGreaterThan(1);
        expect(Buffer.concat(parts).equals(tar)).toBe(true);
        expect((await reader.digests()).sha256).toBe(sha(tar));
      }
    }
  });

  it('aligned reads put each window in its slot at its offset modulo align (room), leaving the bytes in front free; bytes and SHA-256 unchanged', async () => {
    const written = await writeTar();
    const reader = new ObjectReader(shared.repo, written.lists, { workers: 2, windowBytes: 50_000, ahead: 2, sharedMemory: true, sha256: true, align: 4096 });
    const parts: Buffer[] = [];
    const rooms: number[] = [];
    for await (const win of reader) {
      expect(win.pieces).toHaveLength(1);
      const p = win.pieces[0]!;
      expect(win.room).toBe(win.at % 4096);
      expect(p.byteOffset % 4096).toBe(win.room);
      rooms.push(win.room!);
      // the room is the caller's: scribbling over it changes nothing read or hashed
      new Uint8Array(p.buffer, p.byteOffset - win.room!, win.room!).fill(0xee);
      parts.push(Buffer.from(p));
      win.done();
    }
    expect(rooms.some((r) => r > 0)).toBe(true);
    expect(Buffer.concat(parts).equals(tar)).toBe(true);
    expect((await reader.digests()).sha256).toBe(sha(tar));
    expect(() => new ObjectReader(shared.repo, written.lists, { windowBytes: 50_000, ahead: 2, align: 3000 })).toThrow(/power of two/);
  });

  it('done(using): the pieces are hashed while the caller still uses them (a write in flight), and their slot comes back only once that settled too', async () => {
    const written = await writeTar();
    const reader = new ObjectReader(shared.repo, written.lists, { workers: 2, windowBytes: 16 * 1024, ahead: 2, sharedMemory: true, sha256: true });
    const it = reader[Symbol.asyncIterator]();
    const parts: Buffer[] = [];
    const writes: (() => void)[] = [];
    // three output slots: the first three windows, each "still being written", hold them all
    for (let i = 0; i < 3; i++) {
      const { value: win } = await it.next();
      parts.push(Buffer.from(win!.pieces[0]!));
      win!.done(new Promise<void>((resolve) => writes.push(resolve)));
    }
    const fourth = it.next();
    const early = await Promise.race([fourth.then(() => 'arrived'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    expect(early).toBe('waiting'); // no slot is free while the writes are in flight, though the hashes are done
    for (const w of writes) w();
    let r = await fourth;
    while (!r.done) {
      parts.push(Buffer.from(r.value.pieces[0]!));
      r.value.done(Promise.resolve());
      r = await it.next();
    }
    expect(Buffer.concat(parts).equals(tar)).toBe(true);
    expect((await reader.digests()).sha256).toBe(sha(tar));
  });
});
