import * as fs from 'node:fs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import type { MemoryBackend } from '../backend/memory.js';
import { check } from '../check/check.js';
import { isStowageError } from '../errors.js';
import { forget } from '../forget/forget.js';
import { gc } from '../gc/gc.js';
import { IndexTable } from '../blob-index/index-table.js';
import { Repository } from '../repository/repository.js';
import { repairIndex } from '../repository/repair-index.js';
import { restoreBytes, seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

/** `data` with a few bytes changed (a rebuilt binary: same layout, a build id and some addresses differ). */
function patched(data: Buffer, seed: number, edits = 12): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < edits; i++) out[(seed * 7919 + i * 104_729) % out.length]! ^= 0x5a;
  return out;
}

/** Two versions of an image-like tar: v2 changes every file a little, adds one, drops none. */
function versions() {
  const tool = seeded('tool', 300_000);
  const lib = seeded('lib', 120_000);
  const conf = Buffer.from('key = value\n'.repeat(2_000));
  const small = Buffer.from('tiny file\n');
  const v1 = tarOf([
    { name: 'usr/bin/tool', data: tool },
    { name: 'usr/lib/libx.so', data: lib },
    { name: 'etc/tool.conf', data: conf },
    { name: 'etc/small', data: small },
  ]);
  const v2 = tarOf([
    { name: 'usr/bin/tool', data: patched(tool, 1) },
    { name: 'usr/lib/libx.so', data: patched(lib, 2) },
    { name: 'etc/tool.conf', data: patched(conf, 3, 1) },
    { name: 'etc/small', data: small },
    { name: 'usr/bin/new', data: seeded('new', 50_000) },
  ]);
  const unrelated = tarOf([{ name: 'other', data: seeded('other', 200_000) }]);
  return { v1, v2, unrelated };
}

/** A repository holding v1 and v2 (v2 stored as deltas against v1). */
async function twoVersions() {
  const { backend, repo } = await testRepo(cacheRoot);
  const { v1, v2 } = versions();
  const s1 = await snapshotBytes(repo, v1, 'img', { format: 'tar' });
  const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar' });
  return { backend: backend as MemoryBackend, repo, v1, v2, s1, s2 };
}

const files = (b: MemoryBackend, dir: string) => [...b.files.keys()].filter((k) => k.startsWith(dir + '/'));

