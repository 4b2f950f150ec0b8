import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { IdFilter } from './id-filter.js';

describe('IdFilter', () => {
  it('never misses an added id, across its growing segments, and rarely says "maybe" for others', () => {
    const f = new IdFilter();
    const pool = randomBytes(32 * 900_000);
    const id = (i: number): Buffer => pool.subarray(32 * i, 32 * i + 32);
    const added = Array.from({ length: 700_000 }, (_, i) => id(i)); // three segments (256K, 512K, 1M)
    for (const id of added) f.add(id);
    expect(added.every((id) => f.mayHave(id))).toBe(true);
    let maybe = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (f.mayHave(id(700_000 + i))) maybe++;
    expect(maybe / n).toBeLessThan(0.006); // about 0.1 % per segment
    expect(f.count).toBe(700_000);
    expect(f.bytes).toBeLessThan(700_000 * 5);
  });

  it('an empty filter holds nothing', () => {
    expect(new IdFilter().mayHave(randomBytes(32))).toBe(false);
  });

  it('survives serialize/deserialize with its stamp, and refuses damaged bytes', () => {
    const f = new IdFilter();
    const ids = Array.from({ length: 1000 }, () => randomBytes(32));
    for (const id of ids) f.add(id);
    const bytes = f.serialize(Buffer.from('a\nb', 'latin1'));
    const { filter, stamp } = IdFilter.deserialize(bytes);
    expect(stamp.toString('latin1')).toBe('a\nb');
    expect(ids.every((id) => filter.mayHave(id))).toBe(true);
    expect(filter.count).toBe(1000);
    const bad = Buffer.from(bytes);
    bad[bad.length >> 1]! ^= 1;
    let err: unknown;
    try {
      IdFilter.deserialize(bad);
    } catch (e) {
      err = e;
    }
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    expect(() => IdFilter.deserialize(bytes.subarray(0, 20))).toThrow(/id filter/);
  });
});
