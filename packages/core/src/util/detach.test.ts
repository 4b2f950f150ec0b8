import { describe, expect, it } from 'vitest';
import { detach, freeNow } from './detach.js';

describe('freeNow', () => {
  it('frees a whole buffer at once: its ArrayBuffer is detached and no longer counted', () => {
    const buf = Buffer.allocUnsafeSlow(8 << 20).fill(7);
    const before = process.memoryUsage().arrayBuffers;
    expect(freeNow(buf)).toBe(true);
    expect(buf.buffer.byteLength).toBe(0);
    expect(buf.length).toBe(0);
    expect(before - process.memoryUsage().arrayBuffers).toBeGreaterThanOrEqual(8 << 20);
  });

  it('a loop of fresh buffers freed at once keeps no more than one alive (no collection needed)', () => {
    const start = process.memoryUsage().arrayBuffers;
    let most = 0;
    for (let i = 0; i < 64; i++) {
      const b = Buffer.allocUnsafeSlow(1 << 20);
      b[0] = i;
      freeNow(b);
      most = Math.max(most, process.memoryUsage().arrayBuffers - start);
    }
    expect(most).toBeLessThan(4 << 20);
  });

  it('leaves alone what it cannot free alone: views of part of a buffer, shared memory, the Buffer pool', () => {
    const whole = Buffer.allocUnsafeSlow(1 << 16).fill(1);
    const part = whole.subarray(16);
    expect(freeNow(part)).toBe(false);
    expect(whole.length).toBe(1 << 16);
    const shared = new Uint8Array(new SharedArrayBuffer(1 << 16));
    expect(freeNow(shared)).toBe(false);
    expect(shared.length).toBe(1 << 16);
    const pooled = Buffer.from('small');
    expect(freeNow(pooled)).toBe(false);
    expect(pooled.toString()).toBe('small');
  });

  it('detach frees a whole ArrayBuffer behind any number of views', () => {
    const ab = new ArrayBuffer(4 << 20);
    const views = [new Uint8Array(ab), new Uint8Array(ab, 16, 32)];
    const before = process.memoryUsage().arrayBuffers;
    detach(ab);
    expect(ab.byteLength).toBe(0);
    expect(views.map((v) => v.length)).toEqual([0, 0]);
    expect(before - process.memoryUsage().arrayBuffers).toBeGreaterThanOrEqual(4 << 20);
  });
});
