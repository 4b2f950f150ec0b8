import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { check } from '../check/check.js';
import { isStowageError } from '../errors.js';
import { TEST_KDF } from '../repository/keys.js';
import type { Repository } from '../repository/repository.js';
import { restoreTree } from '../restore/tree-restore.js';
import { listSnapshots } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { snapshotTree } from '../snapshot/tree-snapshot.js';
import { restoreBytes, seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { copyModeFor, copySnapshots, type CopyEvent } from './copy.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

/** Pack and index files of a memory backend. */
function dataFiles(b: MemoryBackend): string[] {
  return [...b.files.keys()].filter((k) => k.startsWith('data/') || k.startsWith('index/')).sort();
}

async function repoOn(opts: { password?: string; chunkAvg?: number } = {}): Promise<{ backend: MemoryBackend; repo: Repository }> {
  const backend = new MemoryBackend();
  const { repo } = await testRepo(cacheRoot, { backend, ...(opts.password !== undefined && { password: opts.password, kdf: TEST_KDF }), ...(opts.chunkAvg && { chunkAvg: opts.chunkAvg }) });
  return { backend, repo };
}

/** Two versions of an image-like tar (v2 changes one file, so it has a file map and deltas), and a raw input. */
const v1 = tarOf([
  { name: 'etc/os-release', data: Buffer.from('NAME=test\n') },
  { name: 'usr/lib/big.so', data: seeded('big', 300_000) },
  { name: 'usr/share/doc.txt', data: seeded('doc', 50_000) },
]);
const v2 = tarOf([
  { name: 'etc/os-release', data: Buffer.from('NAME=test2\n') },
  { name: 'usr/lib/big.so', data: Buffer.concat([seeded('big', 150_000), Buffer.from('patched'), seeded('big', 300_000).subarray(150_007)]) },
  { name: 'usr/share/doc.txt', data: seeded('doc', 50_000) },
]);
const raw = seeded('raw', 200_000);

/** A source with three snapshots of two names, tags, and a fixed time. */
async function filledSource(opts: { password?: string; chunkAvg?: number } = {}): Promise<{ backend: MemoryBackend; repo: Repository; snaps: Snapshot[] }> {
  const r = await repoOn(opts);
  const snaps = [
    await snapshotBytes(r.repo, v1, 'app', { format: 'tar', tags: ['v1', 'prod'], time: new Date('2024-01-01T00:00:00Z') }),
    await snapshotBytes(r.repo, v2, 'app', { format: 'tar', tags: ['v2'], time: new Date('2024-02-01T00:00:00Z') }),
    await snapshotBytes(r.repo, raw, 'db', { tags: ['nightly'], time: new Date('2024-03-01T00:00:00Z') }),
  ];
  return { ...r, snaps };
}

/** Byte equality (toEqual walks buffers element by element: seconds for a few hundred KB). */
function expectBytes(got: Buffer, want: Buffer): void {
  expect(got.length).toBe(want.length);
  expect(got.equals(want)).toBe(true);
}

/** Every fact of the copy equals the original's, except the ids of other snapshots. */
function expectSameFacts(copy: Snapshot, orig: Snapshot): void {
  expect(copy.original).toBe(orig.original ?? orig.id);
  for (const k of ['time', 'hostname', 'username', 'program', 'name', 'tags', 'source', 'format', 'image', 'summary'] as const) expect(copy[k]).toEqual(orig[k]);
  expect(copy.content.chunks).toBeGreaterThan(0);
}

describe('copySnapshots', () => {
  it('copies between encrypted repositories with different passwords by re-chunking; restores are byte-identical; a second copy stores nothing', async () => {
    const src = await filledSource({ password: 'source password' });
    const dst = await repoOn({ password: 'target password' });
    expect(copyModeFor(src.repo, dst.repo).mode).toBe('rechunk');
    const events: CopyEvent['kind'][] = [];
    const r = await copySnapshots(src.repo, dst.repo, { workers: 0, onEvent: (e) => events.push(e.kind) });
    expect(r.mode).toBe('rechunk');
    expect(r.copied).toHaveLength(3);
    expect(events).toEqual(['start', 'copied', 'start', 'copied', 'start', 'copied']);
    const copies = await listSnapshots(dst.repo);
    expect(copies).toHaveLength(3);
    for (const [i, orig] of src.snaps.entries()) {
      const c = copies.find((s) => s.original === orig.id)!;
      expectSameFacts(c, orig);
      expectBytes(await restoreBytes(dst.repo, c.id), [v1, v2, raw][i]!);
    }
    // v2 was stored against v1 in the target too: file maps were rebuilt by the target's snapshot path
    expect(copies.find((s) => s.original === src.snaps[1]!.id)!.content.files?.length).toBeGreaterThan(0);
    expect((await check(dst.repo, { readData: true })).errors).toBe(0);

    const before = dataFiles(dst.backend);
    const again = await copySnapshots(src.repo, dst.repo, { workers: 0 });
    expect(again.copied).toHaveLength(0);
    expect(again.skipped.map((s) => s.source.id)).toEqual(src.snaps.map((s) => s.id));
    expect(dataFiles(dst.backend)).toEqual(before); // no new pack, no new index file
    expect(await listSnapshots(dst.repo)).toHaveLength(3);
    await src.repo.close();
    await dst.repo.close();
  });

  it('copies encrypted -> plaintext and back; a copy of a copy keeps the first original', async () => {
    const src = await filledSource({ password: 'secret' });
    const plain = await repoOn();
    const r = await copySnapshots(src.repo, plain.repo, { workers: 0, refs: ['latest'] });
    expect(r.copied.map((c) => c.source.id)).toEqual([src.snaps[2]!.id]);
    const [c] = await listSnapshots(plain.repo);
    expectBytes(await restoreBytes(plain.repo, c!.id), raw);
    // the plaintext repository holds no encrypted data and reads without a password
    expect(plain.repo.encrypted).toBe(false);
    const back = await repoOn({ password: 'another' });
    const r2 = await copySnapshots(plain.repo, back.repo, { workers: 0 });
    expect(r2.copied[0]!.copy.original).toBe(src.snaps[2]!.id);
    // copying from the first source into that third repository finds it there already
    const r3 = await copySnapshots(src.repo, back.repo, { workers: 0, refs: [src.snaps[2]!.id.slice(0, 8)] });
    expect(r3.skipped).toHaveLength(1);
    expect(r3.copied).toHaveLength(0);
    for (const x of [src, plain, back]) await x.repo.close();
  });

  it('re-chunks between plaintext repositories with different chunker settings, copies blobs as they are with the same settings', async () => {
    const src = await filledSource({ chunkAvg: 4096 });
    const other = await repoOn({ chunkAvg: 16384 });
    const same = await repoOn({ chunkAvg: 4096 });
    expect(copyModeFor(src.repo, other.repo).mode).toBe('rechunk');
    expect(copyModeFor(src.repo, same.repo).mode).toBe('blobs');

    const a = await copySnapshots(src.repo, other.repo, { workers: 0 });
    expect(a.mode).toBe('rechunk');
    // cut by the target's chunker: fewer, larger chunks
    const ca = await listSnapshots(other.repo);
    expect(ca.find((s) => s.original === src.snaps[2]!.id)!.content.chunks).toBeLessThan(src.snaps[2]!.content.chunks);

    const b = await copySnapshots(src.repo, same.repo, { workers: 0 });
    expect(b.mode).toBe('blobs');
    const cb = await listSnapshots(same.repo);
    for (const [i, orig] of src.snaps.entries()) {
      const c = cb.find((s) => s.original === orig.id)!;
      expectSameFacts(c, orig);
      expect(c.content).toEqual(orig.content); // the same chunk lists and file maps, by id
      expectBytes(await restoreBytes(same.repo, c.id), [v1, v2, raw][i]!);
      expectBytes(await restoreBytes(other.repo, ca.find((s) => s.original === orig.id)!.id), [v1, v2, raw][i]!);
    }
    expect(b.stats.newBlobs).toBeGreaterThan(0);
    expect((await check(same.repo, { readData: true })).errors).toBe(0);
    expect((await check(other.repo, { readData: true })).errors).toBe(0);
    const before = dataFiles(same.backend);
    expect((await copySnapshots(src.repo, same.repo, { workers: 0 })).copied).toHaveLength(0);
    expect(dataFiles(same.backend)).toEqual(before);
    // blobs: forcing re-chunking works too; forcing blobs where ids differ is refused
    const forced = await repoOn({ chunkAvg: 4096 });
    expect((await copySnapshots(src.repo, forced.repo, { workers: 0, mode: 'rechunk', refs: [src.snaps[2]!.id] })).mode).toBe('rechunk');
    await expect(copySnapshots(src.repo, other.repo, { mode: 'blobs' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const x of [src, other, same, forced]) await x.repo.close();
  });

  it('copies only the blobs the target lacks (blobs mode): the second version adds only its changes', async () => {
    const src = await filledSource();
    const dst = await repoOn();
    const first = await copySnapshots(src.repo, dst.repo, { workers: 0, refs: [src.snaps[0]!.id] });
    const second = await copySnapshots(src.repo, dst.repo, { workers: 0, refs: [src.snaps[1]!.id] });
    expect(second.stats.presentBlobs).toBeGreaterThan(0);
    expect(second.stats.newBytes).toBeLessThan(first.stats.newBytes / 2);
    await src.repo.close();
    await dst.repo.close();
  });

  it('selects snapshots by reference and by filter', async () => {
    const src = await filledSource({ password: 'p' });
    const names = async (o: Parameters<typeof copySnapshots>[2]) => {
      const dst = await repoOn();
      const r = await copySnapshots(src.repo, dst.repo, { workers: 0, ...o });
      await dst.repo.close();
      return r.copied.map((c) => src.snaps.findIndex((s) => s.id === c.source.id));
    };
    expect(await names({ filter: { names: ['app'] } })).toEqual([0, 1]);
    expect(await names({ filter: { tags: [['prod']] } })).toEqual([0]);
    expect(await names({ filter: { tags: [['v2'], ['nightly']] } })).toEqual([1, 2]);
    expect(await names({ filter: { hosts: ['no-such-host'] } })).toEqual([]);
    expect(await names({ refs: ['latest'], filter: { names: ['app'] } })).toEqual([1]);
    expect(await names({ refs: [src.snaps[2]!.id.slice(0, 6), src.snaps[0]!.id, src.snaps[2]!.id] })).toEqual([2, 0]);
    await src.repo.close();
  });

  it('refuses bad input with stable codes and stores nothing', async () => {
    const src = await filledSource();
    const dst = await repoOn();
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (isStowageError(e) ? e.code : String(e)),
      );
    expect(await codeOf(copySnapshots(src.repo, dst.repo, { refs: ['ffff'] }))).toBe('NOT_FOUND');
    expect(await codeOf(copySnapshots(src.repo, dst.repo, { refs: ['not-hex!'] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(copySnapshots(src.repo, src.repo))).toBe('INVALID_ARGUMENT');
    expect(dataFiles(dst.backend)).toEqual([]);
    expect(await listSnapshots(dst.repo)).toHaveLength(0);
    await src.repo.close();
    await dst.repo.close();
  });

  it('snapshots of directories: copied as they are between alike repositories, re-keyed into an encrypted one; restores identical, a second copy stores nothing', async () => {
    const dir = fs.mkdtempSync(path.join(cacheRoot, 'tree-'));
    fs.mkdirSync(path.join(dir, 'in/sub/deeper'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'in/a.txt'), 'hello\n');
    fs.writeFileSync(path.join(dir, 'in/sub/big.bin'), seeded('tree', 100_000));
    fs.writeFileSync(path.join(dir, 'in/sub/deeper/small.txt'), 'small file\n');
    fs.symlinkSync('a.txt', path.join(dir, 'in/link'));
    const src = await repoOn();
    const tree = (await snapshotTree(src.repo, [path.join(dir, 'in')], { workers: 0 })).snapshot;
    fs.appendFileSync(path.join(dir, 'in/sub/big.bin'), 'more');
    const tree2 = (await snapshotTree(src.repo, [path.join(dir, 'in')], { workers: 0 })).snapshot;
    await snapshotBytes(src.repo, raw, 'db');
    const restoredLike = (repo: Repository, s: Snapshot, out: string, big: Buffer) =>
      restoreTree(repo, s, path.join(dir, out)).then(() => {
        expect(fs.readFileSync(path.join(dir, out, 'a.txt'), 'utf8')).toBe('hello\n');
        expectBytes(fs.readFileSync(path.join(dir, out, 'sub/big.bin')), big);
        expect(fs.readFileSync(path.join(dir, out, 'sub/deeper/small.txt'), 'utf8')).toBe('small file\n');
        expect(fs.readlinkSync(path.join(dir, out, 'link'))).toBe('a.txt');
      });
    const big1 = seeded('tree', 100_000);
    const big2 = Buffer.concat([big1, Buffer.from('more')]);

    const same = await repoOn();
    expect((await copySnapshots(src.repo, same.repo, { workers: 0 })).mode).toBe('blobs');
    const c = (await listSnapshots(same.repo)).find((s) => s.original === tree.id)!;
    expect(c.tree).toEqual(tree.tree);
    await restoredLike(same.repo, c, 'out-same', big1);
    expect((await check(same.repo, { readData: true })).errors).toBe(0);

    const enc = await repoOn({ password: 'p' });
    const r = await copySnapshots(src.repo, enc.repo, { workers: 0 });
    expect(r.mode).toBe('rechunk');
    expect(r.copied).toHaveLength(3);
    const copies = await listSnapshots(enc.repo);
    const e1 = copies.find((s) => s.original === tree.id)!;
    const e2 = copies.find((s) => s.original === tree2.id)!;
    expect(e1.tree!.root).not.toEqual(tree.tree!.root); // renamed under the target's key
    expect({ ...e1.tree, root: [] }).toEqual({ ...tree.tree, root: [] });
    expectSameFacts(e1, tree);
    await restoredLike(enc.repo, e1, 'out-enc-1', big1);
    await restoredLike(enc.repo, e2, 'out-enc-2', big2);
    expect((await check(enc.repo, { readData: true })).errors).toBe(0);
    const before = dataFiles(enc.backend);
    expect((await copySnapshots(src.repo, enc.repo, { workers: 0 })).skipped).toHaveLength(3);
    expect(dataFiles(enc.backend)).toEqual(before);
    // and back from the encrypted copy into a fresh plaintext repository
    const back = await repoOn();
    await copySnapshots(enc.repo, back.repo, { workers: 0, filter: { names: [tree.name] } });
    const b2 = (await listSnapshots(back.repo)).find((s) => s.original === tree2.id)!;
    await restoredLike(back.repo, b2, 'out-back', big2);
    for (const x of [src, same, enc, back]) await x.repo.close();
  });
});
