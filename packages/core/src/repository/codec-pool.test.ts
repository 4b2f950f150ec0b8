import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { idHasher } from '../hash/blake3.js';
import { CodecPool, compactIds } from './codec-pool.js';
import { prestartCodecWorkers, stopWarmWorkers, warmCodecWorkers } from './codec-warm.js';

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

describe('CodecPool with workers started before the key was known (codec-warm.ts)', () => {
  it('takes the started workers and sends them the spec: blobs sealed on them open with the same key inline, and the other way round', async () => {
    await stopWarmWorkers();
    prestartCodecWorkers(2);
    prestartCodecWorkers(2); // idempotent: two are waiting, not four
    expect(warmCodecWorkers()).toBe(2);
    const spec = { level: 3, cipher: { algorithm: 'aes-256-gcm' as const, key: randomBytes(32) }, idKey: randomBytes(32) };
    const pool = new CodecPool(spec, 2);
    try {
      const data = Buffer.concat([randomBytes(70_000), Buffer.alloc(50_000, 'x')]);
      const lengths = [70_000, 50_000];
      const onWorker = await pool.encode(Buffer.from(data), lengths); // the first job takes a started worker
      expect(warmCodecWorkers()).toBe(1);
      const inline = pool.inline.encode(Buffer.from(data), lengths);
      const items = (batch: typeof inline) => {
        let at = 0;
        return lengths.map((rawLength, i) => {
          const it = { offset: at, length: batch.storedLengths[i]!, rawLength, compressed: batch.compressed[i]!, id: idHasher(spec.idKey)(data.subarray(i ? 70_000 : 0, i ? 120_000 : 70_000)) };
          at += batch.storedLengths[i]!;
          return it;
        });
      };
      // decode jobs use both workers (the second started one too): each opens what the other side sealed
      const [a, b] = await Promise.all([pool.decode(Buffer.from(inline.stored), items(inline), 'inline-sealed'), pool.decode(Buffer.from(onWorker.stored), items(onWorker), 'worker-sealed')]);
      expect(a.plain.equals(data)).toBe(true);
      expect(b.plain.equals(data)).toBe(true);
      expect(pool.inline.decode(Buffer.from(onWorker.stored), items(onWorker), 'inline').plain.equals(data)).toBe(true);
      expect(pool.size).toBe(2);
      expect(warmCodecWorkers()).toBe(0);
    } finally {
      await pool.close();
      await stopWarmWorkers();
    }
  });

  it('a pool with a wrong key in its spec fails to open blobs sealed under another (the spec reached the worker)', async () => {
    prestartCodecWorkers(1);
    const key = randomBytes(32);
    const sealer = new CodecPool({ level: 3, cipher: { algorithm: 'aes-256-gcm', key } }, 0);
    const pool = new CodecPool({ level: 3, cipher: { algorithm: 'aes-256-gcm', key: randomBytes(32) } }, 1);
    try {
      const data = randomBytes(10_000);
      const batch = sealer.inline.encode(Buffer.from(data), [data.length]);
      const item = { offset: 0, length: batch.storedLengths[0]!, rawLength: data.length, compressed: batch.compressed[0]!, id: idHasher()(data) };
      await expect(pool.decode(Buffer.from(batch.stored), [item], 'wrong key')).rejects.toMatchObject({ code: 'CORRUPT' });
      expect(warmCodecWorkers()).toBe(0);
    } finally {
      await pool.close();
      await sealer.close();
    }
  });
});
