import * as fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { MemoryBackend } from '../backend/memory.js';
import { expectCode } from '../testing/expect-code.js';
import { seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { listSnapshots } from './find.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

describe('listSnapshots', () => {
  it('leaves out a snapshot removed between the listing and its load (a forget beside it), and still fails on a damaged one', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const mem = backend as MemoryBackend;
    const a = await snapshotBytes(repo, seeded('a', 10_000), 'a');
    const b = await snapshotBytes(repo, seeded('b', 10_000), 'b');
    const list = repo.listNames.bind(repo);
    const spy = vi.spyOn(repo, 'listNames').mockImplementation(async (type) => {
      const names = await list(type);
      mem.files.delete(`snapshots/${a.id}`); // "another process" forgets a after the listing
      return names;
    });
    expect((await listSnapshots(repo)).map((s) => s.id)).toEqual([b.id]);
    spy.mockRestore();
    mem.files.set(`snapshots/${b.id}`, Buffer.from('not a snapshot'));
    await expectCode(listSnapshots(repo), 'CORRUPT');
    await repo.close();
  });
});
