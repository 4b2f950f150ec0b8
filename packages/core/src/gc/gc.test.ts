import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { faulty } from '../backend/faulty.js';
import type { MemoryBackend } from '../backend/memory.js';
import { check } from '../check/check.js';
import { isStowageError } from '../errors.js';
import { forget } from '../forget/forget.js';
import { Repository } from '../repository/repository.js';
import { listSnapshots } from '../snapshot/find.js';
import { restoreBytes, seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { executeGc } from './execute.js';
import { gc } from './gc.js';
import { IndexTable } from '../blob-index/index-table.js';
import { classifyPacks, maxUnusedBytes, parseMaxUnused, planGc, type PackStats } from './plan.js';
import { expectCode } from '../testing/expect-code.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

function pack(id: string, blobs: number, usedBlobs: number, usedBytes: number, unusedBytes: number): PackStats {
  return { id, size: usedBytes + unusedBytes + 100, blobs, usedBlobs, usedBytes, unusedBytes };
}

describe('classifyPacks (pure)', () => {
  const packs = [
    pack('a', 10, 10, 1000, 0), // full
    pack('b', 10, 0, 0, 1000), // empty
    pack('c', 10, 5, 500, 500), // half used
    pack('d', 10, 9, 900, 100), // 10% unused
    pack('e', 10, 8, 800, 200), // 20% unused
  ];
  const act = (m: Parameters<typeof classifyPacks>[1]) => Object.fromEntries(classifyPacks(packs, m).map((p) => [p.id, p.action]));

  it('deletes unused packs, keeps full ones, repacks the most wasteful first until within the limit', () => {
    // used = 3200; 5% -> unused allowed 3200*5/95 = 168; partly used unused = 800 -> repack c (500), e (200) -> 100 left
    expect(maxUnusedBytes({ percent: 5 }, 3200)).toBe(168);
    expect(act({ percent: 5 })).toEqual({ a: 'keep', b: 'delete', c: 'repack', d: 'keep', e: 'repack' });
    expect(act({ percent: 0 })).toEqual({ a: 'keep', b: 'delete', c: 'repack', d: 'repack', e: 'repack' });
    expect(act('unlimited')).toEqual({ a: 'keep', b: 'delete', c: 'keep', d: 'keep', e: 'keep' });
    expect(act({ bytes: 300 })).toEqual({ a: 'keep', b: 'delete', c: 'repack', d: 'keep', e: 'keep' });
  });

  it('parses --max-unused', async () => {
    expect(parseMaxUnused('5%')).toEqual({ percent: 5 });
    expect(parseMaxUnused('0')).toEqual({ bytes: 0 });
    expect(parseMaxUnused('10M')).toEqual({ bytes: 10 * 1024 * 1024 });
    expect(parseMaxUnused('100%')).toBe('unlimited');
    expect(parseMaxUnused('unlimited')).toBe('unlimited');
    await expectCode(() => parseMaxUnused('lots'), 'INVALID_ARGUMENT', /invalid --max-unused/);
  });
});

/**
 * Three snapshots: "one" interleaves segments p0 q0 p1 q1 ..., "two" is p0 p1 ... (so it
 * shares most chunks with one), "three" is unrelated. Forgetting "one" leaves the packs it
 * wrote partly used (the p chunks stay, the q chunks go).
 */
async function setup() {
  const { backend, repo } = await testRepo(cacheRoot);
  const p = Array.from({ length: 8 }, (_, i) => seeded(`p${i}`, 40_000));
  const q = Array.from({ length: 8 }, (_, i) => seeded(`q${i}`, 40_000));
  const data = {
    one: Buffer.concat(p.flatMap((x, i) => [x, q[i]!])),
    two: Buffer.concat(p),
    three: seeded('three', 150_000),
  };
  const snaps: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(data)) snaps[name] = (await snapshotBytes(repo, bytes, name)).id;
  return { backend: backend as MemoryBackend, repo, data, snaps };
}

const files = (b: MemoryBackend, dir: string) => [...b.files.keys()].filter((k) => k.startsWith(dir + '/')).sort();

