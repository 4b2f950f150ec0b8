/**
 * Restore into a registry or an OCI layout (issue 12 item 4), against a real CNCF
 * distribution registry (`docker-registry serve`) on a free loopback port: pushes keep the
 * original digests (skopeo inspect agrees), blobs the registry has are skipped, monolithic
 * and chunked uploads, podman pulls and runs what was pushed; `oci:<dir>` layouts that
 * skopeo and podman read; credentials from a docker config.json against an htpasswd
 * registry; failures leave nothing tagged (item 6).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipByteInLargestPack, sandbox, type Sandbox } from './helpers/cli.js';
import {
  cleanupPodman,
  freePort,
  layoutManifest,
  makeRunnableImage,
  needImageTools,
  podman,
  sh,
  startDockerRegistry,
  startHtpasswdRegistry,
  writeHtpasswd,
  type BuiltImage,
  type Registry,
} from './helpers/registry.js';

const tools = needImageTools('registry-push.test.ts', ['docker-registry', 'skopeo', 'podman', 'runc', 'tar']);

interface Pushed {
  manifestDigest: string;
  blobsPushed: number;
  blobsSkipped: number;
  chunkedUploads: number;
}

describe.skipIf(!tools)('restore into a registry (docker-registry) and an OCI layout', () => {
  let sb: Sandbox;
  let reg: Registry;
  let hello: BuiltImage;
  let ociArchive: string;
  let ociDigest: string;
  const layoutDirs: string[] = [];

  const inspect = (ref: string, extra: string[] = []) => JSON.parse(sh('skopeo', ['inspect', ...extra, ref])) as { Digest: string; Layers: string[] };
  const config = (ref: string, extra: string[] = []) => JSON.parse(sh('skopeo', ['inspect', '--raw', '--config', ...extra, ref])) as { rootfs: { diff_ids: string[] } };

  beforeAll(async () => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0);
    hello = makeRunnableImage(sb.dir, 'test/hello:v1', 'hello from a pushed image', 200_000);
    expect(sb.run(['snapshot', hello.file]).code).toBe(0);
    ociArchive = sb.file('hello.oci.tar');
    sh('skopeo', ['copy', '-q', `docker-archive:${hello.file}`, `oci-archive:${ociArchive}:test/hello-oci:gz`]);
    const x = sb.file('x');
    fs.mkdirSync(x);
    sh('tar', ['-C', x, '-xf', ociArchive]);
    ociDigest = layoutManifest(x).digest;
    expect(sb.run(['snapshot', ociArchive]).code).toBe(0);
    reg = await startDockerRegistry(sb.dir);
  });
  afterAll(async () => {
    await reg?.stop();
    cleanupPodman(sb.dir);
    for (const d of layoutDirs) fs.rmSync(d, { recursive: true, force: true });
    sb.cleanup();
  });

  const push = (ref: string, target: string, extra: string[] = []): Pushed => {
    const r = sb.run(['--json', 'restore', ref, target, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Pushed;
  };

  it('pushes a docker-archive snapshot under its generated manifest; skopeo inspect agrees; a second push skips every blob', () => {
    const first = push('test/hello:v1', `docker://${reg.addr}/pushed/hello:v1`);
    expect(first.blobsPushed).toBe(3); // two layers and the config
    expect(first.blobsSkipped).toBe(0);
    // the same digest stowage serve gives it
    const served = JSON.parse(sb.run(['--json', 'restore', 'test/hello:v1', `oci:${sb.file('lay-check')}`]).stdout) as { manifestDigest: string };
    expect(first.manifestDigest).toBe(served.manifestDigest);
    const info = inspect(`docker://${reg.addr}/pushed/hello:v1`, ['--tls-verify=false']);
    expect(info.Digest).toBe(first.manifestDigest);
    expect(info.Layers).toEqual(hello.layers);
    expect(config(`docker://${reg.addr}/pushed/hello:v1`, ['--tls-verify=false']).rootfs.diff_ids).toEqual(hello.layers);
    const again = push('test/hello:v1', `docker://${reg.addr}/pushed/hello:v1`);
    expect([again.blobsPushed, again.blobsSkipped]).toEqual([0, 3]);
  });

  it('pushes an OCI archive byte for byte, in chunks when asked; podman pulls and runs both', () => {
    const r = push('test/hello-oci:gz', `docker://${reg.addr}/pushed/hello-oci:gz`, ['--upload-chunk', '64K']);
    expect(r.manifestDigest).toBe(ociDigest);
    expect(r.chunkedUploads).toBeGreaterThan(0);
    expect(inspect(`docker://${reg.addr}/pushed/hello-oci:gz`, ['--tls-verify=false']).Digest).toBe(ociDigest);
    const p = podman(sb.dir);
    for (const ref of ['pushed/hello:v1', 'pushed/hello-oci:gz']) {
      p(['pull', '-q', '--tls-verify=false', `${reg.addr}/${ref}`]);
      expect(p(['image', 'inspect', '--format', '{{.Id}}', `${reg.addr}/${ref}`]).trim()).toBe(hello.configDigest.slice(7));
      expect(p(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', `${reg.addr}/${ref}`]).trim()).toBe(hello.message);
    }
  });

  it('restore to oci:<dir> writes a layout skopeo and podman read, with the original digests; a second tag adds to it', () => {
    // podman names an oci: image after its path, which must be lowercase (mkdtemp's is not)
    const dir = path.join(os.tmpdir(), `stowage-layout-${randomBytes(6).toString('hex')}`);
    layoutDirs.push(dir);
    const a = JSON.parse(sb.run(['--json', 'restore', 'test/hello-oci:gz', `oci:${dir}:gz`]).stdout) as { manifestDigest: string; blobsWritten: number };
    expect(a.manifestDigest).toBe(ociDigest);
    const b = JSON.parse(sb.run(['--json', 'restore', 'test/hello:v1', `oci:${dir}`]).stdout) as { manifestDigest: string; blobsSkipped: number };
    expect(b.blobsSkipped).toBe(1); // the config is shared
    expect(inspect(`oci:${dir}:gz`).Digest).toBe(ociDigest);
    expect(inspect(`oci:${dir}:v1`).Digest).toBe(b.manifestDigest);
    expect(inspect(`oci:${dir}:v1`).Layers).toEqual(hello.layers);
    const p = podman(sb.dir);
    p(['pull', '-q', `oci:${dir}:v1`]);
    expect(p(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', `oci:${dir}:v1`]).trim()).toBe(hello.message);
    // a directory that is not a layout is refused, untouched
    const other = sb.file('not-a-layout');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'keep.txt'), 'x');
    const r = sb.run(['restore', 'test/hello:v1', `oci:${other}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not an OCI image layout .*\[TARGET_EXISTS\]/);
    expect(fs.readdirSync(other)).toEqual(['keep.txt']);
  });

  it('credentials from a docker config.json; wrong ones: REGISTRY_AUTH, exit 1, nothing tagged', async () => {
    const secured = await startHtpasswdRegistry(sb.dir, writeHtpasswd(sb.file('htpasswd'), 'pusher', 'right-pass'));
    try {
      const cfg = (pass: string) => {
        const f = sb.file(`auth-${pass}.json`);
        fs.writeFileSync(f, JSON.stringify({ auths: { [secured.addr]: { auth: Buffer.from(`pusher:${pass}`).toString('base64') } } }));
        return f;
      };
      const none = sb.run(['restore', 'test/hello:v1', `docker://${secured.addr}/team/hello:v1`]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/authentication required .*--registry-auth.*\[REGISTRY_AUTH\]/);
      const wrong = sb.run(['restore', 'test/hello:v1', `docker://${secured.addr}/team/hello:v1`, '--registry-auth', cfg('wrong-pass')]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/\[REGISTRY_AUTH\]/);
      const creds = `--creds=pusher:right-pass`;
      expect(() => sh('skopeo', ['inspect', '--tls-verify=false', creds, `docker://${secured.addr}/team/hello:v1`])).toThrow(/manifest unknown|not found/i);
      const ok = JSON.parse(sb.run(['--json', 'restore', 'test/hello:v1', `docker://${secured.addr}/team/hello:v1`, '--registry-auth', cfg('right-pass')]).stdout) as Pushed;
      expect(ok.blobsPushed).toBe(3);
      expect(inspect(`docker://${secured.addr}/team/hello:v1`, ['--tls-verify=false', creds]).Digest).toBe(ok.manifestDigest);
    } finally {
      await secured.stop();
    }
  });

  it('a push that fails midway (a damaged pack) leaves nothing tagged', () => {
    const dmg = sandbox();
    try {
      expect(dmg.run(['init', '--insecure-no-encryption']).code).toBe(0);
      expect(dmg.run(['snapshot', hello.file]).code).toBe(0);
      flipByteInLargestPack(dmg.repo);
      const r = dmg.run(['restore', 'test/hello:v1', `docker://${reg.addr}/damaged/hello:v1`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\[CORRUPT\]/);
      expect(() => sh('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.addr}/damaged/hello:v1`])).toThrow(/manifest unknown|not found|name unknown/i);
    } finally {
      dmg.cleanup();
    }
  });

  it('an unreachable registry: REGISTRY_UNREACHABLE, exit 1; a non-image snapshot: INVALID_ARGUMENT', async () => {
    const port = await freePort(); // nothing listens there
    const r = sb.run(['restore', 'test/hello:v1', `docker://127.0.0.1:${port}/x/y:z`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach registry 127\.0\.0\.1:\d+ .*ECONNREFUSED.*\[REGISTRY_UNREACHABLE\]/);
    fs.writeFileSync(sb.file('plain.bin'), 'not an image');
    expect(sb.run(['snapshot', sb.file('plain.bin')]).code).toBe(0);
    const plain = sb.run(['restore', 'latest', `docker://${reg.addr}/x/y:z`]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/not an image archive.*\[INVALID_ARGUMENT\]/);
  });
});
