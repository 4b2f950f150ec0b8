import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { blake3Hex } from './blake3.js';
import { RangeHasher, type DigestedRange } from './range-hasher.js';
import { pairedSha256, Sha256 } from './sha256-pair.js';

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

  it.skipIf(!pairedSha256())("with the whole stream's SHA-256 beside it, gives the same digests and mismatches as two separate passes", () => {
    const ranges: DigestedRange[] = [
      // paired: SHA-256 at multiples of 64 (tar members start on 512-byte records)
      { path: 'l1', offset: 1024, length: 30_000, digest: `sha256:${sha(data.subarray(1024, 31_024))}`, what: 'layer l1' },
      { path: 'l2', offset: 31_232, length: 40_001, digest: `sha256:${'1'.repeat(64)}`, what: 'layer l2' },
      // overlapping a paired range: hashed on its own
      { path: 'inner', offset: 2048, length: 512, digest: `sha256:${sha(data.subarray(2048, 2560))}`, what: 'config inner' },
      // not at a multiple of 64, another algorithm, beyond the end
      { path: 'odd', offset: 71_300, length: 1000, digest: `sha256:${sha(data.subarray(71_300, 72_300))}`, what: 'config odd' },
      { path: 'big', offset: 80_000, length: 5000, digest: `sha512:${createHash('sha512').update(data.subarray(80_000, 85_000)).digest('hex')}`, what: 'layer big' },
      { path: 'end', offset: 99_968, length: 100, digest: `sha256:${'2'.repeat(64)}`, what: 'layer end' },
    ];
    for (const piece of [1000, 4096, 65_536]) {
      const whole = new Sha256();
      const r = new RangeHasher(ranges, whole);
      const added = { path: 'late', offset: 90_112, length: 4096, digest: `sha256:${sha(data.subarray(90_112, 94_208))}`, what: 'layer late' };
      // added when the piece holding its start comes (nothing after its start fed yet)
      feed(r, piece, (at) => at <= 90_112 && at + piece > 90_112 && r.add([added]));
      const alone = new RangeHasher([...ranges, added]);
      feed(alone, piece);
      expect(r.wholeDigest()).toBe(sha(data));
      const bad = r.mismatches();
      expect(bad).toEqual(alone.mismatches());
      expect(bad.map((m) => m.path)).toEqual(['l2', 'end']);
      expect(bad[1]!.actual).toBe('(only 32 of 100 bytes)');
    }
  });

  it.skipIf(!pairedSha256())('refuses pieces that skip bytes of the whole stream', () => {
    const r = new RangeHasher([], new Sha256());
    r.update([data.subarray(0, 100)], 0);
    expect(() => r.update([data.subarray(200, 300)], 200)).toThrow(/stream hash at byte 100/);
  });
});