describe('gc', () => {
  it('frees what only forgotten snapshots used; everything else restores; check is clean', async () => {
    const { backend, repo, data, snaps } = await setup();
    const before = files(backend, 'data');
    const dry = await gc(repo, { dryRun: true });
    expect(dry.result).toBeUndefined();
    expect(dry.plan.packs.every((p) => p.action === 'keep')).toBe(true);
    expect(files(backend, 'data')).toEqual(before);

    // small chunks share frames: forgetting "one" leaves frames partly used, which gc re-compresses
    const before1 = await IndexTable.load(repo);
    let framed = 0;
    for (let e = 0; e < before1.count; e++) if (before1.isFramed(e)) framed++;
    expect(framed).toBeGreaterThan(10);
    await forget(repo, { ids: [snaps.one!] });
    const out = await gc(repo, { maxUnused: { percent: 0 } });
    const p = out.plan;
    expect(p.stats.usedBlobs).toBeLessThan(p.stats.blobs);
    expect(p.packs.some((x) => x.action === 'delete')).toBe(true);
    expect(out.result!.packsDeleted).toBeGreaterThan(0);
    expect(out.result!.bytesFreed).toBeGreaterThan(150_000);
    // after gc with max-unused 0 nothing unused remains
    const again = await planGc(repo);
    expect(again.stats.unusedBytes).toBe(0);
    expect(again.stats.usedBlobs).toBe(again.stats.blobs);
    expect(again.rewriteIndex).toBe(false);
    expect((await restoreBytes(repo, snaps.two!)).equals(data.two)).toBe(true);
    expect((await restoreBytes(repo, snaps.three!)).equals(data.three)).toBe(true);
    const c = await check(repo, { readData: true });
    expect(c.findings).toEqual([]);
    // a fresh process (new Repository, its own index cache slot) sees the new index
    const r2 = await Repository.open(backend, { cacheRoot });
    expect((await restoreBytes(r2, snaps.two!)).equals(data.two)).toBe(true);
    await r2.close();
    await repo.close();
  });

  it('repacks partly used packs: new packs and index land before old ones go', async () => {
    const { backend, repo, data, snaps } = await setup();
    await forget(repo, { ids: [snaps.one!] });
    const plan = await planGc(repo, { maxUnused: { percent: 0 } });
    const repack = plan.packs.filter((x) => x.action === 'repack');
    expect(repack.length).toBeGreaterThan(0);
    // record the order of saves and removes
    const log: string[] = [];
    const save = backend.save.bind(backend);
    const remove = backend.remove.bind(backend);
    backend.save = async (h, d, o) => {
      log.push(`save ${h.type}`);
      return save(h, d, o);
    };
    backend.remove = async (h, o) => {
      log.push(`remove ${h.type}`);
      return remove(h, o);
    };
    const r = await executeGc(repo, plan);
    backend.save = save;
    backend.remove = remove;
    expect(r.packsWritten).toBeGreaterThan(0);
    const firstRemove = log.findIndex((l) => l.startsWith('remove'));
    expect(log.slice(firstRemove).every((l) => l.startsWith('remove'))).toBe(true);
    expect(log.slice(0, firstRemove)).toContain('save index');
    expect(log.lastIndexOf('save pack')).toBeLessThan(log.indexOf('save index') === -1 ? Infinity : log.lastIndexOf('save index'));
    for (const n of ['two', 'three'] as const) expect((await restoreBytes(repo, snaps[n]!)).equals(data[n])).toBe(true);
    expect((await check(repo, { readData: true })).errors).toBe(0);
    await repo.close();
  });

  it('an interrupted gc leaves a repository that checks clean, and the next gc finishes the job', async () => {
    for (const failAt of [
      { op: 'save' as const, type: 'index' as const }, // after uploading repacked packs
      { op: 'remove' as const, type: 'index' as const }, // after the new index, before old ones go
      { op: 'remove' as const, type: 'pack' as const, nth: 2 }, // halfway through deleting packs
    ]) {
      const { backend, repo, data, snaps } = await setup();
      await forget(repo, { ids: [snaps.one!] });
      await repo.close();
      const broken = await Repository.open(faulty(backend, [{ ...failAt, nth: failAt.nth ?? 1, error: 'EIO' }]), { cacheRoot });
      const err = await gc(broken, { maxUnused: { percent: 0 } }).catch((e: unknown) => e);
      expect(isStowageError(err, 'BACKEND'), String(err)).toBe(true);
      await broken.close();
      const r = await Repository.open(backend, { cacheRoot });
      const c1 = await check(r, { readData: true });
      expect(c1.errors, JSON.stringify(c1.findings)).toBe(0);
      expect(c1.findings.every((f) => f.kind === 'pack-unreferenced')).toBe(true);
      for (const n of ['two', 'three'] as const) expect((await restoreBytes(r, snaps[n]!)).equals(data[n])).toBe(true);
      const second = await gc(r, { maxUnused: { percent: 0 } });
      expect(second.result).toBeDefined();
      const c2 = await check(r, { readData: true });
      expect(c2.findings).toEqual([]);
      const p = await planGc(r);
      expect(p.stats.unusedBytes).toBe(0);
      expect(p.unindexedPacks).toEqual([]);
      for (const n of ['two', 'three'] as const) expect((await restoreBytes(r, snaps[n]!)).equals(data[n])).toBe(true);
      await r.close();
    }
  });

  it('a rerun that writes byte-identical packs never deletes them', async () => {
    const { backend, repo, data, snaps } = await setup();
    await forget(repo, { ids: [snaps.one!] });
    const plan1 = await planGc(repo, { maxUnused: { percent: 0 } });
    // run 1 dies after uploading its packs (the index save fails)
    const broken = await Repository.open(faulty(backend, [{ op: 'save', type: 'index', error: 'ENOSPC' }]), { cacheRoot });
    await expect(executeGc(broken, await planGc(broken, { maxUnused: { percent: 0 } }))).rejects.toMatchObject({ code: 'BACKEND' });
    await broken.close();
    // run 2 plans the same repacks: its packs are the unindexed debris of run 1, byte for byte
    const plan2 = await planGc(repo, { maxUnused: { percent: 0 } });
    expect(plan2.unindexedPacks.length).toBeGreaterThan(0);
    expect(plan2.packs.filter((p) => p.action === 'repack').map((p) => p.id)).toEqual(plan1.packs.filter((p) => p.action === 'repack').map((p) => p.id));
    await executeGc(repo, plan2);
    expect((await check(repo, { readData: true })).findings).toEqual([]);
    for (const n of ['two', 'three'] as const) expect((await restoreBytes(repo, snaps[n]!)).equals(data[n])).toBe(true);
    await repo.close();
  });

  it('refuses to run when snapshots reference blobs that are not in the index; deletes nothing', async () => {
    const { backend, repo } = await setup();
    const idx = files(backend, 'index');
    backend.files.delete(idx[0]!);
    const before = [...backend.files.keys()].sort();
    const err = await gc(repo).catch((e: unknown) => e);
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/gc refuses to run: .*not in the index.*Nothing was deleted/);
    expect([...backend.files.keys()].filter((k) => !k.startsWith('locks/')).sort()).toEqual(before);
    expect(files(backend, 'locks')).toEqual([]);
    await repo.close();
  });

  it('stops before deleting anything when a blob it must copy is damaged', async () => {
    const { backend, repo, snaps } = await setup();
    await forget(repo, { ids: [snaps.one!] });
    const plan = await planGc(repo, { maxUnused: { percent: 0 } });
    const victim = plan.packs.find((p) => p.action === 'repack')!;
    const key = `data/${victim.id.slice(0, 2)}/${victim.id}`;
    const bytes = backend.files.get(key)!;
    // damage the first used blob of the pack
    const tp = plan.table.packAt(plan.table.packNo(victim.id)!);
    let e = tp.first;
    while (!plan.table.marked(e)) e++;
    bytes[plan.table.offset(e) + 1]! ^= 0xff;
    const before = [...backend.files.keys()].filter((k) => !k.startsWith('data/')).sort();
    const err = await gc(repo, { maxUnused: { percent: 0 } }).catch((x: unknown) => x);
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/gc stopped before deleting anything: blob [0-9a-f]{64} in pack/);
    expect(backend.files.has(key)).toBe(true);
    expect([...backend.files.keys()].filter((k) => k.startsWith('index/')).sort()).toEqual(before.filter((k) => k.startsWith('index/')));
    expect(await listSnapshots(repo)).toHaveLength(2);
    await repo.close();
  });

  it('fails loudly when a repacked pack reads back different (the uploader of pack/upload.ts); deletes nothing', async () => {
    const { backend, repo, snaps } = await setup();
    await forget(repo, { ids: [snaps.one!] });
    const plan = await planGc(repo, { maxUnused: { percent: 0 } });
    expect(plan.packs.some((p) => p.action === 'repack')).toBe(true);
    const old = new Set(files(backend, 'data'));
    const before = [...backend.files.keys()].filter((k) => !k.startsWith('locks/')).sort();
    const load = backend.load.bind(backend);
    backend.load = async (h, range, o) => {
      const b = Buffer.from(await load(h, range, o));
      if (h.type === 'pack' && range && !old.has(`data/${h.name.slice(0, 2)}/${h.name}`)) b[0]! ^= 1; // only the new packs read back wrong
      return b;
    };
    const err = await executeGc(repo, plan).catch((x: unknown) => x);
    backend.load = load;
    expect(err).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/trailer read back from .* differs from what was written/) });
    const after = [...backend.files.keys()].filter((k) => !k.startsWith('locks/'));
    expect(before.every((k) => after.includes(k))).toBe(true); // nothing deleted
    expect(after.filter((k) => k.startsWith('index/')).sort()).toEqual(before.filter((k) => k.startsWith('index/')));
    await repo.close();
  });
});
