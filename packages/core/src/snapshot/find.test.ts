import * as fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { TEST_KDF } from '../repository/keys.js';
import { Repository } from '../repository/repository.js';
import { expectCode } from '../testing/expect-code.js';
import { seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { listSnapshots, loadSnapshot, peekSnapshots } from './find.js';

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

describe('snapshot files read while the repository opens (OpenOptions.readSnapshotsEarly)', () => {
  it('are read before the key is derived and not read again; the listing after still decides what exists, and bytes not matching their name are read again', async () => {
    const mem = new MemoryBackend();
    const made = await Repository.init(mem, { cacheRoot, password: 'pw', kdf: TEST_KDF, packSize: 64 * 1024, chunkAvg: 4096 });
    const a = await snapshotBytes(made, seeded('a', 10_000), 'a');
    const b = await snapshotBytes(made, seeded('b', 10_000), 'b');
    await made.close();
    const loads: string[] = [];
    const load = mem.load.bind(mem);
    const spy = vi.spyOn(mem, 'load').mockImplementation(async (h, range, o) => {
      if (h.type === 'snapshot') loads.push(h.name);
      return load(h, range, o);
    });
    let loadsBeforeKey = -1;
    const repo = await Repository.open(mem, {
      cacheRoot,
      readSnapshotsEarly: true,
      password: async () => {
        await new Promise((r) => setTimeout(r, 20)); // the early reads run while the password is asked for and the key derived
        loadsBeforeKey = loads.length;
        return 'pw';
      },
    });
    try {
      expect(loadsBeforeKey).toBe(2);
      expect(new Set(await repo.earlySnapshotNames())).toEqual(new Set([a.id, b.id]));
      expect((await peekSnapshots(repo))?.map((s) => s.id)).toEqual([a.id, b.id]);
      // another process forgets a and adds c after the early listing: the listing decides
      const c = await snapshotBytes(repo, seeded('c', 10_000), 'c');
      mem.files.delete(`snapshots/${a.id}`);
      loads.length = 0;
      expect((await listSnapshots(repo)).map((s) => s.id)).toEqual([b.id, c.id]);
      expect(loads).toEqual([c.id]); // b's early bytes were used
      // bytes read early that do not match their name are never opened: the file is read again
      const early = await repo.earlySnapshotNames();
      expect(early).toContain(b.id);
      mem.files.set(`snapshots/${b.id}`, Buffer.from('damaged'));
      loads.length = 0;
      expect((await loadSnapshot(repo, b.id)).id).toBe(b.id); // still the early, intact bytes
      expect(loads).toEqual([]);
    } finally {
      spy.mockRestore();
      await repo.close();
    }
    const again = await Repository.open(mem, { cacheRoot, readSnapshotsEarly: true, password: 'pw' });
    try {
      await expectCode(loadSnapshot(again, b.id), 'CORRUPT'); // the damaged file, read early and again
    } finally {
      await again.close();
    }
  });

  it('a wrong password still fails as WRONG_PASSWORD, and without the option nothing is read early', async () => {
    const mem = new MemoryBackend();
    const made = await Repository.init(mem, { cacheRoot, password: 'pw', kdf: TEST_KDF });
    await snapshotBytes(made, seeded('a', 1000), 'a');
    await made.close();
    await expectCode(Repository.open(mem, { cacheRoot, readSnapshotsEarly: true, password: 'wrong' }), 'WRONG_PASSWORD');
    const plain = await Repository.open(mem, { cacheRoot, password: 'pw' });
    try {
      expect(await plain.earlySnapshotNames()).toBeUndefined();
      expect(await peekSnapshots(plain)).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
