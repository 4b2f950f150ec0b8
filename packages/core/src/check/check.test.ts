import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { faulty } from '../backend/faulty.js';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { gc } from '../gc/gc.js';
import { Repository } from '../repository/repository.js';
import { restoreBytes, seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { check, inSubset, parseReadDataSubset } from './check.js';
import { expectCode } from '../testing/expect-code.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

const packKeys = (b: MemoryBackend) => [...b.files.keys()].filter((k) => k.startsWith('data/')).sort();

describe('check', () => {
  it('a clean repository has no findings; damage is named with the snapshots that depend on it', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const mem = backend as MemoryBackend;
    const a = await snapshotBytes(repo, seeded('a', 300_000), 'a');
    const before = new Set(packKeys(mem));
    const b = await snapshotBytes(repo, seeded('b', 300_000), 'b');
    expect((await check(repo, { readData: true })).findings).toEqual([]);

    // a flipped byte in one of b's packs: found only by read-data, naming blob, pack and snapshot b
    const victim = packKeys(mem).find((k) => !before.has(k))!;
    const packId = victim.slice(victim.lastIndexOf('/') + 1);
    mem.files.get(victim)![100]! ^= 1;
    expect((await check(repo)).errors).toBe(0);
    const r = await check(repo, { readData: true });
    expect(r.errors).toBe(1);
    const f = r.findings.find((x) => x.severity === 'error')!;
    expect(f.kind).toBe('blob-damaged');
    expect(f.pack).toBe(packId);
    expect(f.blob).toMatch(/^[0-9a-f]{64}$/);
    expect(f.message).toMatch(/blob [0-9a-f]{64} in pack [0-9a-f]{64}: /);
    expect(f.snapshots).toEqual([b.id]);
    // a subset that skips the pack sees nothing
    const n = (parseInt(packId.slice(0, 8), 16) % 2) + 1;
    expect((await check(repo, { readDataSubset: { n: 3 - n, m: 2 } })).errors).toBe(0);
    expect((await check(repo, { readDataSubset: { n, m: 2 } })).errors).toBe(1);

    // a missing pack is found without reading data
    mem.files.delete(victim);
    const m = await check(repo);
    const mf = m.findings.find((x) => x.kind === 'pack-missing')!;
    expect(mf.severity).toBe('error');
    expect(mf.snapshots).toEqual([b.id]);
    expect((await restoreBytes(repo, a.id)).equals(seeded('a', 300_000))).toBe(true);
    await repo.close();
  });

  it('a truncated pack: trailer finding naming pack and snapshots', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const mem = backend as MemoryBackend;
    const a = await snapshotBytes(repo, seeded('t', 200_000), 'a');
    const victim = packKeys(mem)[0]!;
    const bytes = mem.files.get(victim)!;
    mem.files.set(victim, bytes.subarray(0, bytes.length >> 1));
    const r = await check(repo);
    const f = r.findings.find((x) => x.kind === 'pack-damaged')!;
    expect(f.message).toMatch(/pack [0-9a-f]{64}: /);
    expect(f.snapshots).toEqual([a.id]);
    await repo.close();
  });

  it('read-data reads big packs in windows: blobs across window edges verify, and damage in them is found', async () => {
    const { backend, repo } = await testRepo(cacheRoot, { packSize: 12 << 20, chunkAvg: 1 << 20, compressionLevel: 0 });
    const mem = backend as MemoryBackend;
    const s = await snapshotBytes(repo, seeded('big', 11 << 20), 'big');
    expect((await check(repo, { readData: true })).findings).toEqual([]);
    const key = packKeys(mem).sort((x, y) => mem.files.get(y)!.length - mem.files.get(x)!.length)[0]!;
    expect(mem.files.get(key)!.length).toBeGreaterThan(8 << 20);
    mem.files.get(key)![(4 << 20) + 3]! ^= 1; // inside whatever blob spans the first window edge
    const r = await check(repo, { readData: true });
    expect(r.errors).toBe(1);
    expect(r.findings[0]).toMatchObject({ kind: 'blob-damaged', snapshots: [s.id] });
    await repo.close();
  });

  it('parses read-data subsets', async () => {
    expect(parseReadDataSubset('1/5')).toEqual({ n: 1, m: 5 });
    expect(parseReadDataSubset('12.5%')).toEqual({ percent: 12.5 });
    await expectCode(() => parseReadDataSubset('6/5'), 'INVALID_ARGUMENT', /n <= m/);
    await expectCode(() => parseReadDataSubset('0%'), 'INVALID_ARGUMENT');
    await expectCode(() => parseReadDataSubset('half'), 'INVALID_ARGUMENT', /invalid/);
    const ids = Array.from({ length: 300 }, (_, i) => i.toString(16).padStart(8, '0') + '0'.repeat(56));
    const groups = [1, 2, 3].map((n) => ids.filter((id) => inSubset(id, { n, m: 3 })).length);
    expect(groups.reduce((x, y) => x + y)).toBe(300); // every pack in exactly one group
    expect(groups.every((g) => g === 100)).toBe(true);
  });
});

