/**
 * Image facts from archive members: docker-archives (skopeo and docker save layouts),
 * OCI archives (index -> manifest -> config + layers, nested indexes), incomplete or
 * inconsistent images (warnings), and the per-range digest check a restore runs.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { splitAll, tarOf } from '../testing/tars.js';
import { allLayers, digestedRanges, findLayer, imageFacts, imageNames, type ImageFacts } from './facts.js';
import { RangeHasher } from './verify.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function layerTar(seed: string): Buffer {
  return tarOf([
    { name: 'usr/', type: '5' },
    { name: `usr/${seed}.bin`, data: seeded(seed, 20_000) },
    { name: 'etc/conf', data: Buffer.from(`conf ${seed}\n`) },
  ]);
}

function factsOf(archive: Buffer, piece = 4096): ImageFacts | undefined {
  return imageFacts(splitAll(archive, piece).members);
}

/** Checks each layer's range holds bytes hashing to its digest. */
function expectRanges(archive: Buffer, f: ImageFacts): void {
  for (const l of allLayers(f)) {
    if (l.digest) expect(`sha256:${sha(archive.subarray(l.offset, l.offset + l.length))}`).toBe(l.digest);
  }
  const h = new RangeHasher(digestedRanges(f));
  for (let off = 0; off < archive.length; off += 777) h.update([archive.subarray(off, off + 777)], off);
  expect(h.mismatches()).toEqual([]);
}

function skopeoDocker(layers: Buffer[], tags = ['example.com/app:v1']) {
  const diffIds = layers.map((l) => `sha256:${sha(l)}`);
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } });
  const cfgName = `${sha(config)}.json`;
  const entries = [
    ...layers.map((l) => ({ name: `${sha(l)}.tar`, data: l })),
    { name: cfgName, data: config },
    ...layers.map((l, i) => ({ name: `${'a'.repeat(63)}${i}/layer.tar`, type: '2', linkname: `../${sha(l)}.tar` })),
    { name: 'manifest.json', data: json([{ Config: cfgName, RepoTags: tags, Layers: layers.map((l) => `${sha(l)}.tar`) }]) },
  ];
  return { archive: tarOf(entries), config, diffIds };
}

function ociArchive(layers: { data: Buffer; mediaType: string }[], opts: { nested?: boolean; refName?: string; dropLayer?: number; badManifest?: boolean } = {}) {
  const config = json({ architecture: 'arm64', variant: 'v8', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: `sha256:${sha(l.data)}`, size: l.data.length })),
  });
  const mdesc = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${sha(manifest)}`,
    size: manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': opts.refName ?? 'v1' },
  };
  const blobs: { name: string; data: Buffer }[] = [
    ...layers.filter((_, i) => i !== opts.dropLayer).map((l) => ({ name: `blobs/sha256/${sha(l.data)}`, data: l.data })),
    { name: `blobs/sha256/${sha(config)}`, data: config },
    { name: `blobs/sha256/${sha(manifest)}`, data: opts.badManifest ? Buffer.concat([manifest, Buffer.from(' ')]) : manifest },
  ];
  let index = json({ schemaVersion: 2, manifests: [mdesc] });
  if (opts.nested) {
    const inner = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...mdesc, platform: { os: 'linux', architecture: 'arm64' } }] });
    blobs.push({ name: `blobs/sha256/${sha(inner)}`, data: inner });
    index = json({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${sha(inner)}`, size: inner.length, annotations: { 'io.containerd.image.name': 'registry.example/app:multi' } },
      ],
    });
  }
  return {
    archive: tarOf([
      { name: 'blobs/', type: '5' },
      { name: 'blobs/sha256/', type: '5' },
      ...blobs,
      { name: 'index.json', data: index },
      { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
    ]),
    config,
    manifest,
  };
}

