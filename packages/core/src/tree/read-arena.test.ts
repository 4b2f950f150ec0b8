/** ReadArena: room for files' bytes, held by the batches that sealed them, reused once they all released. */
import { describe, expect, it } from 'vitest';
import { ReadArena } from './read-arena.js';

/** Reads `text` into the arena as a file would be (room for one byte more, the bytes read committed). */
function put(a: ReadArena, text: string): Buffer {
  const room = a.room(text.length + 1)!;
  room.write(text);
  a.commit(text.length);
  return room.subarray(0, text.length);
}

describe('ReadArena', () => {
  it('packs committed bytes back to back; room beyond a buffer is not served', () => {
    const a = new ReadArena(64);
    const x = put(a, 'abc');
    const y = put(a, 'defg');
    expect(x.buffer).toBe(y.buffer);
    expect(y.byteOffset).toBe(x.byteOffset + 3);
    expect(a.room(65)).toBeUndefined();
    expect(a.allocated).toBe(1);
  });

  it("does not reuse a batch's bytes before it released them, reuses them after", () => {
    const a = new ReadArena(16);
    const first = put(a, 'aaaaaaaaaa');
    const release1 = a.seal();
    const second = put(a, 'bbbbbbbbbb'); // does not fit: a new buffer, the first one is held by batch 1
    expect(second.buffer).not.toBe(first.buffer);
    expect(first.toString()).toBe('aaaaaaaaaa');
    const release2 = a.seal();
    release1();
    const third = put(a, 'cccccccccc'); // the first buffer is free again
    expect(third.buffer).toBe(first.buffer);
    expect(second.toString()).toBe('bbbbbbbbbb'); // batch 2's bytes untouched
    release2();
    release2(); // idempotent
    expect(a.allocated).toBe(2);
  });

  it('a buffer shared by two batches is reused only once both released it', () => {
    const a = new ReadArena(32);
    const x = put(a, 'xxxxxxxx');
    const r1 = a.seal();
    const y = put(a, 'yyyyyyyy'); // same buffer, batch 2
    expect(y.buffer).toBe(x.buffer);
    const r2 = a.seal();
    put(a, 'zzzzzzzzzzzzzzzz'); // does not fit: the shared buffer retires, a new one
    r1();
    const w = put(a, 'wwwwwwwwwwwwwwww'); // a third buffer: batch 2 still holds the first
    expect(w.buffer).not.toBe(x.buffer);
    expect(y.toString()).toBe('yyyyyyyy');
    r2();
    a.seal()();
    const v = put(a, 'vvvvvvvvvvvvvvvvvvvv');
    expect([x.buffer, w.buffer]).toContain(v.buffer);
    expect(a.allocated).toBe(3);
  });

  it('memory stays bounded over many batches of tiny files', () => {
    const a = new ReadArena(1024);
    const pending: (() => void)[] = [];
    for (let batch = 0; batch < 200; batch++) {
      for (let f = 0; f < 30; f++) put(a, 'f'.repeat(10 + ((batch * 7 + f) % 90)));
      pending.push(a.seal());
      if (pending.length > 2) pending.shift()!(); // two batches in flight, as the walk keeps them
    }
    expect(a.allocated).toBeLessThanOrEqual(12);
  });
});
