/**
 * `stowage serve` with real clients (issue 12 items 1 and 2): image snapshots pulled by
 * skopeo and podman from the read-only registry, digests matching the originals, the
 * pulled image run by podman; the pull workflow of the OCI distribution conformance
 * checks reproduced offline (manifests by tag and digest, HEADs, blobs, ranges, errors);
 * four pulls at once; TLS and credentials on a non-loopback address.
 * Skips with one line when skopeo, podman, runc, openssl or a static busybox is absent
 * (fails under CI=true).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipByteInLargestPack, sandbox, type Sandbox } from './helpers/cli.js';
import { cleanupPodman, layoutManifest, makeRunnableImage, needImageTools, podman, writeHtpasswd, sh, sha256, startServe, type BuiltImage, type Served } from './helpers/registry.js';

const tools = needImageTools('serve.test.ts', ['skopeo', 'podman', 'runc', 'openssl', 'curl']);

describe.skipIf(!tools)('stowage serve: a read-only registry over the image snapshots, pulled by skopeo and podman', () => {
  let sb: Sandbox;
  let srv: Served;
  let v1: BuiltImage;
  let v1again: BuiltImage;
  let v2: BuiltImage;
  let ociArchive: string;
  let ociManifestDigest: string;
  const ids: Record<string, string> = {};

  const snapshot = (file: string): string => {
    const r = sb.run(['--json', 'snapshot', file]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { id: string }).id;
  };

  beforeAll(async () => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0);
    v1 = makeRunnableImage(sb.dir, 'test/hello:v1', 'hello from the first v1', 300_000);
    v2 = makeRunnableImage(sb.dir, 'test/hello:v2', 'hello from v2', 300_000);
    ids.v1 = snapshot(v1.file);
    ids.v2 = snapshot(v2.file);
    // a later snapshot holding the same tag wins it; the first stays reachable by its id prefix
    v1again = makeRunnableImage(fs.mkdtempSync(path.join(sb.dir, 'again-')), 'test/hello:v1', 'hello from the second v1', 1000);
    ids.v1again = snapshot(v1again.file);
    // an OCI archive with gzip layers (skopeo's conversion): served byte for byte
    ociArchive = sb.file('hello.oci.tar');
    sh('skopeo', ['copy', '-q', `docker-archive:${v2.file}`, `oci-archive:${ociArchive}:test/hello-oci:v2`]);
    const x = sb.file('oci-x');
    fs.mkdirSync(x);
    sh('tar', ['-C', x, '-xf', ociArchive]);
    ociManifestDigest = layoutManifest(x).digest;
    ids.oci = snapshot(ociArchive);
    srv = await startServe(sb, ['--log']);
  });
  afterAll(async () => {
    await srv?.stop();
    cleanupPodman(sb.dir);
    sb.cleanup();
  });

  it('pull workflow conformance: /v2/, catalog, tags, manifests by tag and digest, HEADs, blobs', async () => {
    const base = srv.url;
    const root = await fetch(`${base}/v2/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await (await fetch(`${base}/v2/_catalog`)).json()).toEqual({ repositories: ['test/hello', 'test/hello-oci'] });
    const tags = (await (await fetch(`${base}/v2/test/hello/tags/list`)).json()) as { name: string; tags: string[] };
    expect(tags.name).toBe('test/hello');
    expect(tags.tags).toEqual(expect.arrayContaining(['v1', 'v2', ids.v1!.slice(0, 12), ids.v2!.slice(0, 12), ids.v1again!.slice(0, 12)]));
    // pagination
    const page = await fetch(`${base}/v2/test/hello/tags/list?n=1`);
    expect(((await page.json()) as { tags: string[] }).tags).toHaveLength(1);
    expect(page.headers.get('link')).toMatch(/rel="next"/);

    for (const [repo, tag] of [
      ['test/hello', 'v2'],
      ['test/hello-oci', 'v2'],
    ] as const) {
      const head = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(head.status).toBe(200);
      const digest = head.headers.get('docker-content-digest')!;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(head.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
      const get = await fetch(`${base}/v2/${repo}/manifests/${tag}`);
      const body = Buffer.from(await get.arrayBuffer());
      expect(Number(head.headers.get('content-length'))).toBe(body.length);
      expect(`sha256:${sha256(body)}`).toBe(digest);
      const byDigest = Buffer.from(await (await fetch(`${base}/v2/${repo}/manifests/${digest}`)).arrayBuffer());
      expect(byDigest.equals(body)).toBe(true);
      if (repo === 'test/hello-oci') expect(digest).toBe(ociManifestDigest); // stored bytes, byte for byte
      const m = JSON.parse(body.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
      expect(m.config.digest).toBe(v2.configDigest);
      if (repo === 'test/hello') expect(m.layers.map((l) => l.digest)).toEqual(v2.layers); // generated: the uncompressed tars
      for (const b of [m.config, ...m.layers]) {
        const h = await fetch(`${base}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
        expect(h.status).toBe(200);
        expect(Number(h.headers.get('content-length'))).toBe(b.size);
        expect(h.headers.get('docker-content-digest')).toBe(b.digest);
        expect(h.headers.get('accept-ranges')).toBe('bytes');
        const data = Buffer.from(await (await fetch(`${base}/v2/${repo}/blobs/${b.digest}`)).arrayBuffer());
        expect(data.length).toBe(b.size);
        expect(`sha256:${sha256(data)}`).toBe(b.digest);
      }
    }
  });

  it('a Range request resumes a blob (206), an unsatisfiable one is 416', async () => {
    const layer = v1again.layers[0]!; // the busybox layer, ~2 MB
    const whole = Buffer.from(await (await fetch(`${srv.url}/v2/test/hello/blobs/${layer}`)).arrayBuffer());
    const cut = 1_234_567;
    const rest = await fetch(`${srv.url}/v2/test/hello/blobs/${layer}`, { headers: { Range: `bytes=${cut}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${cut}-${whole.length - 1}/${whole.length}`);
    const tail = Buffer.from(await rest.arrayBuffer());
    expect(`sha256:${sha256(Buffer.concat([whole.subarray(0, cut), tail]))}`).toBe(layer);
    const mid = await fetch(`${srv.url}/v2/test/hello/blobs/${layer}`, { headers: { Range: 'bytes=100-199' } });
    expect(mid.status).toBe(206);
    expect(Buffer.from(await mid.arrayBuffer()).equals(whole.subarray(100, 200))).toBe(true);
    const bad = await fetch(`${srv.url}/v2/test/hello/blobs/${layer}`, { headers: { Range: `bytes=${whole.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${whole.length}`);
  });

  it('errors: NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, UNSUPPORTED for writes, Accept honoured', async () => {
    const code = async (r: Response) => ((await r.json()) as { errors: { code: string }[] }).errors[0]!.code;
    const nope = await fetch(`${srv.url}/v2/no/such/manifests/v1`);
    expect([nope.status, await code(nope)]).toEqual([404, 'NAME_UNKNOWN']);
    const tag = await fetch(`${srv.url}/v2/test/hello/manifests/v9`);
    expect([tag.status, await code(tag)]).toEqual([404, 'MANIFEST_UNKNOWN']);
    const dig = await fetch(`${srv.url}/v2/test/hello/manifests/sha256:${'0'.repeat(64)}`);
    expect([dig.status, await code(dig)]).toEqual([404, 'MANIFEST_UNKNOWN']);
    const blob = await fetch(`${srv.url}/v2/test/hello/blobs/sha256:${'1'.repeat(64)}`);
    expect([blob.status, await code(blob)]).toEqual([404, 'BLOB_UNKNOWN']);
    // a blob of another repository is not this one's (as distribution links blobs per repository)
    const ociLayer = (JSON.parse(Buffer.from(await (await fetch(`${srv.url}/v2/test/hello-oci/manifests/v2`)).arrayBuffer()).toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const foreign = await fetch(`${srv.url}/v2/test/hello/blobs/${ociLayer}`);
    expect([foreign.status, await code(foreign)]).toEqual([404, 'BLOB_UNKNOWN']);
    const head = await fetch(`${srv.url}/v2/test/hello/blobs/sha256:${'1'.repeat(64)}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    for (const [method, p] of [
      ['PUT', '/v2/test/hello/manifests/v3'],
      ['POST', '/v2/test/hello/blobs/uploads/'],
      ['PATCH', '/v2/test/hello/blobs/uploads/x'],
      ['DELETE', `/v2/test/hello/manifests/v1`],
    ] as const) {
      const r = await fetch(`${srv.url}${p}`, { method, body: method === 'DELETE' ? undefined : 'x' });
      expect([r.status, await code(r)], `${method} ${p}`).toEqual([405, 'UNSUPPORTED']);
    }
    const acc = await fetch(`${srv.url}/v2/test/hello/manifests/v1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
    expect([acc.status, await code(acc)]).toEqual([404, 'MANIFEST_UNKNOWN']);
  });

  it('skopeo copy docker://... oci: gets the original digests; the latest snapshot holding a tag wins; id prefixes are tags', () => {
    const pull = (ref: string, dir: string) => {
      sh('skopeo', ['copy', '-q', '--dest-oci-accept-uncompressed-layers', '--src-tls-verify=false', `docker://${srv.addr}/${ref}`, `oci:${dir}:t`]);
      return layoutManifest(dir);
    };
    const a = pull('test/hello:v1', sb.file('pulled-v1'));
    expect(a.manifest.config.digest).toBe(v1again.configDigest);
    expect(a.manifest.layers.map((l) => l.digest)).toEqual(v1again.layers);
    const old = pull(`test/hello:${ids.v1!.slice(0, 12)}`, sb.file('pulled-v1-old'));
    expect(old.manifest.config.digest).toBe(v1.configDigest);
    expect(old.manifest.layers.map((l) => l.digest)).toEqual(v1.layers);
    const o = pull('test/hello-oci:v2', sb.file('pulled-oci'));
    expect(o.digest).toBe(ociManifestDigest);
    // every blob skopeo wrote matches its name
    for (const d of [o.manifest.config.digest, ...o.manifest.layers.map((l) => l.digest)]) {
      expect(`sha256:${sha256(fs.readFileSync(sb.file(`pulled-oci/blobs/sha256/${d.slice(7)}`)))}`).toBe(d);
    }
  });

  it('podman pulls from stowage serve and runs the image: it prints what the test put in', () => {
    const p = podman(sb.dir);
    for (const [ref, img] of [
      ['test/hello:v1', v1again],
      ['test/hello-oci:v2', v2],
      [`test/hello:${ids.v1!.slice(0, 12)}`, v1],
    ] as const) {
      p(['pull', '-q', '--tls-verify=false', `${srv.addr}/${ref}`]);
      expect(p(['image', 'inspect', '--format', '{{.Id}}', `${srv.addr}/${ref}`]).trim()).toBe(img.configDigest.slice(7));
      const out = p(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', `${srv.addr}/${ref}`]);
      expect(out.trim()).toBe(img.message);
    }
  });

  it('serves four pulls at once', async () => {
    const run = (i: number) =>
      new Promise<number>((resolve) => {
        const p = spawn('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${srv.addr}/test/hello:${i % 2 ? 'v1' : 'v2'}`, `oci:${sb.file(`par-${i}`)}:t`], { stdio: 'ignore' });
        p.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([0, 1, 2, 3].map(run))).toEqual([0, 0, 0, 0]);
    for (const i of [0, 1, 2, 3]) expect(layoutManifest(sb.file(`par-${i}`)).manifest.config.digest).toBe((i % 2 ? v1again : v2).configDigest);
  });

  it('a non-loopback address needs TLS and credentials; with them, clients must authenticate', async () => {
    const refused = sb.run(['serve', '--listen', '0.0.0.0:0']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refusing to serve on 0\.0\.0\.0: a non-loopback address needs TLS .* and credentials/);
    expect(refused.stderr).toMatch(/\[INVALID_ARGUMENT\]/);
    const key = sb.file('key.pem');
    const cert = sb.file('cert.pem');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const noCreds = sb.run(['serve', '--listen', '0.0.0.0:0', '--tls-cert', cert, '--tls-key', key]);
    expect(noCreds.code).not.toBe(0);
    expect(noCreds.stderr).toMatch(/needs credentials/);
    const htpasswd = writeHtpasswd(sb.file('htpasswd'), 'puller', 's3cret-pass');
    const tls = await startServe(sb, ['--listen', '0.0.0.0:0', '--tls-cert', cert, '--tls-key', key, '--htpasswd', htpasswd]);
    try {
      const port = tls.url.split(':').pop()!;
      const curl = (args: string[]) => sh('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
      expect(curl([`https://127.0.0.1:${port}/v2/`])).toBe('401');
      expect(curl(['-u', 'puller:wrong', `https://127.0.0.1:${port}/v2/`])).toBe('401');
      expect(curl(['-u', 'puller:s3cret-pass', `https://127.0.0.1:${port}/v2/`])).toBe('200');
      expect(() => sh('skopeo', ['inspect', '--tls-verify=false', `docker://127.0.0.1:${port}/test/hello:v2`])).toThrow(/401|unauthorized|authentication/i);
      const dir = sb.file('pulled-tls');
      sh('skopeo', ['copy', '-q', '--src-tls-verify=false', '--src-creds', 'puller:s3cret-pass', `docker://127.0.0.1:${port}/test/hello:v2`, `oci:${dir}:t`]);
      expect(layoutManifest(dir).manifest.config.digest).toBe(v2.configDigest);
    } finally {
      expect(await tls.stop()).toBe(0);
    }
  });

  it('a bearer token (--token-file): 401 without it, skopeo --src-registry-token pulls', async () => {
    const tokenFile = sb.file('token');
    fs.writeFileSync(tokenFile, 'a-long-random-token-0123456789\n');
    const s = await startServe(sb, ['--token-file', tokenFile]);
    try {
      const no = await fetch(`${s.url}/v2/`);
      expect(no.status).toBe(401);
      expect(no.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect((await fetch(`${s.url}/v2/`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      expect((await fetch(`${s.url}/v2/`, { headers: { Authorization: 'Bearer a-long-random-token-0123456789' } })).status).toBe(200);
      const dir = sb.file('pulled-token');
      sh('skopeo', ['copy', '-q', '--src-tls-verify=false', '--src-registry-token', 'a-long-random-token-0123456789', `docker://${s.addr}/test/hello:v2`, `oci:${dir}:t`]);
      expect(layoutManifest(dir).manifest.config.digest).toBe(v2.configDigest);
    } finally {
      await s.stop();
    }
  });

  it('a damaged repository: a blob is never served complete with wrong bytes', async () => {
    const dmg = sandbox();
    try {
      expect(dmg.run(['init', '--insecure-no-encryption']).code).toBe(0);
      expect(dmg.run(['snapshot', v2.file]).code).toBe(0);
      flipByteInLargestPack(dmg.repo);
      const s = await startServe(dmg, ['--log']);
      try {
        let complete = 0;
        for (const layer of v2.layers) {
          const got = await fetch(`${s.url}/v2/test/hello/blobs/${layer}`)
            .then(async (r) => (r.status === 200 ? Buffer.from(await r.arrayBuffer()) : undefined))
            .catch(() => undefined);
          if (got && `sha256:${sha256(got)}` === layer) complete++;
          else if (got) throw new Error(`a complete blob with wrong bytes was served for ${layer}`);
        }
        expect(complete).toBeLessThan(v2.layers.length); // the damaged one failed
        expect(s.stderr()).toMatch(/CORRUPT/);
      } finally {
        await s.stop();
      }
    } finally {
      dmg.cleanup();
    }
  });

  it('a client that stops reading is disconnected after --idle-timeout and other pulls complete; a client that goes away frees its slots at once', async () => {
    const big = sandbox();
    const sockets: net.Socket[] = [];
    try {
      expect(big.run(['init', '--insecure-no-encryption']).code).toBe(0);
      // a layer far larger than what the kernel's socket buffers take from a client that reads nothing
      const img = makeRunnableImage(big.dir, 'test/big:v1', 'hello from a big image', 48 << 20);
      expect(big.run(['snapshot', img.file]).code).toBe(0);
      const s = await startServe(big, ['--idle-timeout', '1s', '--log']);
      try {
        const layer = img.layers[1]!;
        const getBlob = (read: boolean) =>
          new Promise<net.Socket>((resolve, reject) => {
            const c = net.connect(Number(s.addr.split(':')[1]), '127.0.0.1', () => {
              c.write(`GET /v2/test/big/blobs/${layer} HTTP/1.1\r\nHost: ${s.addr}\r\n\r\n`);
              c.once('data', () => {
                if (!read) c.pause(); // takes the first bytes, then nothing more: the server's writes stall
                resolve(c);
              });
            });
            c.on('error', () => undefined);
            c.once('error', reject);
            sockets.push(c);
          });
        // three stalled clients hold every shared window slot (3) of the server
        const t0 = Date.now();
        await Promise.all([0, 1, 2].map(() => getBlob(false)));
        // a whole pull still completes: the stalled clients are cut off after 1 s of no progress
        const dir = big.file('pulled');
        const pulled = await new Promise<number>((resolve) => {
          const p = spawn('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${s.addr}/test/big:v1`, `oci:${dir}:t`], { stdio: 'ignore' });
          const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
          p.on('exit', (code) => (clearTimeout(t), resolve(code ?? -1)));
        });
        expect(pulled).toBe(0);
        expect(layoutManifest(dir).manifest.config.digest).toBe(img.configDigest); // skopeo checked every blob against its digest
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
        await until(() => (s.stderr().match(/client took no bytes for 1000 ms/g) ?? []).length >= 3);
        // clients that go away mid-blob: each one's slots return at once (three of them would
        // otherwise hold all three), so the next reads of the whole blob complete
        for (let round = 0; round < 2; round++) {
          const gone = await Promise.all([0, 1, 2].map(() => getBlob(true)));
          for (const c of gone) c.destroy();
          const got = Buffer.from(await (await fetch(`${s.url}/v2/test/big/blobs/${layer}`, { signal: AbortSignal.timeout(30_000) })).arrayBuffer());
          expect(`sha256:${sha256(got)}`).toBe(layer);
        }
      } finally {
        for (const c of sockets) c.destroy();
        expect(await s.stop()).toBe(0);
      }
    } finally {
      big.cleanup();
    }
  }, 120_000);

  it('stops cleanly on SIGTERM', async () => {
    const s = await startServe(sb);
    expect(await s.stop()).toBe(0);
    expect(s.stderr()).toMatch(/stopped/);
  });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
