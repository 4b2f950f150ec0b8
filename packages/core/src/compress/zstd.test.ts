/**
 * FrameDecoder: a zstd frame decoded front to back in parts, straight into each part's buffer,
 * stopping where the caller stops; a frame of another length than expected is CORRUPT.
 */
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { seeded } from '../testing/fixtures.js';
import { FrameDecoder, compressBlob } from './zstd.js';

/** 1.2 MB of half-compressible bytes: a frame of several 128 KiB blocks. */
const plain = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.concat([seeded(`z ${i}`, 10_000), Buffer.from(`part ${i} `.repeat(2500))])));
const frame = compressBlob(plain, 3);

function corruptOf(fn: () => void): boolean {
  try {
    fn();
  } catch (err) {
    return isStowageError(err, 'CORRUPT');
  }
  return false;
}

describe('FrameDecoder', () => {
  it('reads parts front to back (gaps skipped) with the same bytes as the whole frame, decoding no further than a block past the last part', () => {
    expect(frame.compressed).toBe(true);
    const fd = new FrameDecoder();
    fd.start('f', frame.bytes, plain.length);
    const parts: [number, number][] = [
      [0, 100],
      [5000, 70_000],
      [300_000, 1],
      [300_001, 200_000],
    ];
    for (const [at, n] of parts) {
      const dst = Buffer.alloc(n);
      fd.read(dst, at);
      expect(dst.equals(plain.subarray(at, at + n))).toBe(true);
      expect(fd.position).toBe(at + n);
    }
    expect(fd.decodedBytes).toBe(500_001);
    expect(() => fd.read(Buffer.alloc(10), 0)).toThrow(RangeError); // behind: the caller starts the frame again
    fd.settle(); // the stored bytes not consumed yet are copied: the caller's may change
    expect(fd.keptBytes).toBeGreaterThan(0);
    const tail = Buffer.alloc(plain.length - 600_000);
    fd.read(tail, 600_000);
    expect(tail.equals(plain.subarray(600_000))).toBe(true);
    expect(fd.key).toBe('f');
  });

  it('a frame longer or shorter than expected, or truncated, is CORRUPT once decoded that far; the decoder then holds no frame', () => {
    const fd = new FrameDecoder();
    fd.start('longer', frame.bytes, plain.length - 1);
    fd.read(Buffer.alloc(1000), 0); // the start is fine
    expect(corruptOf(() => fd.read(Buffer.alloc(plain.length - 1001), 1000))).toBe(true);
    expect(fd.key).toBeUndefined();
    fd.start('shorter', frame.bytes, plain.length + 1);
    expect(corruptOf(() => fd.read(Buffer.alloc(plain.length + 1), 0))).toBe(true);
    fd.start('truncated', frame.bytes.subarray(0, frame.bytes.length - 500), plain.length);
    expect(corruptOf(() => fd.read(Buffer.alloc(plain.length), 0))).toBe(true);
    const damaged = Buffer.from(frame.bytes);
    damaged[damaged.length >> 1]! ^= 0x55;
    fd.start('damaged', damaged, plain.length);
    let dst = Buffer.alloc(plain.length);
    const threw = corruptOf(() => fd.read(dst, 0));
    expect(threw || !dst.equals(plain)).toBe(true); // damage shows as an error or as other bytes (the caller checks ids)
    // a good frame after a failed one decodes
    fd.start('good', frame.bytes, plain.length);
    dst = Buffer.alloc(plain.length);
    fd.read(dst, 0);
    expect(dst.equals(plain)).toBe(true);
  });
});