describe('delta blobs (changed files stored against their previous version)', () => {
  it('stores a changed file as a small delta and restores both versions byte for byte', async () => {
    const { repo } = await testRepo(cacheRoot);
    const { v1, v2 } = versions();
    const s1 = await snapshotBytes(repo, v1, 'img', { format: 'tar' });
    expect(s1.content.files?.length).toBe(1);
    expect(s1.summary.deltaBlobs).toBeUndefined();
    const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar' });
    expect(s2.basis).toBe(s1.id);
    // every edited chunk is new; the files are random bytes (incompressible), so alone they would cost their size
    expect(s2.summary.deltaBlobs).toBeGreaterThanOrEqual(20);
    expect(s2.summary.bytesNew).toBeGreaterThan(50_000 + 20 * 1024);
    // the new file (50 kB) is stored whole; the edited chunks cost a few bytes each
    expect(s2.summary.bytesStored - 50_000).toBeLessThan((s2.summary.bytesNew - 50_000) / 10);
    expect((await restoreBytes(repo, s2.id)).equals(v2)).toBe(true);
    expect((await restoreBytes(repo, s1.id)).equals(v1)).toBe(true);
    expect((await check(repo, { readData: true })).findings).toEqual([]);
    // a fresh process reads the delta entries from the index files
    const r2 = await Repository.open(repo.backend, { cacheRoot });
    expect((await restoreBytes(r2, s2.id)).equals(v2)).toBe(true);
    await r2.close();
    await repo.close();
  });

  it('without deltas (delta: false, or raw input) v2 costs its changed bytes again', async () => {
    const { repo } = await testRepo(cacheRoot);
    const { v1, v2 } = versions();
    await snapshotBytes(repo, v1, 'img', { format: 'tar' });
    const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar', delta: false });
    expect(s2.summary.deltaBlobs).toBeUndefined();
    expect(s2.basis).toBeUndefined();
    expect(s2.summary.bytesStored).toBeGreaterThan(s2.summary.bytesNew * 0.9);
    expect((await restoreBytes(repo, s2.id)).equals(v2)).toBe(true);
    await repo.close();
  });

  it('works in encrypted repositories', async () => {
    const { repo } = await testRepo(cacheRoot, { password: 'pw' });
    expect(repo.config.encryption).not.toBe('none');
    const { v1, v2 } = versions();
    await snapshotBytes(repo, v1, 'img', { format: 'tar' });
    const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar' });
    expect(s2.summary.deltaBlobs).toBeGreaterThanOrEqual(20);
    expect(s2.summary.bytesStored - 50_000).toBeLessThan((s2.summary.bytesNew - 50_000) / 5);
    expect((await restoreBytes(repo, s2.id)).equals(v2)).toBe(true);
    expect((await check(repo, { readData: true })).findings).toEqual([]);
    await repo.close();
  });

  it('the basis is the latest snapshot of the same name, or one given explicitly', async () => {
    const { repo } = await testRepo(cacheRoot);
    const { v1, v2, unrelated } = versions();
    const s1 = await snapshotBytes(repo, v1, 'img', { format: 'tar' });
    await snapshotBytes(repo, unrelated, 'other', { format: 'tar' });
    const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar' });
    expect(s2.basis).toBe(s1.id);
    const s3 = await snapshotBytes(repo, patched(v2, 9, 4), 'renamed', { format: 'tar', basis: s2.id.slice(0, 10) });
    expect(s3.basis).toBe(s2.id);
    await repo.close();
  });

  it('gc keeps the bases of live deltas after their own snapshot is forgotten, and repacks them correctly', async () => {
    const { backend, repo, v2, s1, s2 } = await twoVersions();
    await forget(repo, { ids: [s1.id] });
    const out = await gc(repo, { maxUnused: { percent: 0 } });
    // v1's chunk lists and file map go; its data chunks are v2's bases and stay
    expect(out.plan.stats.usedBlobs).toBeLessThan(out.plan.stats.blobs);
    expect(out.plan.stats.usedBlobs).toBeGreaterThan(s2.summary.deltaBlobs!);
    expect((await restoreBytes(repo, s2.id)).equals(v2)).toBe(true);
    expect((await check(repo, { readData: true })).findings).toEqual([]);
    // repacked packs carry their delta entries' base references
    const t = await IndexTable.load(repo);
    let deltas = 0;
    for (let e = 0; e < t.count; e++) if (t.isDelta(e)) deltas++;
    expect(deltas).toBe(s2.summary.deltaBlobs);
    for (let e = 0; e < t.count; e++) if (t.isDelta(e)) expect(t.baseEntry(e)).toBeGreaterThanOrEqual(0);
    const r2 = await Repository.open(backend, { cacheRoot });
    expect((await restoreBytes(r2, s2.id)).equals(v2)).toBe(true);
    await r2.close();
    await repo.close();
  });

  it('repair index rebuilds delta entries and their base references from the pack trailers', async () => {
    const { backend, repo, v2, s2 } = await twoVersions();
    await repo.close();
    for (const k of files(backend, 'index')) backend.files.delete(k);
    const fresh = tempCacheRoot(); // a cache without the old index
    onTestFinished(() => fs.rmSync(fresh, { recursive: true, force: true })); // nothing left in the temp dir (issue 15 item 10)
    const r2 = await Repository.open(backend, { cacheRoot: fresh });
    await repairIndex(r2);
    const t = await IndexTable.load(r2);
    let deltas = 0;
    for (let e = 0; e < t.count; e++) if (t.isDelta(e) && t.baseEntry(e) >= 0) deltas++;
    expect(deltas).toBe(s2.summary.deltaBlobs);
    expect((await restoreBytes(r2, s2.id)).equals(v2)).toBe(true);
    expect((await check(r2, { readData: true })).findings).toEqual([]);
    await r2.close();
  });

  it('a basis whose file map cannot be read only costs the deltas', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const { v1, v2 } = versions();
    const s1 = await snapshotBytes(repo, v1, 'img', { format: 'tar' });
    const t = await IndexTable.load(repo);
    const e = t.find(Buffer.from(s1.content.files![0]!, 'hex'));
    const mem = backend as MemoryBackend;
    const key = files(mem, 'data').find((k) => k.endsWith(t.packAt(t.pack(e)).id))!;
    const bytes = Buffer.from(mem.files.get(key)!);
    bytes[t.offset(e) + 1]! ^= 0xff;
    mem.files.set(key, bytes);
    const s2 = await snapshotBytes(repo, v2, 'img', { format: 'tar' });
    expect(s2.basis).toBeUndefined();
    expect((await restoreBytes(repo, s2.id)).equals(v2)).toBe(true);
    // naming it explicitly is an error
    const err = await snapshotBytes(repo, v2, 'img2', { format: 'tar', basis: s1.id }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    await repo.close();
  });

  it('a damaged base is reported with the snapshot that needs it; restore fails CORRUPT', async () => {
    const { backend, repo, s1, s2 } = await twoVersions();
    await forget(repo, { ids: [s1.id] });
    // damage one base: find a delta entry, then flip a byte of its base's stored bytes
    const t = await IndexTable.load(repo);
    let base = -1;
    for (let e = 0; e < t.count && base < 0; e++) if (t.isDelta(e)) base = t.baseEntry(e);
    expect(base).toBeGreaterThanOrEqual(0);
    const mem = backend;
    const key = files(mem, 'data').find((k) => k.endsWith(t.packAt(t.pack(base)).id))!;
    const bytes = Buffer.from(mem.files.get(key)!);
    bytes[t.offset(base) + 3]! ^= 0xff;
    mem.files.set(key, bytes);
    const c = await check(repo, { readData: true });
    const damaged = c.findings.filter((f) => f.severity === 'error');
    expect(damaged.some((f) => f.blob === t.idHex(base))).toBe(true);
    expect(damaged.some((f) => f.snapshots?.includes(s2.id))).toBe(true);
    const err = await restoreBytes(repo, s2.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    await repo.close();
  });
});