describe('docker-archive facts', () => {
  it('skopeo layout: digest-named layers, config, tags, symlinked legacy paths', () => {
    const layers = [layerTar('l1'), layerTar('l2')];
    const { archive, config, diffIds } = skopeoDocker(layers);
    for (const piece of [1, 512, 1 << 20]) {
      const f = factsOf(archive, piece)!;
      expect(f.warnings).toBeUndefined();
      expect(f.kind).toBe('docker');
      expect(f.names).toEqual(['example.com/app:v1']);
      expect(f.configDigest).toBe(`sha256:${sha(config)}`);
      expect(f.platform).toBe('linux/amd64');
      expect(f.manifestDigest).toBeUndefined();
      expect(f.layers.map((l) => l.digest)).toEqual(diffIds);
      expect(f.layers.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.docker.image.rootfs.diff.tar']);
      expect(f.layers.map((l) => l.size)).toEqual(layers.map((l) => l.length));
      expectRanges(archive, f);
    }
  });

  it('docker save layout: <id>/layer.tar, digests from the config diff_ids; links are followed', () => {
    const l1 = layerTar('a');
    const l2 = layerTar('b');
    const config = json({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(l1)}`, `sha256:${sha(l2)}`] } });
    const archive = tarOf([
      { name: './id1/', type: '5' },
      { name: './id1/layer.tar', data: l1 },
      { name: './id2/', type: '5' },
      { name: './id2/layer.tar', type: '2', linkname: '../id3/layer.tar' },
      { name: './id3/layer.tar', data: l2 },
      { name: `./${sha(config)}.json`, data: config },
      { name: './manifest.json', data: json([{ Config: `${sha(config)}.json`, RepoTags: ['app:old'], Layers: ['id1/layer.tar', 'id2/layer.tar'] }]) },
    ]);
    const f = factsOf(archive)!;
    expect(f.warnings).toBeUndefined();
    expect(f.layers.map((l) => l.path)).toEqual(['id1/layer.tar', 'id3/layer.tar']);
    expect(f.layers.map((l) => l.digest)).toEqual([`sha256:${sha(l1)}`, `sha256:${sha(l2)}`]);
    expectRanges(archive, f);
  });

  it('a gzip layer not named by its digest: digest unknown, diff_id kept, gzip media type', () => {
    const raw = layerTar('g');
    const gz = gzipSync(raw);
    const config = json({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(raw)}`] } });
    const archive = tarOf([
      { name: 'x/layer.tar', data: gz },
      { name: 'c.json', data: config },
      { name: 'manifest.json', data: json([{ Config: 'c.json', RepoTags: null, Layers: ['x/layer.tar'] }]) },
    ]);
    const f = factsOf(archive)!;
    expect(f.warnings).toBeUndefined();
    expect(f.configDigest).toBe(`sha256:${sha(config)}`);
    expect(f.layers).toMatchObject([{ diffId: `sha256:${sha(raw)}`, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', length: gz.length }]);
    expect(f.layers[0]!.digest).toBeUndefined();
    expect(digestedRanges(f).map((r) => r.what)).toEqual([`config sha256:${sha(config)}`]);
  });

  it('several images in one archive: names of all, layers of all once', () => {
    const a = layerTar('shared');
    const b = layerTar('b-only');
    const { archive } = skopeoDocker([a, b]);
    // add a second manifest entry using only the shared layer
    const members = splitAll(archive, 4096).members;
    const manifestIdx = members.findIndex((m) => m.name === 'manifest.json');
    const first = JSON.parse(Buffer.from(members[manifestIdx]!.data!).toString()) as { Config: string; Layers: string[] }[];
    const two = [...first, { Config: first[0]!.Config, RepoTags: ['example.com/base:1'], Layers: [first[0]!.Layers[0]] }];
    members[manifestIdx] = { ...members[manifestIdx]!, data: json(two) };
    const f = imageFacts(members)!;
    expect(imageNames(f)).toEqual(['example.com/app:v1', 'example.com/base:1']);
    expect(f.others).toHaveLength(1);
    expect(allLayers(f)).toHaveLength(2);
  });

  it('a missing layer: what exists is recorded, with a warning', () => {
    const { archive } = skopeoDocker([layerTar('m')]);
    const members = splitAll(archive, 4096).members.filter((m) => !m.name.endsWith('.tar') || m.type === '2');
    const f = imageFacts(members)!;
    expect(f.warnings?.join()).toMatch(/layer [0-9a-f]{64}\.tar is not in the archive/);
    expect(f.layers).toEqual([]);
    expect(f.configDigest).toBeDefined();
  });

  it('a config whose bytes do not match its name is a warning', () => {
    const { archive } = skopeoDocker([layerTar('c')]);
    const members = splitAll(archive, 4096).members.map((m) =>
      m.name.endsWith('.json') && m.name !== 'manifest.json' ? { ...m, data: json({ os: 'linux', architecture: 'amd64', changed: true }) } : m,
    );
    expect(imageFacts(members)!.warnings?.join()).toMatch(/has sha256:[0-9a-f]{64}, not the digest its name states/);
  });

  it('a manifest.json that is not a docker manifest is just a file of a plain tar', () => {
    expect(factsOf(tarOf([{ name: 'manifest.json', data: json({ name: 'my web extension', version: '1.0' }) }]))).toBeUndefined();
    expect(factsOf(tarOf([{ name: 'manifest.json', data: Buffer.from('not json') }]))).toBeUndefined();
    expect(factsOf(tarOf([{ name: 'a.txt', data: Buffer.from('x') }]))).toBeUndefined();
  });

  it('manifest.json is found under any path that normalizes to it (the last such member), and only at the top', () => {
    const { archive } = skopeoDocker([layerTar('p1')]);
    const members = splitAll(archive, 4096).members;
    const manifest = members.find((m) => m.name === 'manifest.json')!;
    const other = { ...manifest, data: json({ name: 'not a docker manifest' }) };
    // renamed to paths that normalize to manifest.json: still a docker-archive
    for (const name of ['./manifest.json', '/manifest.json', 'x/../manifest.json', 'manifest.json/', './/manifest.json/.']) {
      const f = imageFacts(members.map((m) => (m === manifest ? { ...m, name } : m)));
      expect(f?.kind, name).toBe('docker');
      expect(f?.names, name).toEqual(['example.com/app:v1']);
    }
    // a later member of the same path replaces it (as tar extraction does); deeper ones do not count
    expect(imageFacts([...members, { ...other, name: './manifest.json' }])).toBeUndefined();
    expect(imageFacts(members.map((m) => (m === manifest ? { ...m, name: 'etc/manifest.json' } : m)))).toBeUndefined();
    expect(imageFacts([...members, { ...other, name: 'usr/share/manifest.json' }])?.kind).toBe('docker');
  });
});

describe('OCI archive facts', () => {
  const layers = () => [
    { data: gzipSync(layerTar('o1')), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
    { data: layerTar('o2'), mediaType: 'application/vnd.oci.image.layer.v1.tar' },
  ];

  it('index -> manifest -> config and layers, with media types and the ref name', () => {
    const ls = layers();
    const { archive, config, manifest } = ociArchive(ls, { refName: 'example.com/app:v2' });
    const f = factsOf(archive)!;
    expect(f.warnings).toBeUndefined();
    expect(f.kind).toBe('oci');
    expect(f.names).toEqual(['example.com/app:v2']);
    expect(f.manifestDigest).toBe(`sha256:${sha(manifest)}`);
    expect(f.configDigest).toBe(`sha256:${sha(config)}`);
    expect(f.platform).toBe('linux/arm64/v8');
    expect(f.layers.map((l) => [l.digest, l.mediaType, l.size])).toEqual(ls.map((l) => [`sha256:${sha(l.data)}`, l.mediaType, l.data.length]));
    expect(
      digestedRanges(f)
        .map((r) => r.what.split(' ')[0])
        .sort(),
    ).toEqual(['config', 'layer', 'layer', 'manifest']);
    expectRanges(archive, f);
  });

  it('follows a nested image index', () => {
    const { archive } = ociArchive(layers(), { nested: true });
    const f = factsOf(archive)!;
    expect(f.warnings).toBeUndefined();
    expect(f.names).toEqual(['registry.example/app:multi', 'v1']);
    expect(f.layers).toHaveLength(2);
    expectRanges(archive, f);
  });

  it('a missing layer blob, or a manifest blob that does not match its digest, is a warning', () => {
    const missing = factsOf(ociArchive(layers(), { dropLayer: 1 }).archive)!;
    expect(missing.warnings?.join()).toMatch(/layer sha256:[0-9a-f]{64} is not in the archive/);
    expect(missing.layers).toHaveLength(1);
    const bad = factsOf(ociArchive(layers(), { badManifest: true }).archive)!;
    expect(bad.warnings?.join()).toMatch(/does not match its digest/);
  });

  it('the range check names a layer whose bytes changed', () => {
    const { archive } = ociArchive(layers());
    const f = factsOf(archive)!;
    const l = f.layers[1]!;
    const changed = Buffer.from(archive);
    changed[l.offset + 100]! ^= 0xff;
    const h = new RangeHasher(digestedRanges(f));
    h.update([changed.subarray(0, 1000), changed.subarray(1000)], 0);
    expect(h.mismatches().map((m) => m.what)).toEqual([`layer ${l.digest}`]);
    // bytes that never arrived are a mismatch too
    const partial = new RangeHasher(digestedRanges(f));
    partial.update([archive.subarray(0, l.offset + 10)], 0);
    expect(partial.mismatches().map((m) => m.actual)).toContain(`(only 10 of ${l.length} bytes)`);
  });

  it('findLayer: full digest, hex, unique prefix, path; ambiguous and unknown', () => {
    const { archive } = ociArchive(layers());
    const f = factsOf(archive)!;
    const l = f.layers[0]!;
    const hex = l.digest!.slice(7);
    expect(findLayer(f, l.digest!)).toBe(l);
    expect(findLayer(f, hex)).toBe(l);
    expect(findLayer(f, hex.slice(0, 10))).toBe(l);
    expect(findLayer(f, l.path)).toBe(l);
    expect(findLayer(f, 'sha256:0000000000')).toBeUndefined();
    expect(findLayer(f, 'abc')).toBeUndefined(); // too short to be a prefix
  });
});
