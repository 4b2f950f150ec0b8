import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('hands the memory of a round out again after recycle, and allocates only what one round needs', () => {
    const pool = new BufferPool(4, 1024);
    for (let round = 0; round < 50; round++) {
      const a = pool.take(1000);
      const b = pool.take(3000);
      expect(a.buffer).not.toBe(b.buffer);
      expect(a.length).toBe(1024);
      expect(b.length).toBe(4096);
      pool.recycle();
    }
    expect(pool.allocated).toBe(2);
    expect(pool.bytes).toBe(1024 + 4096);
  });

  it('keeps a buffer lent while a view of it is kept, and drops spares beyond keepFree', () => {
    const pool = new BufferPool(1, 1024);
    const kept = pool.take(10).subarray(0, 10);
    const other = pool.take(10);
    pool.recycle(kept);
    expect(pool.take(10).buffer).toBe(other.buffer); // the free one, not the kept one
    const third = pool.take(2000);
    pool.recycle();
    // three buffers were taken; one spare (the largest) is kept
    expect(pool.bytes).toBe(2048);
    expect(pool.take(5).buffer).toBe(third.buffer);
  });
});