describe('write failures (fault-injecting backend)', () => {
  for (const [error, torn] of [
    ['EIO', false],
    ['ENOSPC', true],
  ] as const) {
    it(`${error}${torn ? ' with a torn write' : ''} in the middle of a snapshot: a clear error, and the repository still checks clean`, async () => {
      const mem = new MemoryBackend();
      const { repo: setup } = await testRepo(cacheRoot, { backend: mem });
      const first = await snapshotBytes(setup, seeded('first', 200_000), 'first');
      await setup.close();

      const broken = await Repository.open(faulty(mem, [{ op: 'save', type: 'pack', nth: 3, error, torn }]), { cacheRoot });
      const err = await snapshotBytes(broken, seeded('second', 600_000), 'second').catch((e: unknown) => e);
      expect(isStowageError(err, 'BACKEND'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(error === 'EIO' ? /save data\/[0-9a-f]{2}\/[0-9a-f]{64}: input\/output error/ : /no space left on device/);
      await broken.close();
      expect([...mem.files.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]); // the lock was released

      const repo = await Repository.open(mem, { cacheRoot });
      const r = await check(repo, { readData: true });
      expect(r.errors, JSON.stringify(r.findings)).toBe(0);
      expect(r.snapshots).toBe(1);
      // what the failed snapshot left is debris: unreferenced packs, deleted by gc
      expect(r.findings.every((f) => f.kind === 'pack-unreferenced')).toBe(true);
      expect(r.findings.length).toBeGreaterThan(0);
      await gc(repo);
      expect((await check(repo, { readData: true })).findings).toEqual([]);
      expect((await restoreBytes(repo, first.id)).equals(seeded('first', 200_000))).toBe(true);
      // and the next snapshot works
      const again = await snapshotBytes(repo, seeded('second', 600_000), 'second');
      expect((await restoreBytes(repo, again.id)).equals(seeded('second', 600_000))).toBe(true);
      await repo.close();
    });
  }

  it('faulty(): nth, times, type filters and read failures', async () => {
    const mem = new MemoryBackend();
    const b = faulty(mem, [
      { op: 'load', type: 'index', error: 'EIO', times: 2 },
      { op: 'save', nth: 2, error: 'EACCES' },
    ]);
    await b.save({ type: 'index', name: 'a1' }, Buffer.from('x'));
    await expect(b.save({ type: 'index', name: 'a2' }, Buffer.from('x'))).rejects.toMatchObject({ code: 'BACKEND', retryable: false });
    await b.save({ type: 'index', name: 'a3' }, Buffer.from('x'));
    await expect(b.load({ type: 'index', name: 'a1' })).rejects.toMatchObject({ code: 'BACKEND', retryable: true });
    await expect(b.load({ type: 'index', name: 'a1' })).rejects.toThrow(/input\/output error \(injected\)/);
    expect(Buffer.from(await b.load({ type: 'index', name: 'a1' })).toString()).toBe('x');
    expect(b.injected).toBe(3);
  });
});
