import { describe, expect, it } from 'vitest';
import { copyBytes, copyViews, NATIVE_COPY_MIN } from './copy-bytes.js';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const shared = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));

describe('copyBytes', () => {
  it('copies like set, from and into shared memory, small and large', () => {
    for (const n of [0, 1, 100, NATIVE_COPY_MIN - 1, NATIVE_COPY_MIN, 3 * NATIVE_COPY_MIN + 7]) {
      for (const [tShared, sShared] of [
        [true, false],
        [false, true],
        [true, true],
        [false, false],
      ]) {
        const src = sShared ? shared(n) : new Uint8Array(n);
        src.set(bytes(n, n));
        const target = tShared ? shared(n + 20) : new Uint8Array(n + 20);
        target.fill(9);
        copyBytes(target, src, 10);
        const want = new Uint8Array(n + 20).fill(9);
        want.set(bytes(n, n), 10);
        expect(Buffer.from(target).equals(Buffer.from(want)), `n=${n} target shared ${tShared} source shared ${sShared}`).toBe(true);
      }
    }
  });

  it('copies a view of a larger buffer, and only its bytes', () => {
    const big = shared(5 * NATIVE_COPY_MIN);
    big.set(bytes(big.length, 3));
    const view = big.subarray(NATIVE_COPY_MIN + 5, 3 * NATIVE_COPY_MIN + 5);
    const target = new Uint8Array(4 * NATIVE_COPY_MIN);
    copyBytes(target, view, NATIVE_COPY_MIN);
    expect(Buffer.from(target.subarray(NATIVE_COPY_MIN, 3 * NATIVE_COPY_MIN)).equals(Buffer.from(view))).toBe(true);
    expect(target.subarray(0, NATIVE_COPY_MIN).every((b) => b === 0)).toBe(true);
    expect(target.subarray(3 * NATIVE_COPY_MIN).every((b) => b === 0)).toBe(true);
  });

  it('throws a RangeError when the source does not fit, as set does, writing nothing', () => {
    const target = shared(2 * NATIVE_COPY_MIN);
    expect(() => copyBytes(target, new Uint8Array(NATIVE_COPY_MIN).fill(1), NATIVE_COPY_MIN + 1)).toThrow(RangeError);
    expect(() => copyBytes(target, new Uint8Array(10), 2 * NATIVE_COPY_MIN - 5)).toThrow(RangeError);
    expect(target.every((b) => b === 0)).toBe(true);
  });
});

describe('copyViews', () => {
  it('lays views out one after another, joining those adjacent in one buffer', () => {
    const piece = shared(6 * NATIVE_COPY_MIN);
    piece.set(bytes(piece.length, 1));
    const other = bytes(1000, 2);
    const views = [
      piece.subarray(0, 100),
      piece.subarray(100, 2 * NATIVE_COPY_MIN),
      other,
      piece.subarray(3 * NATIVE_COPY_MIN, 4 * NATIVE_COPY_MIN),
      piece.subarray(4 * NATIVE_COPY_MIN, 6 * NATIVE_COPY_MIN),
    ];
    const total = views.reduce((a, v) => a + v.length, 0);
    const target = shared(total + 8);
    expect(copyViews(target, views, 8)).toBe(total + 8);
    expect(Buffer.from(target.subarray(8)).equals(Buffer.concat(views))).toBe(true);
    expect(copyViews(target, [], 3)).toBe(3);
  });
});
