/**
 * A writer keeps `backend.info.uploads` pack uploads in flight (S3: connections - 1): the pack
 * just finished joins them before the writer waits for the oldest, so at most uploads + 1 are
 * in flight, and memory stays bounded at `connections` packs.
 */
import * as fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { restoreBytes, seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

/** A memory backend with slow pack saves that records how many run at once. */
function slowPacks(uploads: number | undefined): { backend: Backend; peak: () => number } {
  const mem = new MemoryBackend();
  let running = 0;
  let peak = 0;
  const backend: Backend = Object.create(mem) as Backend;
  Object.defineProperty(backend, 'info', { value: { ...mem.info, ...(uploads !== undefined && { uploads }) } });
  backend.save = async (h, d, o) => {
    if (h.type !== 'pack') return mem.save(h, d, o);
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 15));
    running--;
    return mem.save(h, d, o);
  };
  return { backend, peak: () => peak };
}

it.each([
  [undefined, 1],
  [3, 3],
])('backend uploads %s: %i (+1) pack uploads in flight, and the data is intact', async (uploads, expected) => {
  const { backend, peak } = slowPacks(uploads);
  const { repo } = await testRepo(cacheRoot, { backend, packSize: 2 << 20 });
  const data = seeded(`uploads-${uploads}`, 16 << 20);
  const snap = await snapshotBytes(repo, data, 'x', { format: 'raw' });
  expect(peak()).toBeGreaterThanOrEqual(expected);
  expect(peak()).toBeLessThanOrEqual(expected + 1);
  expect((await restoreBytes(repo, snap.id)).equals(data)).toBe(true);
  await repo.close();
});
