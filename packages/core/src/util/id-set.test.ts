import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdSet } from './id-set.js';

describe('IdSet', () => {
  it('agrees with a Set of hex strings over random adds, deletes and lookups (growing, with clustered homes)', () => {
    const s = new IdSet();
    const ref = new Set<string>();
    const pool: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = randomBytes(32);
      // a third share their first 4 bytes with another id: long probe runs across deletions
      if (i % 3 === 0 && pool.length) pool[pool.length - 1]!.copy(id, 0, 0, 4);
      pool.push(id);
    }
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    for (let step = 0; step < 40_000; step++) {
      const id = pool[rnd(pool.length)]!;
      const k = id.toString('hex');
      const op = rnd(3);
      if (op === 0) {
        expect(s.add(id)).toBe(!ref.has(k));
        ref.add(k);
      } else if (op === 1) expect(s.delete(id)).toBe(ref.delete(k));
      else expect(s.has(id)).toBe(ref.has(k));
      expect(s.size).toBe(ref.size);
    }
    for (const id of pool) expect(s.has(id)).toBe(ref.has(id.toString('hex')));
    s.clear();
    expect(s.size).toBe(0);
    expect(s.has(pool[0]!)).toBe(false);
    expect(() => s.add(new Uint8Array(31))).toThrow(RangeError);
  });
});
