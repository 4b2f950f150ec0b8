import { describe, expect, it } from 'vitest';
import { CodecPool, compactIds } from './codec-pool.js';

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

describe('CodecPool hash streams', () => {
  it("puts an operation's range hashes on another worker than its SHA-256, so the two passes run side by side", async () => {
    const pool = new CodecPool({ level: 3, cipher: { algorithm: 'none' } }, 2);
    try {
      // the SHA-256 is asked for first, when the lazily started pool has one worker
      const sha = pool.sha256();
      const ranges = pool.rangeHasher([{ path: 'l', offset: 0, length: 3, digest: `sha256:${'0'.repeat(64)}`, what: 'layer' }], sha);
      expect(pool.size).toBe(2);
      expect(pool.workerOf(sha)).toBe(0);
      expect(pool.workerOf(ranges)).toBe(1);
      await Promise.all([sha.update([Buffer.from('abc')]), ranges.update([Buffer.from('abc')], 0)]);
      expect(await sha.digest()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect((await ranges.result()).map((m) => m.actual)).toEqual(['sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad']);
    } finally {
      await pool.close();
    }
  });
});
