import { describe, expect, it } from 'vitest';
import { compactIds } from './codec-pool.js';

describe('compactIds', () => {
  it('copies the ids of decode items into one small buffer (a message to a worker clones whole ArrayBuffers)', () => {
    const big = new Uint8Array(1 << 20); // ids are usually views into a large decoded list
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const items = [0, 5000, 900_000].map((at, i) => ({ offset: i, length: 10, rawLength: 20, compressed: true, id: big.subarray(at, at + 32) }));
    const out = compactIds(items);
    expect(out.map((x) => Buffer.from(x.id).toString('hex'))).toEqual(items.map((x) => Buffer.from(x.id).toString('hex')));
    expect(out[0]!.id.buffer.byteLength).toBe(96);
    expect(new Set(out.map((x) => x.id.buffer)).size).toBe(1);
    expect(out.map(({ id: _id, ...rest }) => rest)).toEqual(items.map(({ id: _id, ...rest }) => rest));
  });
});
