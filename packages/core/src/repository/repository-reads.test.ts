/**
 * Repository reads a command waits for before its data phase, on a backend with round trips:
 * loadBlobs reads several blobs at once (in order, NOT_FOUND before anything is read), and
 * prefetchIndex lists the index files without waiting for a lookup (and close() closes a
 * cache still opening).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { LevelIndex } from '../blob-index/level-index.js';
import { expectCode } from '../testing/expect-code.js';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { lockRepository } from './lock.js';
import { Repository } from './repository.js';
import { WriteSession } from './write-session.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

/** A memory backend whose pack reads take `ms` each, counting reads in flight and index listings. */
function slowReads(ms: number): { backend: Backend; stats: { packReads: number; inFlight: number; peak: number; indexLists: number } } {
  const mem = new MemoryBackend();
  const stats = { packReads: 0, inFlight: 0, peak: 0, indexLists: 0 };
  const backend: Backend = Object.create(mem) as Backend;
  backend.load = async (h, r, o) => {
    if (h.type !== 'pack') return mem.load(h, r, o);
    stats.packReads++;
    stats.peak = Math.max(stats.peak, ++stats.inFlight);
    try {
      await new Promise((res) => setTimeout(res, ms));
      return await mem.load(h, r, o);
    } finally {
      stats.inFlight--;
    }
  };
  backend.list = (type, o) => {
    if (type === 'index') stats.indexLists++;
    return mem.list(type, o);
  };
  return { backend, stats };
}

/** Stores `n` distinct blobs of about 3 KB (one index file); returns their ids and bytes. */
async function storeBlobs(repo: Repository, n: number): Promise<{ ids: Buffer[]; data: Buffer[] }> {
  const session = new WriteSession(repo, { workers: 0, frames: false });
  const data = Array.from({ length: n }, (_, i) => seeded(`blob-${i}`, 3000 + i));
  const ids: Buffer[] = [];
  for (const d of data) ids.push(await session.saveBlob('data', d));
  await session.flush();
  return { ids, data };
}

it('loadBlobs reads several blobs at once (at most 8) and returns them in order', async () => {
  const { backend, stats } = slowReads(10);
  const { repo } = await testRepo(path.join(cacheRoot, 'a'), { backend });
  const { ids, data } = await storeBlobs(repo, 20);
  stats.peak = 0;
  const got = await repo.loadBlobs(ids);
  expect(got.map((b) => b.toString('hex'))).toEqual(data.map((b) => b.toString('hex')));
  expect(stats.peak).toBeGreaterThan(1);
  expect(stats.peak).toBeLessThanOrEqual(8);
  await repo.close();
});

it('loadBlobs fails with NOT_FOUND for an unknown id before it reads anything', async () => {
  const { backend, stats } = slowReads(0);
  const { repo } = await testRepo(path.join(cacheRoot, 'b'), { backend });
  const { ids } = await storeBlobs(repo, 3);
  const reads = stats.packReads;
  await expectCode(repo.loadBlobs([ids[0]!, Buffer.alloc(32, 7), ids[1]!]), 'NOT_FOUND', /0707.* is not in the index/);
  expect(stats.packReads).toBe(reads);
  await repo.close();
});

it('prefetchIndex lists the index files without a lookup; close() closes a cache still opening', async () => {
  const { backend, stats } = slowReads(0);
  const dir = path.join(cacheRoot, 'c');
  const { repo: first } = await testRepo(dir, { backend });
  await storeBlobs(first, 2);
  await first.close();
  const repo = await Repository.open(backend, { cacheRoot: dir });
  const lock = await lockRepository(repo, 'shared');
  const lists = stats.indexLists;
  repo.prefetchIndex();
  repo.prefetchIndex(); // once
  await expect.poll(() => stats.indexLists).toBe(lists + 1);
  await lock.release();
  await repo.close();
  // the prefetched cache was closed: its slot (the first) is free again
  const again = await LevelIndex.open(repo.cacheDir);
  expect(path.basename(again.location)).toBe('index-0');
  await again.close();
});

it('close() right after prefetchIndex() waits for the opening and leaves no slot held', async () => {
  const { backend } = slowReads(0);
  const dir = path.join(cacheRoot, 'd');
  const { repo: first } = await testRepo(dir, { backend });
  await storeBlobs(first, 2);
  await first.close();
  const repo = await Repository.open(backend, { cacheRoot: dir });
  repo.prefetchIndex();
  await repo.close();
  const again = await LevelIndex.open(repo.cacheDir);
  expect(path.basename(again.location)).toBe('index-0');
  await again.close();
});
