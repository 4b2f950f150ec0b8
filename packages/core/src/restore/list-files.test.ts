/**
 * Layer file listings from stored data: uncompressed, gzip and zstd layers of an OCI
 * archive snapshotted into a memory repository; damaged compressed data stops the
 * listing with a problem, never an exception; GNU tar archives of every format
 * round-trip through snapshot and restore byte for byte.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repository } from '../repository/repository.js';
import { snapshotStream } from '../snapshot/create.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { restoreBytes, seeded, sharedTestRepo, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { gnuTar, hasGnuTar, tarOf, tempDir } from '../testing/tars.js';
import { allLayers } from '../image/facts.js';
import { listFiles } from './list-files.js';
import type { TarEntry } from '../image/tar-list.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function snap(repo: Repository, data: Buffer): Promise<Snapshot> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < data.length; off += 65536) yield Buffer.from(data.subarray(off, off + 65536));
  }
  return snapshotStream(repo, source(), { kind: 'stdin', path: '-' }, { name: 'img', workers: 0 });
}

function ociOf(layers: { data: Buffer; mediaType: string }[]): Buffer {
  const config = json({ os: 'linux', architecture: 'amd64' });
  const manifest = json({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: `sha256:${sha(l.data)}`, size: l.data.length })),
  });
  const index = json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] });
  return tarOf([
    ...[...layers.map((l) => l.data), config, manifest].map((d) => ({ name: `blobs/sha256/${sha(d)}`, data: d })),
    { name: 'index.json', data: index },
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
  ]);
}

describe('listFiles on stored layers', () => {
  const shared = sharedTestRepo();

  const layer = (tag: string) =>
    tarOf([
      { name: `${tag}/`, type: '5' },
      { name: `${tag}/big`, data: seeded(tag, 300_000) },
      { name: `${tag}/small`, data: Buffer.from(tag) },
      { name: `${tag}/link`, type: '2', linkname: 'big' },
    ]);

  it('lists uncompressed, gzip and zstd layers', async () => {
    const archive = ociOf([
      { data: layer('plain'), mediaType: 'application/vnd.oci.image.layer.v1.tar' },
      { data: gzipSync(layer('gz')), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      { data: zstdCompress(layer('zst')), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' },
    ]);
    const s = await snap(shared.repo, archive);
    expect(s.format).toBe('oci');
    const layers = allLayers(s.image!);
    expect(layers).toHaveLength(3);
    for (const [i, tag] of ['plain', 'gz', 'zst'].entries()) {
      const entries: TarEntry[] = [];
      const r = await listFiles(shared.repo, s, layers[i]!, (e) => entries.push(e));
      expect(r.problem, tag).toBeUndefined();
      expect(r.compression, tag).toBe([undefined, 'gzip', 'zstd'][i]);
      expect(
        entries.map((e) => [e.path, e.type, e.size]),
        tag,
      ).toEqual([
        [`${tag}/`, 'dir', 0],
        [`${tag}/big`, 'file', 300_000],
        [`${tag}/small`, 'file', tag.length],
        [`${tag}/link`, 'symlink', 0],
      ]);
    }
    // the whole archive lists too (a plain tar's view)
    const all: TarEntry[] = [];
    expect((await listFiles(shared.repo, s, { offset: 0, length: s.source.size }, (e) => all.push(e))).problem).toBeUndefined();
    expect(all.map((e) => e.path)).toContain('index.json');
  });

  it('damaged or truncated compressed data stops the listing with a problem', async () => {
    const gz = gzipSync(layer('dmg'));
    const bad = Buffer.from(gz);
    bad[bad.length >> 1]! ^= 0xff;
    const archive = ociOf([
      { data: bad, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      { data: gz.subarray(0, gz.length - 100), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
    ]);
    const s = await snap(shared.repo, archive);
    for (const l of allLayers(s.image!)) {
      const r = await listFiles(shared.repo, s, l, () => undefined);
      expect(r.problem).toMatch(/gzip data is damaged|ends inside an entry|unexpected end/i);
    }
  });

  it('an empty range lists nothing, with a problem', async () => {
    const s = await snap(shared.repo, layer('e'));
    const r = await listFiles(shared.repo, s, { offset: 10, length: 0 }, () => undefined);
    expect(r.entries).toBe(0);
    expect(r.problem).toBe('empty input');
  });
});

describe.skipIf(!hasGnuTar())('GNU tar archives round-trip through snapshot and restore', () => {
  let dir: string;
  let cacheRoot: string;
  let repo: Repository;
  beforeAll(async () => {
    dir = tempDir();
    const tree = path.join(dir, 't');
    fs.mkdirSync(path.join(tree, `${'x'.repeat(120)}/${'y'.repeat(150)}`), { recursive: true });
    fs.writeFileSync(path.join(tree, `${'x'.repeat(120)}/${'y'.repeat(150)}/deep`), seeded('deep', 70_000));
    fs.writeFileSync(path.join(tree, 'a.bin'), seeded('a', 500_000));
    fs.linkSync(path.join(tree, 'a.bin'), path.join(tree, 'a.hard'));
    fs.symlinkSync('z'.repeat(200), path.join(tree, 'long-symlink'));
    const fd = fs.openSync(path.join(tree, 'sparse'), 'w');
    fs.writeSync(fd, seeded('sp', 10_000), 0, 10_000, 5 << 20);
    fs.closeSync(fd);
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot));
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  for (const opts of [
    ['--format=gnu'],
    ['--format=gnu', '--sparse'],
    ['--format=pax'],
    ['--format=pax', '--sparse', '--sparse-version=1.0'],
    ['--format=pax', '--sparse', '--sparse-version=0.1'],
    ['--format=oldgnu'],
  ]) {
    it(`${opts.join(' ')}: byte for byte, and the listing names every file`, async () => {
      const input = gnuTar(path.join(dir, 't'), opts);
      const s = await snap(repo, input);
      expect(s.format).toBe('tar');
      expect((await restoreBytes(repo, s.id)).equals(input)).toBe(true);
      const names: string[] = [];
      const r = await listFiles(repo, s, { offset: 0, length: s.source.size }, (e) => names.push(e.path.replace(/^\.\//, '')));
      expect(r.problem).toBeUndefined();
      expect(names).toContain(`${'x'.repeat(120)}/${'y'.repeat(150)}/deep`);
      expect(names).toContain('sparse');
      expect(names).toContain('a.hard');
    });
  }
});
