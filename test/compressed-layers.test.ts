/**
 * Issue 15 item 9: a snapshot of an image archive with gzip or zstd layers says how many layer
 * bytes could not be deduplicated by file, and how to avoid it; --json carries the same figures.
 * The OCI archive is built here (layout by hand, layers by GNU tar, gzip by zlib).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI image archive with one gzip layer and one uncompressed layer; returns the gzip layer's size. */
function ociArchive(sb: Sandbox, out: string): number {
  const work = sb.file('oci-work');
  const blobs = path.join(work, 'layout/blobs/sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => (fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b), { digest: sha(b), size: b.length });
  const layerTar = (name: string, seed: string) => {
    const root = path.join(work, name);
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/lib/lib.so'), seededBytes(seed, 300_000));
    return execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=2024-01-01 00:00Z', '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
  };
  const plain = layerTar('l1', 'layer-1');
  const zipped = gzipSync(layerTar('l2', 'layer-2'));
  const l1 = put(plain);
  const l2 = put(zipped);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(plain), sha(layerTar('l2', 'layer-2'))] } })));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l1 },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l2 },
        ],
      }),
    ),
  );
  fs.writeFileSync(path.join(work, 'layout/oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(work, 'layout/index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'example.com/app:v1' } }],
    }),
  );
  execFileSync('tar', ['--sort=name', '-C', path.join(work, 'layout'), '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  return zipped.length;
}

describe('compressed layers say what they cost', () => {
  let sb: Sandbox;
  let gzBytes: number;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    gzBytes = ociArchive(sb, sb.file('app.oci.tar'));
  });
  afterAll(() => sb.cleanup());

  it('the summary names the gzip layer bytes not deduplicated by file, and the remedy', () => {
    const r = sb.run(['snapshot', sb.file('app.oci.tar')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/image {3}OCI image archive example\.com\/app:v1, 2 layers/);
    expect(r.stdout).toMatch(/layers {2}1 of 2 layers are gzip-compressed: [\d.]+ KiB stored as opaque blobs, not deduplicated by file/);
    expect(r.stdout).toMatch(/skopeo copy --dest-decompress oci-archive:IN\.tar docker-archive:OUT\.tar/);
    expect(r.stdout).toMatch(/--dest-oci-accept-uncompressed-layers/);
  });

  it('--json carries the same figures', () => {
    const j = JSON.parse(sb.run(['--json', 'snapshot', sb.file('app.oci.tar'), '--force']).stdout);
    expect(j.compressedLayers).toMatchObject({ layers: 1, ofLayers: 2, bytes: gzBytes, compressions: ['gzip'] });
    expect(j.compressedLayers.hint).toMatch(/skopeo/);
  });

  it('an archive without compressed layers says nothing of it', () => {
    const r = sb.run(['snapshot', '-', '--name', 'raw'], { input: seededBytes('raw', 100_000) });
    expect(r.stdout).not.toMatch(/compressed|opaque/);
    expect(JSON.parse(sb.run(['--json', 'snapshot', '-', '--name', 'raw2'], { input: seededBytes('raw2', 100_000) }).stdout).compressedLayers).toBeUndefined();
  });
});
