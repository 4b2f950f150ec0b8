/**
 * Image layers reused from the last snapshot of the same image (object/writer.ts
 * reuseLayers): a layer that comes again with its name and size is not split again, its
 * extents and file map records are the earlier snapshot's, and its bytes are still hashed;
 * one whose bytes differ is read again. Every snapshot restores byte for byte.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../check/check.js';
import { blake3Hex } from '../hash/blake3.js';
import { loadBasis, pathKey } from '../object/file-map.js';
import { restoreBytes, seeded, sharedTestRepo, tempCacheRoot } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { snapshotFile, snapshotStream } from './create.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const dir = tempCacheRoot();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An uncompressed layer of `files` files of 100 KiB (over 1 MiB in all). */
function layer(seed: string, files = 16): Buffer {
  return tarOf(Array.from({ length: files }, (_, i) => ({ name: `usr/${seed}/f${i}`, data: seeded(`${seed}${i}`, 100 * 1024) })));
}

/** A docker-archive of `layers`, each named `<sha256>.tar` (or as `names` says), written to a file. */
function image(file: string, layers: Buffer[], names?: string[]): { path: string; bytes: Buffer } {
  const layerNames = layers.map((l, i) => names?.[i] ?? `${sha(l)}.tar`);
  const config = json({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) } });
  const bytes = tarOf([
    ...layers.map((l, i) => ({ name: layerNames[i]!, data: l })),
    { name: `${sha(config)}.json`, data: config },
    { name: 'manifest.json', data: json([{ Config: `${sha(config)}.json`, RepoTags: ['app:1'], Layers: layerNames }]) },
  ]);
  const p = path.join(dir, file);
  fs.writeFileSync(p, bytes);
  return { path: p, bytes };
}

describe('layer reuse', () => {
  const shared = sharedTestRepo();

  it('hashes the layers, and the next snapshot of the image reuses the extents and file records of the unchanged one', async () => {
    const repo = shared.repo;
    const a = layer('a');
    const b = layer('b');
    const c = layer('c');
    const v1 = image('v1.tar', [a, b]);
    const v2 = image('v2.tar', [a, c]);
    const s1 = (await snapshotFile(repo, v1.path, { name: 'app' })).snapshot;
    expect(s1.summary.bytesReused).toBeUndefined();
    expect(s1.content.members).toEqual([
      { name: `${sha(a)}.tar`, offset: 512, size: a.length, blake3: blake3Hex(a) },
      { name: `${sha(b)}.tar`, offset: 1024 + a.length, size: b.length, blake3: blake3Hex(b) },
    ]);
    const s2 = (await snapshotFile(repo, v2.path, { name: 'app' })).snapshot;
    expect(s2.summary.bytesReused).toBe(a.length);
    expect(s2.content.members?.map((m) => m.blake3)).toEqual([blake3Hex(a), blake3Hex(c)]);
    expect((await restoreBytes(repo, s2.id)).equals(v2.bytes)).toBe(true);
    expect(s2.source.sha256).toBe(sha(v2.bytes));
    // the reused layer's files are in v2's file map, with v1's chunks (delta bases for v3)
    const b1 = (await loadBasis(repo, s1))!;
    const b2 = (await loadBasis(repo, s2))!;
    for (const name of ['usr/a/f0', 'usr/a/f15']) {
      const old = b1.file(pathKey(name))!;
      expect(old.ids.length).toBeGreaterThan(0);
      expect(b2.file(pathKey(name))!.ids.map((i) => i.toString('hex'))).toEqual(old.ids.map((i) => i.toString('hex')));
    }
    expect(b2.file(pathKey('usr/c/f3'))).toBeDefined();
    // a third version (over 4 MiB: hashed on the codec workers) reuses from the second, whose extents were themselves reused
    const v3 = image('v3.tar', [a, c, b]);
    const s3 = (await snapshotFile(repo, v3.path, { name: 'app' })).snapshot;
    expect(s3.summary.bytesReused).toBe(a.length + c.length);
    expect((await restoreBytes(repo, s3.id)).equals(v3.bytes)).toBe(true);
    expect((await check(repo, { readData: true })).errors).toBe(0);
  });

  it('reads the file again when a layer comes with the same name and size but other bytes', async () => {
    const repo = shared.repo;
    const a = layer('d');
    const v1 = image('w1.tar', [a]);
    await snapshotFile(repo, v1.path, { name: 'liar' });
    const changed = Buffer.from(a);
    changed[700] = changed[700]! ^ 1; // inside the first file's data: the name no longer tells the truth
    const v2 = image('w2.tar', [changed], [`${sha(a)}.tar`]);
    const s2 = (await snapshotFile(repo, v2.path, { name: 'liar' })).snapshot;
    expect(s2.summary.bytesReused).toBeUndefined();
    expect(s2.content.members?.[0]?.blake3).toBe(blake3Hex(changed));
    expect((await restoreBytes(repo, s2.id)).equals(v2.bytes)).toBe(true);
  });

  it('splits a layer again when the index lacks some of its blobs (a damaged repository): the snapshot never references a missing blob', async () => {
    const repo = shared.repo;
    const a = layer('g');
    const b = layer('h');
    const v1 = image('y1.tar', [a, b]);
    const s1 = (await snapshotFile(repo, v1.path, { name: 'damaged' })).snapshot;
    // the index no longer knows the first extent's blob of layer a (as after a lost index file)
    const lost = (await loadBasis(repo, s1))!.file(pathKey('usr/g/f0'))!.ids[0]!;
    const real = repo.lookup.bind(repo);
    let asked = false;
    repo.lookup = async (ids) => {
      const found = await real(ids);
      return ids.map((id, i) => {
        if (!id.equals(lost)) return found[i];
        asked = true;
        return undefined;
      });
    };
    const v2 = image('y2.tar', [a, b]);
    let s2;
    try {
      s2 = (await snapshotFile(repo, v2.path, { name: 'damaged', force: true })).snapshot;
    } finally {
      delete (repo as { lookup?: unknown }).lookup;
    }
    expect(asked).toBe(true);
    expect([undefined, b.length]).toContain(s2.summary.bytesReused); // layer a split again (layer b may be reused, or the input written again without reuse)
    expect(s2.content.members?.map((m) => m.blake3)).toEqual([blake3Hex(a), blake3Hex(b)]);
    expect((await restoreBytes(repo, s2.id)).equals(v2.bytes)).toBe(true);
    expect((await check(repo, { readData: true })).errors).toBe(0);
  });

  it('hashes the layers of stdin but reuses nothing (stdin cannot be read twice); reuseLayers false reads files whole', async () => {
    const repo = shared.repo;
    const a = layer('e');
    const v1 = image('x1.tar', [a]);
    await snapshotFile(repo, v1.path, { name: 'piped' });
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < v1.bytes.length; off += 65536) yield Buffer.from(v1.bytes.subarray(off, off + 65536));
    }
    const s2 = await snapshotStream(repo, source(), { kind: 'stdin', path: '-' }, { name: 'piped', workers: 0 });
    expect(s2.summary.bytesReused).toBeUndefined();
    expect(s2.content.members?.[0]?.blake3).toBe(blake3Hex(a));
    const s3 = (await snapshotFile(repo, v1.path, { name: 'piped', force: true, reuseLayers: false })).snapshot;
    expect(s3.summary.bytesReused).toBeUndefined();
    const s4 = (await snapshotFile(repo, v1.path, { name: 'piped', force: true })).snapshot;
    expect(s4.summary.bytesReused).toBe(a.length);
    expect((await restoreBytes(repo, s4.id)).equals(v1.bytes)).toBe(true);
  });
});
