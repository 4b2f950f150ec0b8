/**
 * Container images end to end, with real clients: images built by hand
 * (scripts/make-sample-image.sh, a docker-archive) and by umoci (OCI layout), exported
 * by skopeo as docker-archive, oci-archive (gzip layers) and uncompressed oci-archive;
 * snapshot, `snapshots`, `ls` (layers, files), restore (whole, one layer, stdout), and
 * skopeo accepting what was restored. Skips with a message when skopeo or umoci is absent.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, seededBytes, sha256File, type Sandbox } from './helpers/cli.js';

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const tools = have('skopeo') && have('umoci');
if (!tools) console.warn('image.test.ts: skopeo and/or umoci not installed: the real-client image tests are skipped (apt-get install skopeo umoci)');

function sh(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Image {
  file: string;
  kind: 'docker' | 'oci';
  name: string;
  layers: number;
  gzip: boolean;
  /** A file inside the last layer, for ls --files. */
  fileInLayer: string;
}

describe.skipIf(!tools)('container images with real clients (skopeo, umoci)', () => {
  let sb: Sandbox;
  const images: Record<string, Image> = {};
  const snaps: Record<string, string> = {};

  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0); // encrypted: images go through the sealed path too
    // 1. by hand: docker-archive with real layer tars (GNU tar), 2 layers
    const sample = sb.file('sample-v2.tar');
    sh('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), sample, '2']);
    images.sample = { file: sample, kind: 'docker', name: 'sample/app:v2', layers: 2, gzip: false, fileInLayer: 'usr/lib/sample2/lib4.so' };
    // 2. umoci: an OCI layout with two layers, exported by skopeo three ways
    const L = sb.file('layout');
    const B = sb.file('bundle');
    sh('umoci', ['init', '--layout', L]);
    sh('umoci', ['new', '--image', `${L}:t`]);
    sh('umoci', ['unpack', '--rootless', '--image', `${L}:t`, B]);
    fs.mkdirSync(path.join(B, 'rootfs/usr/bin'), { recursive: true });
    fs.writeFileSync(path.join(B, 'rootfs/usr/bin/app'), seededBytes('app', 400_000));
    fs.writeFileSync(path.join(B, 'rootfs/etc.conf'), 'a=1\n'.repeat(5000));
    sh('umoci', ['repack', '--image', `${L}:t`, B]);
    // the next layer: a fresh unpack of the new image (repack diffs against the unpacked image)
    fs.rmSync(B, { recursive: true, force: true });
    sh('umoci', ['unpack', '--rootless', '--image', `${L}:t`, B]);
    fs.mkdirSync(path.join(B, 'rootfs/srv/data'), { recursive: true });
    fs.writeFileSync(path.join(B, 'rootfs/srv/data/blob.bin'), seededBytes('blob', 300_000));
    fs.symlinkSync('../../usr/bin/app', path.join(B, 'rootfs/srv/data/app-link'));
    sh('umoci', ['repack', '--image', `${L}:t`, B]);
    sh('umoci', ['config', '--image', `${L}:t`, '--config.cmd', '/usr/bin/app']);
    const dock = sb.file('umoci.docker.tar');
    const oci = sb.file('umoci.oci.tar');
    const ociU = sb.file('umoci.oci-uncompressed.tar');
    sh('skopeo', ['copy', '-q', `oci:${L}:t`, `docker-archive:${dock}:example.com/umoci/app:t`]);
    sh('skopeo', ['copy', '-q', `oci:${L}:t`, `oci-archive:${oci}:example.com/umoci/app:t`]);
    sh('skopeo', ['copy', '-q', '--dest-decompress', `oci:${L}:t`, `dir:${sb.file('dir-u')}`]);
    sh('skopeo', ['copy', '-q', '--dest-oci-accept-uncompressed-layers', `dir:${sb.file('dir-u')}`, `oci-archive:${ociU}:example.com/umoci/app:t`]);
    images.umociDocker = { file: dock, kind: 'docker', name: 'example.com/umoci/app:t', layers: 2, gzip: false, fileInLayer: 'srv/data/blob.bin' };
    images.umociOci = { file: oci, kind: 'oci', name: 'example.com/umoci/app:t', layers: 2, gzip: true, fileInLayer: 'srv/data/blob.bin' };
    images.umociOciU = { file: ociU, kind: 'oci', name: 'example.com/umoci/app:t', layers: 2, gzip: false, fileInLayer: 'srv/data/blob.bin' };
  });
  afterAll(() => sb.cleanup());

  it('snapshots each archive as its kind, with its image name, layers and digests', () => {
    for (const [key, img] of Object.entries(images)) {
      const r = sb.run(['snapshot', img.file, '--json']);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.format, key).toBe(img.kind);
      expect(j.image.names, key).toContain(img.name);
      expect(j.image.layers, key).toBe(img.layers);
      expect(j.image.configDigest, key).toMatch(/^sha256:[0-9a-f]{64}$/);
      if (img.kind === 'oci') expect(j.image.manifestDigest, key).toMatch(/^sha256:[0-9a-f]{64}$/);
      snaps[key] = j.id;
    }
    // an unchanged file is not re-read: the new snapshot keeps the image facts
    const again = JSON.parse(sb.run(['snapshot', images.sample!.file, '--json']).stdout);
    expect(again.reused).toBe(true);
    expect(again.format).toBe('docker');
    expect(again.image.names).toEqual(['sample/app:v2']);
    const list = sb.run(['snapshots']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/Image/);
    expect(list.stdout).toContain('sample/app:v2');
    expect(list.stdout).toContain('example.com/umoci/app:t');
    const json = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { imageNames?: string[]; format?: string }[];
    expect(json.map((s) => s.format)).toEqual(['docker', 'docker', 'oci', 'oci', 'docker']);
    expect(json.some((s) => s.imageNames?.includes('sample/app:v2'))).toBe(true);
  });

  it('ls lists each layer with digest, media type and size, as skopeo sees them', () => {
    for (const [key, img] of Object.entries(images)) {
      const r = sb.run(['ls', snaps[key]!]);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      const j = JSON.parse(sb.run(['--json', 'ls', snaps[key]!]).stdout);
      const layers = j.image.layers as { digest: string; mediaType: string; size: number }[];
      expect(layers).toHaveLength(img.layers);
      const inspect = JSON.parse(sh('skopeo', ['inspect', `${img.kind === 'docker' ? 'docker-archive' : 'oci-archive'}:${img.file}`]));
      // skopeo reports the blob digests as the image manifest names them
      expect(
        layers.map((l) => l.digest),
        key,
      ).toEqual(inspect.Layers);
      for (const l of layers) {
        expect(r.stdout, key).toContain(l.digest);
        expect(r.stdout, key).toContain(l.mediaType);
        expect(l.mediaType, key).toMatch(img.gzip ? /tar\+gzip$/ : /\.tar$|diff\.tar$/);
      }
      expect(r.stdout).toContain(img.name);
    }
  });

  it('ls --files lists the files of each layer from the stored data (gzip layers too)', () => {
    for (const [key, img] of Object.entries(images)) {
      const r = sb.run(['ls', snaps[key]!, '--files']);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout, key).toMatch(new RegExp(`-rw-r--r-- +\\d+  (\\./)?${img.fileInLayer.replace(/\./g, '\\.')}\\n`));
      const lines = sb
        .run(['--json', 'ls', snaps[key]!, '--files'])
        .stdout.trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { layer: string; path: string; size: number; type: string });
      const f = lines.find((e) => e.path.replace(/^\.\//, '') === img.fileInLayer)!;
      expect(f.type).toBe('file');
      const layers = new Set(lines.map((e) => e.layer));
      expect(layers.size, key).toBe(img.layers);
    }
    // the listing of one layer matches GNU tar's listing of that layer
    const img = images.sample!;
    const j = JSON.parse(sb.run(['--json', 'ls', snaps.sample!]).stdout);
    const layer = j.image.layers[0] as { digest: string; path: string };
    const ours = sb
      .run(['--json', 'ls', snaps.sample!, '--files', '--layer', layer.digest])
      .stdout.trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { path: string }).path);
    const theirs = sh('tar', ['-xOf', img.file, `./${layer.path}`]).length
      ? sh('sh', ['-c', `tar -xOf '${img.file}' './${layer.path}' | tar -tf -`])
          .trim()
          .split('\n')
      : [];
    expect(ours).toEqual(theirs);
  });

  it('restores each archive byte for byte, layer digests checked, and skopeo accepts it', () => {
    for (const [key, img] of Object.entries(images)) {
      const out = sb.file(`restored-${key}.tar`);
      const r = sb.run(['restore', snaps[key]!, out]);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${img.layers + 1 + (img.kind === 'oci' ? 1 : 0)} image digests \\(layers, config${img.kind === 'oci' ? ', manifest' : ''}\\) verified`));
      expect(sha256File(out)).toBe(sha256File(img.file));
      const transport = img.kind === 'docker' ? 'docker-archive' : 'oci-archive';
      const inspect = JSON.parse(sh('skopeo', ['inspect', `${transport}:${out}`]));
      expect(inspect.Layers).toHaveLength(img.layers);
      // skopeo copy reads every blob and checks its digest
      sh('skopeo', ['copy', '-q', `${transport}:${out}`, `oci:${sb.file(`copied-${key}`)}:t`]);
      sh('skopeo', ['copy', '-q', `${transport}:${out}`, `docker-archive:${sb.file(`copied-${key}.docker.tar`)}:x/y:z`]);
      expect(JSON.parse(sh('skopeo', ['inspect', `oci:${sb.file(`copied-${key}`)}:t`])).Layers).toHaveLength(img.layers);
    }
  });

  it('restore - streams the archive in order (what docker load reads)', () => {
    const r = sb.run(['restore', snaps.umociOci!, '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(r.stdoutBytes)).toBe(sha256File(images.umociOci!.file));
    expect(r.stderr).toMatch(/4 image digests \(layers, config, manifest\) verified/);
  });

  it('restore --layer writes one layer blob, verified against its digest (file and stdout)', () => {
    for (const key of ['sample', 'umociOci']) {
      const j = JSON.parse(sb.run(['--json', 'ls', snaps[key]!]).stdout);
      for (const l of j.image.layers as { digest: string; size: number }[]) {
        const out = sb.file(`layer-${key}-${l.digest.slice(7, 19)}`);
        const r = sb.run(['restore', snaps[key]!, out, '--layer', l.digest.slice(7, 19)]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`${l.digest} verified`);
        expect(`sha256:${sha256File(out)}`).toBe(l.digest);
        expect(fs.statSync(out).size).toBe(l.size);
        const piped = sb.run(['restore', snaps[key]!, '-', '--layer', l.digest]);
        expect(piped.code, piped.stderr).toBe(0);
        expect(`sha256:${sha256(piped.stdoutBytes)}`).toBe(l.digest);
      }
    }
    // the restored layer is a tar GNU tar reads (uncompressed) or a gzip stream (OCI)
    const j = JSON.parse(sb.run(['--json', 'ls', snaps.sample!]).stdout);
    const out = sb.file('one-layer.tar');
    expect(sb.run(['restore', snaps.sample!, out, '--layer', j.image.layers[1].digest]).code).toBe(0);
    expect(sh('tar', ['-tf', out])).toContain('usr/lib/sample2/lib4.so');
  });

  it('a second version adds little: its unchanged layer dedupes', () => {
    const v3 = sb.file('sample-v3.tar');
    sh('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), v3, '3']);
    const j = JSON.parse(sb.run(['snapshot', v3, '--json']).stdout);
    const layers = JSON.parse(sb.run(['--json', 'ls', j.id]).stdout).image.layers as { size: number }[];
    expect(layers).toHaveLength(3);
    // only the new layer (and headers, config, manifest) is new
    expect(j.bytesNew).toBeLessThan(layers[2]!.size + 256 * 1024);
  });

  it('errors: unknown layer, layer of a raw snapshot, files of a raw snapshot', () => {
    const unknown = sb.run(['restore', snaps.sample!, sb.file('x'), '--layer', 'sha256:' + '0'.repeat(64)]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/has no layer .*\[NOT_FOUND\]/);
    expect(fs.existsSync(sb.file('x'))).toBe(false);
    const raw = JSON.parse(sb.run(['snapshot', '-', '--json', '--name', 'raw'], { input: seededBytes('raw', 5000) }).stdout);
    const noLayers = sb.run(['restore', raw.id, sb.file('y'), '--layer', 'abcdef12']);
    expect(noLayers.code).toBe(1);
    expect(noLayers.stderr).toMatch(/not an image archive.*\[INVALID_ARGUMENT\]/);
    const files = sb.run(['ls', raw.id, '--files']);
    expect(files.code).toBe(1);
    expect(files.stderr).toMatch(/byte stream, not an archive.*\[INVALID_ARGUMENT\]/);
    expect(sb.run(['ls', raw.id]).stdout).toMatch(/byte stream/);
  });

  it('an image missing a layer its manifest names: stored as a plain tar with a warning (exit 3); --format docker refuses it', () => {
    const img = images.sample!;
    const broken = sb.file('broken.tar');
    fs.copyFileSync(img.file, broken);
    const manifest = JSON.parse(sh('tar', ['-xOf', broken, './manifest.json'])) as { Layers: string[] }[];
    sh('tar', ['--delete', '-f', broken, `./${manifest[0]!.Layers[1]}`]);
    const r = sb.run(['snapshot', broken, '--json']);
    expect(r.code, r.stderr).toBe(3);
    // with --json, warnings are JSON lines on stderr
    const warnings = r.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { warning: { message: string } }).warning.message);
    expect(warnings[0]).toMatch(/manifest.json entry 0: layer .*layer\.tar is not in the archive/);
    expect(warnings[1]).toMatch(/stored as a plain tar/);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('tar');
    expect(j.image.warnings).toHaveLength(1);
    const out = sb.file('broken-restored.tar');
    expect(sb.run(['restore', j.id, out]).code).toBe(0);
    expect(sha256File(out)).toBe(sha256File(broken));
    // the layer that exists is still listed
    expect(sb.run(['ls', j.id]).stdout).toMatch(/warning: .*not in the archive/);
    const forced = sb.run(['snapshot', broken, '--format', 'docker', '--force']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/not a complete docker-archive.*\[INVALID_ARGUMENT\]/);
  });

  it('ls --files of a plain tar lists the archive', () => {
    const dir = sb.file('plain');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.txt'), 'hello');
    const tarFile = sb.file('plain.tar');
    sh('tar', ['-C', dir, '-cf', tarFile, 'a.txt']);
    const j = JSON.parse(sb.run(['snapshot', tarFile, '--json']).stdout);
    expect(j.format).toBe('tar');
    const r = sb.run(['ls', j.id, '--files']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-rw-r--r-- +5 {2}a\.txt/);
  });
});
