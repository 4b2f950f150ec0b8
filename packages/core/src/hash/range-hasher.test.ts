import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { blake3Hex } from './blake3.js';
import { RangeHasher } from './range-hasher.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('RangeHasher', () => {
  const data = seeded('ranges', 100_000);
  const feed = (r: RangeHasher, piece: number, add?: (at: number) => void) => {
    for (let at = 0; at < data.length; at += piece) {
      add?.(at);
      r.update([data.subarray(at, at + piece)], at);
    }
  };

  it('checks SHA-256 ranges given ahead, in any order, and names those that do not match', () => {
    const r = new RangeHasher([
      { path: 'b', offset: 50_000, length: 10_000, digest: `sha256:${sha(data.subarray(50_000, 60_000))}`, what: 'layer b' },
      { path: 'a', offset: 10, length: 100, digest: `sha256:${'0'.repeat(64)}`, what: 'layer a' },
    ]);
    feed(r, 4096);
    expect(r.mismatches()).toEqual([{ what: 'layer a', path: 'a', expected: `sha256:${'0'.repeat(64)}`, actual: `sha256:${sha(data.subarray(10, 110))}` }]);
  });

  it('takes ranges added as the stream goes past, and reports a BLAKE3 range with no digest as its digest', () => {
    const r = new RangeHasher([]);
    feed(r, 8192, (at) => {
      if (at === 16_384) r.add([{ path: 'x', offset: 20_000, length: 30_000, digest: 'blake3:', what: 'member x' }]);
      if (at === 40_960) r.add([{ path: 'y', offset: 45_000, length: 5000, digest: `blake3:${blake3Hex(data.subarray(45_000, 50_000))}`, what: 'member y' }]);
    });
    // y matched; x expected nothing, so its digest comes back as the actual of a mismatch
    expect(r.mismatches()).toEqual([{ what: 'member x', path: 'x', expected: 'blake3:', actual: `blake3:${blake3Hex(data.subarray(20_000, 50_000))}` }]);
  });

  it('says how much of a range it saw when the stream ends early', () => {
    const r = new RangeHasher([{ path: 'z', offset: 90_000, length: 20_000, digest: 'blake3:', what: 'member z' }]);
    feed(r, 10_000);
    expect(r.mismatches()[0]!.actual).toBe('(only 10000 of 20000 bytes)');
  });
});
