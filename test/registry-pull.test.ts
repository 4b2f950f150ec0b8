/**
 * Snapshot from a registry (issue 12 item 3) and the pull errors (item 6), against a real
 * CNCF distribution registry (`docker-registry serve`): images put there by skopeo are
 * snapshotted as OCI archive snapshots with the registry's digests; layers the repository
 * holds are not downloaded again; a multi-platform index resolves to the host's platform or
 * --platform; an htpasswd registry needs --registry-auth; a registry answering a layer with
 * bytes that do not match its digest, a missing tag, an unsupported manifest and an
 * unreachable registry each fail with a stable code and store nothing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, type Sandbox } from './helpers/cli.js';
import { freePort, layoutManifest, makeRunnableImage, needImageTools, sh, startDockerRegistry, startHtpasswdRegistry, writeHtpasswd, type BuiltImage, type Registry } from './helpers/registry.js';

const tools = needImageTools('registry-pull.test.ts', ['docker-registry', 'skopeo', 'tar']);

interface Pulled {
  id: string;
  format: string;
  image: { names: string[]; manifestDigest: string; configDigest: string };
  pull: { manifestDigest: string; blobsDownloaded: number; blobsFromRepository: number; platform?: string; indexDigest?: string };
}

describe.skipIf(!tools)('snapshot from a registry (docker-registry), an OCI layout, an archive transport', () => {
  let sb: Sandbox;
  let reg: Registry;
  let v1: BuiltImage;
  let v2: BuiltImage;
  const put = (img: BuiltImage, ref: string) => sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker-archive:${img.file}`, `docker://${reg.addr}/${ref}`]);
  const remoteDigest = (ref: string) => (JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.addr}/${ref}`])) as { Digest: string }).Digest;
  const pull = (ref: string, extra: string[] = []): Pulled => {
    const r = sb.run(['--json', 'snapshot', ref, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Pulled;
  };
  const snapshotCount = () => listFiles(path.join(sb.repo, 'snapshots')).length;
  const dataFiles = () => listFiles(path.join(sb.repo, 'data')).length;

  beforeAll(async () => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0);
    v1 = makeRunnableImage(sb.dir, 'test/hello:v1', 'hello v1', 200_000);
    v2 = makeRunnableImage(sb.dir, 'test/hello:v2', 'hello v2', 200_000); // the same busybox layer
    reg = await startDockerRegistry(sb.dir);
    put(v1, 'team/hello:v1');
    put(v2, 'team/hello:v2');
  });
  afterAll(async () => {
    await reg?.stop();
    sb.cleanup();
  });

  it('stores the image with the registry digests; restore gives an archive skopeo reads with the same digest', () => {
    const p = pull(`docker://${reg.addr}/team/hello:v1`);
    expect(p.format).toBe('oci');
    expect(p.pull.blobsDownloaded).toBe(3);
    expect(p.pull.blobsFromRepository).toBe(0);
    expect(p.pull.manifestDigest).toBe(remoteDigest('team/hello:v1'));
    expect(p.image.manifestDigest).toBe(p.pull.manifestDigest);
    expect(p.image.configDigest).toBe(v1.configDigest);
    expect(p.image.names).toEqual(expect.arrayContaining(['team/hello:v1', `${reg.addr}/team/hello:v1`]));
    const out = sb.file('pulled-v1.oci.tar');
    expect(sb.run(['restore', 'team/hello:v1', out]).code).toBe(0);
    const info = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${out}`])) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(p.pull.manifestDigest);
    // and it goes back out under the same digest
    const back = JSON.parse(sb.run(['--json', 'restore', 'team/hello:v1', `docker://${reg.addr}/copy/hello:v1`]).stdout) as { manifestDigest: string; blobsPushed: number };
    expect(back.manifestDigest).toBe(p.pull.manifestDigest);
    expect(remoteDigest('copy/hello:v1')).toBe(p.pull.manifestDigest);
  });

  it('layers the repository holds are not downloaded again', () => {
    const p = pull(`docker://${reg.addr}/team/hello:v2`);
    expect(p.pull.blobsFromRepository).toBe(1); // the busybox layer
    expect(p.pull.blobsDownloaded).toBe(2);
    const again = pull(`docker://${reg.addr}/team/hello:v2`);
    expect([again.pull.blobsDownloaded, again.pull.blobsFromRepository]).toEqual([0, 3]);
    expect(again.image.manifestDigest).toBe(p.image.manifestDigest);
  });

  it('a multi-platform index: the host platform by default, --platform picks another', async () => {
    // an arm64 variant (same layers, another config), then an OCI index over both, put by hand
    const cfg = JSON.stringify({ architecture: 'arm64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: v1.layers } });
    const cfgDigest = `sha256:${createHash('sha256').update(cfg).digest('hex')}`;
    const upload = async (body: Buffer, digest: string) => {
      const start = await fetch(`http://${reg.addr}/v2/team/multi/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, `http://${reg.addr}`);
      loc.searchParams.set('digest', digest);
      expect((await fetch(loc, { method: 'PUT', body })).status).toBe(201);
    };
    await upload(Buffer.from(cfg), cfgDigest);
    put(v1, 'team/multi:amd64');
    const amd = JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.addr}/team/multi:amd64`])) as { layers: unknown[]; mediaType: string };
    const armManifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: amd.mediaType, config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfgDigest, size: cfg.length }, layers: amd.layers }),
    );
    const armDigest = `sha256:${createHash('sha256').update(armManifest).digest('hex')}`;
    expect((await fetch(`http://${reg.addr}/v2/team/multi/manifests/${armDigest}`, { method: 'PUT', headers: { 'Content-Type': amd.mediaType }, body: armManifest })).status).toBe(201);
    const amdDigest = remoteDigest('team/multi:amd64');
    const amdSize = Number((await fetch(`http://${reg.addr}/v2/team/multi/manifests/amd64`, { method: 'HEAD', headers: { Accept: amd.mediaType } })).headers.get('content-length'));
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: amd.mediaType, digest: armDigest, size: armManifest.length, platform: { architecture: 'arm64', os: 'linux' } },
        { mediaType: amd.mediaType, digest: amdDigest, size: amdSize, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    });
    expect((await fetch(`http://${reg.addr}/v2/team/multi/manifests/all`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body: index })).status).toBe(201);
    const host = pull(`docker://${reg.addr}/team/multi:all`, ['--platform', 'linux/amd64']);
    expect(host.pull.manifestDigest).toBe(amdDigest);
    expect(host.pull.platform).toBe('linux/amd64');
    const arm = pull(`docker://${reg.addr}/team/multi:all`, ['--platform', 'linux/arm64']);
    expect(arm.pull.manifestDigest).toBe(armDigest);
    expect(arm.image.configDigest).toBe(cfgDigest);
    expect(arm.pull.blobsDownloaded).toBe(1); // only the arm64 config: the layers are stored
    const none = sb.run(['snapshot', `docker://${reg.addr}/team/multi:all`, '--platform', 'linux/s390x']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no image for platform linux\/s390x \(it has linux\/arm64, linux\/amd64\).*\[NOT_FOUND\]/);
  });

  it('oci:<dir> and docker-archive:<file> sources', () => {
    const dir = sb.file('layout');
    sh('skopeo', ['copy', '-q', `docker-archive:${v1.file}`, `oci:${dir}:v1`]);
    const p = pull(`oci:${dir}:v1`);
    expect(p.pull.manifestDigest).toBe(layoutManifest(dir).digest);
    expect(p.image.configDigest).toBe(v1.configDigest);
    const d = JSON.parse(sb.run(['--json', 'snapshot', `docker-archive:${v2.file}`]).stdout) as { format: string; image: { configDigest: string } };
    expect(d.format).toBe('docker');
    expect(d.image.configDigest).toBe(v2.configDigest);
  });

  it('an htpasswd registry: anonymous is REGISTRY_AUTH; --registry-auth <config.json> pulls', async () => {
    const secured = await startHtpasswdRegistry(sb.dir, writeHtpasswd(sb.file('htpasswd'), 'puller', 'pull-pass'));
    try {
      sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'puller:pull-pass', `docker-archive:${v1.file}`, `docker://${secured.addr}/private/hello:v1`]);
      const before = snapshotCount();
      const anon = sb.run(['snapshot', `docker://${secured.addr}/private/hello:v1`]);
      expect(anon.code).toBe(1);
      expect(anon.stderr).toMatch(/authentication required.*\[REGISTRY_AUTH\]/);
      const cfg = sb.file('config.json');
      fs.writeFileSync(cfg, JSON.stringify({ auths: { [secured.addr]: { auth: Buffer.from('puller:wrong').toString('base64') } } }));
      const wrong = sb.run(['snapshot', `docker://${secured.addr}/private/hello:v1`, '--registry-auth', cfg]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/\[REGISTRY_AUTH\]/);
      expect(snapshotCount()).toBe(before);
      fs.writeFileSync(cfg, JSON.stringify({ auths: { [secured.addr]: { username: 'puller', password: 'pull-pass' } } }));
      const ok = pull(`docker://${secured.addr}/private/hello:v1`, ['--registry-auth', cfg]);
      expect(ok.image.configDigest).toBe(v1.configDigest);
    } finally {
      await secured.stop();
    }
  });

  it('errors store nothing: a missing tag, an unreachable registry, an unsupported manifest, a layer with wrong bytes', async () => {
    const snaps = snapshotCount();
    const data = dataFiles();
    const missing = sb.run(['snapshot', `docker://${reg.addr}/team/hello:v9`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such image in the registry .*MANIFEST_UNKNOWN.*\[NOT_FOUND\]/);
    const port = await freePort();
    const down = sb.run(['snapshot', `docker://127.0.0.1:${port}/team/hello:v1`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach registry.*ECONNREFUSED.*\[REGISTRY_UNREACHABLE\]/);
    // a registry in front of the real one that lies: a schema 1 manifest, and a layer whose bytes are not its digest
    const real = `http://${reg.addr}`;
    const liar = http.createServer((req, res) => {
      void (async () => {
        if (req.url?.includes('/manifests/') && req.url.startsWith('/v2/team/schema1/')) {
          res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
          return res.end(JSON.stringify({ schemaVersion: 1, name: 'team/schema1', tag: 'v1', fsLayers: [] }));
        }
        const up = await fetch(`${real}${req.url!.replace('/team/lying/', '/team/hello/')}`, { method: req.method!, headers: { Accept: String(req.headers.accept ?? '*/*') } });
        const body = Buffer.from(await up.arrayBuffer());
        if (req.url!.includes('/blobs/') && body.length > 100_000) body[body.length >> 1]! ^= 0xff; // one flipped byte in a layer
        const headers: Record<string, string> = {};
        up.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') headers[k] = v;
        });
        res.writeHead(up.status, headers);
        res.end(req.method === 'HEAD' ? undefined : body);
      })();
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()));
    const liarAddr = `127.0.0.1:${(liar.address() as { port: number }).port}`;
    try {
      const s1 = await sb.runAsync(['snapshot', `docker://${liarAddr}/team/schema1:v1`]); // async: the lying registry runs in this process
      expect(s1.code).toBe(1);
      expect(s1.stderr).toMatch(/manifest media type application\/vnd\.docker\.distribution\.manifest\.v1\+json is not supported.*\[UNSUPPORTED_FORMAT\]/);
      const fresh = sandbox(); // an empty repository: every layer must come from the lying registry
      try {
        expect(fresh.run(['init', '--insecure-no-encryption']).code).toBe(0);
        const bad = await fresh.runAsync(['snapshot', `docker://${liarAddr}/team/lying:v1`]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/the bytes of blob sha256:[0-9a-f]{64} have sha256:[0-9a-f]{64}: nothing was stored \[CORRUPT\]/);
        expect(listFiles(path.join(fresh.repo, 'snapshots'))).toEqual([]);
        expect(listFiles(path.join(fresh.repo, 'data'))).toEqual([]);
      } finally {
        fresh.cleanup();
      }
    } finally {
      await new Promise<void>((r) => liar.close(() => r()));
    }
    expect(snapshotCount()).toBe(snaps);
    expect(dataFiles()).toBe(data);
  });
});
