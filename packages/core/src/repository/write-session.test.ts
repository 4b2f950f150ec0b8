import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import type { AnyIndexedPack } from '../blob-index/types.js';
import { ENTRY_BYTES } from '../pack/entry.js';
import { ENCODE_SLOT_BYTES, WriteSession } from './write-session.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

describe('WriteSession', () => {
  it('writes an index file whenever the uploaded packs hold indexEveryBlobs blobs, and dedups across them', async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 0, indexEveryBlobs: 50, frames: false });
    // what the session keeps of its uploaded packs until the index file: raw slots, no object per blob
    const index = await repo.index();
    const absorbed: AnyIndexedPack[][] = [];
    const absorb = index.absorb.bind(index);
    index.absorb = (name, packs) => (absorbed.push([...packs]), absorb(name, packs));
    const data = seeded('ws-index-every', 400 * 2048);
    const lengths = Array<number>(400).fill(2048);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
    let stored = 0;
    for (let i = 0; i < 400; i += 40) stored += (await session.saveBatch('data', data.subarray(i * 2048, (i + 40) * 2048), lengths.slice(i, i + 40), ids.slice(i, i + 40))).newBlobs;
    // the same blobs again, some already in index files and some not yet: none is new
    for (let i = 0; i < 400; i += 100) stored += (await session.saveBatch('data', data.subarray(i * 2048, (i + 100) * 2048), lengths.slice(i, i + 100), ids.slice(i, i + 100))).newBlobs;
    await session.flush();
    expect(stored).toBe(400);
    // 64 KiB packs of 2 KiB blobs hold about 31 blobs: an index file about every second pack
    expect(session.stats.packs).toBeGreaterThanOrEqual(12);
    expect(session.stats.indexFiles).toBeGreaterThan(session.stats.packs / 3);
    expect(session.stats.indexFiles).toBeLessThan(session.stats.packs);
    expect(absorbed).toHaveLength(session.stats.indexFiles);
    const packs = absorbed.flat();
    expect(packs.every((p) => 'slots' in p && !('entries' in p))).toBe(true);
    expect(packs.reduce((n, p) => n + ('slots' in p ? p.slots.length / ENTRY_BYTES : 0), 0)).toBe(400);
    const found = await repo.lookup(ids);
    expect(found.every((l) => l !== undefined)).toBe(true);
    const [first] = await repo.loadBlobs([ids[123]!]);
    expect(first!.equals(data.subarray(123 * 2048, 124 * 2048))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession encode slots', () => {
  it('a batch larger than an encode slot is split and encoded in slots (no fresh batch memory); every blob reads back', async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 1, frames: false });
    const n = Math.ceil((ENCODE_SLOT_BYTES * 2.5) / (256 * 1024)); // two and a half slots of 256 KiB blobs in one call
    const data = seeded('ws-split', n * 256 * 1024);
    const lengths = Array<number>(n).fill(256 * 1024);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024)));
    expect((await session.saveBatch('data', data, lengths, ids)).newBlobs).toBe(n);
    await session.flush();
    expect(session.slotless).toBe(0);
    expect(session.stats.newBlobs).toBe(n);
    const back = await repo.loadBlobs([ids[0]!, ids[n - 1]!]);
    expect(back[0]!.equals(data.subarray(0, 256 * 1024))).toBe(true);
    expect(back[1]!.equals(data.subarray((n - 1) * 256 * 1024))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession output buffers', () => {
  it("hands every encoded batch's output back once the packs holding it are saved (a batch spanning two packs after both); the packs read back", async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 0, frames: false });
    const n = 400;
    const data = seeded('ws-release', n * 2048);
    const lengths = Array<number>(n).fill(2048);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
    for (let i = 0; i < n; i += 20) await session.saveBatch('data', data.subarray(i * 2048, (i + 20) * 2048), lengths.slice(i, i + 20), ids.slice(i, i + 20));
    await session.flush();
    expect(session.stats.packs).toBeGreaterThanOrEqual(10); // 64 KiB packs: batches of 40 KiB span two
    expect(session.releasedBuffers).toBe(n / 20);
    const back = await repo.loadBlobs([ids[0]!, ids[199]!, ids[n - 1]!]);
    expect(back[0]!.equals(data.subarray(0, 2048))).toBe(true);
    expect(back[1]!.equals(data.subarray(199 * 2048, 200 * 2048))).toBe(true);
    expect(back[2]!.equals(data.subarray((n - 1) * 2048))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession uploads (pack/upload.ts)', () => {
  it('a backend that reads a pack trailer back different breaks the session loudly; no index file names the pack', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const load = backend.load.bind(backend);
    backend.load = async (h, range, o) => {
      const b = Buffer.from(await load(h, range, o));
      if (h.type === 'pack' && range) b[b.length - 1]! ^= 1;
      return b;
    };
    const session = new WriteSession(repo, { workers: 0 });
    const data = seeded('ws-read-back', 64 * 1024);
    await session.saveBatch('data', data, [data.length], [repo.codec.id(data)]);
    const err = await session.flush().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/trailer read back from .* differs from what was written/) });
    await expect(session.flush()).rejects.toBe(err); // broken from now on
    expect(await repo.listNames('index')).toEqual([]);
    backend.load = load;
    await repo.close();
  });
});
