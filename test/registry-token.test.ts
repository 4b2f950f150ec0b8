/**
 * Registry token authentication (issue 12 items 3, 4, 6) against a real docker-registry
 * configured with `auth.token` and a token service: anonymous pulls get a pull token;
 * pushes need credentials from --registry-auth (a docker config.json); an anonymous push is
 * denied (REGISTRY_AUTH) and leaves nothing tagged.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from './helpers/cli.js';
import { makeRunnableImage, needImageTools, sh, startTokenRegistry, type BuiltImage } from './helpers/registry.js';

const tools = needImageTools('registry-token.test.ts', ['docker-registry', 'skopeo', 'openssl', 'tar']);

describe.skipIf(!tools)('registry token auth (docker-registry auth.token)', () => {
  let sb: Sandbox;
  let reg: Awaited<ReturnType<typeof startTokenRegistry>>;
  let img: BuiltImage;
  let cfg: string;

  beforeAll(async () => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0);
    img = makeRunnableImage(sb.dir, 'test/tok:v1', 'hello through a token', 50_000);
    expect(sb.run(['snapshot', img.file]).code).toBe(0);
    reg = await startTokenRegistry(sb.dir, 'tokuser', 'tok-pass');
    cfg = sb.file('config.json');
    fs.writeFileSync(cfg, JSON.stringify({ auths: { [reg.addr]: { auth: Buffer.from('tokuser:tok-pass').toString('base64') } } }));
  });
  afterAll(async () => {
    await reg?.stop();
    sb.cleanup();
  });

  it('an anonymous push is denied and tags nothing; with credentials it is pushed', () => {
    const anon = sb.run(['restore', 'test/tok:v1', `docker://${reg.addr}/team/tok:v1`]);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/\[REGISTRY_AUTH\]/);
    expect(() => sh('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.addr}/team/tok:v1`])).toThrow(/manifest unknown|not found/i);
    const ok = sb.run(['--json', 'restore', 'test/tok:v1', `docker://${reg.addr}/team/tok:v1`, '--registry-auth', cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    const pushed = JSON.parse(ok.stdout) as { manifestDigest: string; blobsPushed: number };
    expect(pushed.blobsPushed).toBe(3);
    expect((JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.addr}/team/tok:v1`])) as { Digest: string }).Digest).toBe(pushed.manifestDigest);
    expect(reg.tokenRequests()).toBeGreaterThan(0);
  });

  it('an anonymous pull gets a pull token; wrong credentials are REGISTRY_AUTH', () => {
    const fresh = sandbox();
    try {
      expect(fresh.run(['init', '--insecure-no-encryption']).code).toBe(0);
      const r = fresh.run(['--json', 'snapshot', `docker://${reg.addr}/team/tok:v1`]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { image: { configDigest: string } }).image.configDigest).toBe(img.configDigest);
      const bad = fresh.file('bad.json');
      fs.writeFileSync(bad, JSON.stringify({ auths: { [reg.addr]: { username: 'tokuser', password: 'nope' } } }));
      const w = fresh.run(['snapshot', `docker://${reg.addr}/team/tok:v1`, '--registry-auth', bad]);
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(/token service .* refused the credentials.*\[REGISTRY_AUTH\]/);
    } finally {
      fresh.cleanup();
    }
  });
});
