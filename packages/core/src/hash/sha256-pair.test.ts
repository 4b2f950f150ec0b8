import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { pairedSha256, Sha256 } from './sha256-pair.js';

const cpuHasShaNi = (() => {
  try {
    return /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
})();
// the addon is built by `pnpm run build` (packages/sha256-pair/build.mjs); CI has a compiler and Node's headers
if (!pairedSha256() && cpuHasShaNi && process.env.CI === 'true') throw new Error('sha256-pair.test.ts: the SHA-NI addon (packages/sha256-pair) is not built under CI=true');
if (!pairedSha256()) console.log('sha256-pair.test.ts: skipped (SHA-NI addon not built, or no SHA-NI on this CPU)');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!pairedSha256())('Sha256 over the SHA-NI addon', () => {
  const data = seeded('sha256-pair', 300_000);

  it('gives node:crypto digests for every length around the block and padding edges, fed whole or in odd pieces', () => {
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65_537, 300_000]) {
      const d = data.subarray(0, n);
      expect(new Sha256().update(d).digest()).toBe(sha(d));
      const h = new Sha256();
      for (let at = 0, step = 1; at < n; at += step, step = (step * 7 + 3) % 997) h.update(d.subarray(at, at + step));
      expect(h.length).toBe(n);
      expect(h.digest()).toBe(sha(d));
    }
  });

  it('reads views of shared memory in place', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(10_000));
    shared.set(data.subarray(0, 10_000));
    expect(new Sha256().update(shared.subarray(5, 9_005)).digest()).toBe(sha(data.subarray(5, 9_005)));
  });

  it('feeds two hashes in one pass: a stream and a range starting at a multiple of 64 in it come out as two separate hashes would', () => {
    // the stream's hash has 640 bytes before the range (phase 0), then both take the same bytes in pieces that cut blocks anywhere
    const whole = new Sha256().update(data.subarray(0, 640));
    const part = new Sha256();
    let at = 640;
    for (const step of [1, 63, 64, 100, 4096, 7, 65_536, 129]) {
      Sha256.pair(whole, part, data.subarray(at, at + step));
      at += step;
    }
    expect(part.length).toBe(at - 640);
    whole.update(data.subarray(at, at + 5000));
    expect(part.digest()).toBe(sha(data.subarray(640, at)));
    expect(whole.digest()).toBe(sha(data.subarray(0, at + 5000)));
  });

  it('refuses to pair states out of phase, and the addon refuses partial blocks and wrong state sizes', async () => {
    const a = new Sha256().update(data.subarray(0, 10));
    expect(() => Sha256.pair(a, new Sha256(), data.subarray(0, 100))).toThrow(/out of phase/);
    const native = createRequire(import.meta.url)('@stowage/sha256-pair') as NonNullable<typeof import('@stowage/sha256-pair')>;
    expect(() => native.compress(new Uint32Array(8), data.subarray(0, 63))).toThrow(RangeError);
    expect(() => native.compress(new Uint32Array(7), data.subarray(0, 64))).toThrow(RangeError);
    expect(() => native.compress2(new Uint32Array(8), new Uint32Array(8), data.subarray(0, 65))).toThrow(RangeError);
  });
});
