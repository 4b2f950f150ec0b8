/**
 * Helpers for the registry tests: a runnable image built by hand (a static busybox and a
 * message file, as a docker-archive), `stowage serve` and `docker-registry` started on free
 * ports and stopped, podman with the flags that work on this machine (vfs, runc, cgroupfs,
 * root and runroot in a temp dir), and the tool check (skip locally, fail under CI=true).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { BIN, ROOT, type Sandbox } from './cli.js';
import { tarOf } from '../../packages/core/src/testing/tars.js';

export const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** True when all tools are present; otherwise one line, and under CI=true an error. */
export function needTools(file: string, tools: readonly string[]): boolean {
  const missing = tools.filter((t) => !have(t));
  if (missing.length === 0) return true;
  const msg = `${file}: ${missing.join(', ')} not installed: skipped (apt-get install ${missing.join(' ')}; .ci/run installs them)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI=true requires them`);
  console.warn(msg);
  return false;
}

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p) && isStatic(p));

/** needTools plus a static busybox (Debian busybox-static) for runnable test images. */
export function needImageTools(file: string, tools: readonly string[]): boolean {
  if (!needTools(file, tools)) return false;
  if (BUSYBOX) return true;
  const msg = `${file}: no static busybox: skipped (apt-get install busybox-static; .ci/run installs it)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI=true requires it`);
  console.warn(msg);
  return false;
}

function isStatic(p: string): boolean {
  const r = spawnSync('sh', ['-c', `ldd ${p} 2>&1`], { encoding: 'utf8' });
  return /not a dynamic executable|statically linked/.test(r.stdout);
}

export function sh(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

const TAR = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=2024-01-01 00:00Z'];

/**
 * A small single-layer docker-archive at `file` (written in-process: no tools needed): its
 * layer holds `files`, its manifest names `repoTag`. Returns the layer's digest.
 */
export function smallDockerArchive(file: string, repoTag: string, files: ReadonlyArray<{ name: string; data: Uint8Array }>): string {
  const layer = tarOf(files);
  const d = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${d}`] } }));
  const cd = sha256(config);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${cd}.json`, RepoTags: [repoTag], Layers: [`${d}/layer.tar`] }]));
  fs.writeFileSync(
    file,
    tarOf([
      { name: `${d}/layer.tar`, data: layer },
      { name: `${cd}.json`, data: config },
      { name: 'manifest.json', data: manifest },
    ]),
  );
  return `sha256:${d}`;
}

export interface BuiltImage {
  readonly file: string;
  readonly name: string;
  readonly configDigest: string;
  /** Layer digests (= diff_ids: uncompressed tars). */
  readonly layers: readonly string[];
  readonly message: string;
}

/**
 * A runnable docker-archive: layer 1 = static busybox as /bin/sh, layer 2 = /hello.txt
 * holding `message` (plus `extraBytes` of seeded data in /data.bin); Cmd cats /hello.txt.
 */
export function makeRunnableImage(dir: string, name: string, message: string, extraBytes = 0): BuiltImage {
  if (!BUSYBOX) throw new Error('no static busybox (apt-get install busybox-static)');
  const work = fs.mkdtempSync(path.join(dir, 'img-'));
  const img = path.join(work, 'img');
  fs.mkdirSync(img);
  const layers: string[] = [];
  const addLayer = (fill: (root: string) => void) => {
    const root = path.join(work, `root${layers.length}`);
    fs.mkdirSync(root);
    fill(root);
    const tar = path.join(work, 'layer.tar');
    sh('tar', [...TAR, '-C', root, '-cf', tar, '.']);
    const d = sha256(fs.readFileSync(tar));
    fs.renameSync(tar, path.join(img, `${d}.tar`));
    layers.push(`sha256:${d}`);
  };
  addLayer((root) => {
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(root, 'bin/sh'));
  });
  addLayer((root) => {
    fs.writeFileSync(path.join(root, 'hello.txt'), `${message}\n`);
    if (extraBytes)
      fs.writeFileSync(
        path.join(root, 'data.bin'),
        createHash('sha512')
          .update(message)
          .digest()
          .toString('hex')
          .repeat(Math.ceil(extraBytes / 128))
          .slice(0, extraBytes),
      );
  });
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh', '-c', 'cat /hello.txt'] }, rootfs: { type: 'layers', diff_ids: layers } });
  const cd = sha256(config);
  fs.writeFileSync(path.join(img, `${cd}.json`), config);
  fs.writeFileSync(path.join(img, 'manifest.json'), JSON.stringify([{ Config: `${cd}.json`, RepoTags: [name], Layers: layers.map((l) => `${l.slice(7)}.tar`) }]));
  const file = path.join(dir, `${name.replace(/[^a-z0-9]+/g, '-')}.docker.tar`);
  sh('tar', [...TAR, '-C', img, '-cf', file, '.']);
  fs.rmSync(work, { recursive: true, force: true });
  return { file, name, configDigest: `sha256:${cd}`, layers, message };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Served {
  /** host:port */
  readonly addr: string;
  readonly url: string;
  readonly proc: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts `stowage serve` on a free port of 127.0.0.1 (extra args appended); resolves once it
 * listens. `opts.as` runs it through a command (e.g. setpriv as another user), `opts.env` adds
 * to the sandbox's environment.
 */
export async function startServe(sb: Sandbox, args: readonly string[] = [], opts: { as?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Served> {
  const argv = [...(opts.as ?? []), process.execPath, BIN, 'serve', '--listen', '127.0.0.1:0', ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { env: { ...sb.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`stowage serve did not start: ${err}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(https?:\/\/[^\s]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`stowage serve exited ${code}: ${err}`));
    });
  });
  return {
    url,
    addr: url.replace(/^https?:\/\//, ''),
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

export interface Registry {
  readonly addr: string;
  stop(): Promise<void>;
}

/** A real CNCF distribution registry (`docker-registry serve`) on a free loopback port. */
export async function startDockerRegistry(dir: string, extraYaml = ''): Promise<Registry> {
  const port = await freePort();
  const root = fs.mkdtempSync(path.join(dir, 'registry-'));
  const cfg = path.join(root, 'config.yml');
  fs.writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${extraYaml}`,
  );
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const addr = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://${addr}/v2/`);
      if (r.status === 200 || r.status === 401) break;
    } catch {
      /* not up yet */
    }
    if (i > 100 || proc.exitCode !== null) {
      proc.kill();
      throw new Error(`docker-registry did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    addr,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** podman with the flags that run containers on this machine, its storage under `dir`. */
export function podman(dir: string): (args: readonly string[]) => string {
  const base = [
    '--root',
    path.join(dir, 'podman-root'),
    '--runroot',
    path.join(dir, 'podman-run'),
    '--runtime',
    'runc',
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  return (args) => sh('podman', [...base, ...args]);
}

/** Removes podman's storage (vfs layers are plain directories, some read-only). */
export function cleanupPodman(dir: string): void {
  spawnSync('podman', ['--root', path.join(dir, 'podman-root'), '--runroot', path.join(dir, 'podman-run'), '--storage-driver', 'vfs', 'system', 'reset', '--force'], { stdio: 'ignore' });
}

/** The OCI layout's (one) manifest: digest and parsed document. */
export function layoutManifest(dir: string): { digest: string; manifest: { config: { digest: string }; layers: { digest: string; mediaType: string }[] } } {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const digest = index.manifests[0]!.digest;
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs/sha256', digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
  return { digest, manifest };
}

/** Writes an htpasswd file with one bcrypt user (bcryptjs, the library serve checks them with). */
export function writeHtpasswd(file: string, user: string, password: string): string {
  const bcrypt = createRequire(path.join(ROOT, 'packages/core/package.json'))('bcryptjs') as { hashSync(p: string, r: number): string };
  fs.writeFileSync(file, `${user}:${bcrypt.hashSync(password, 5)}\n`);
  return file;
}

/** A docker-registry requiring the users of an htpasswd file (Basic auth). */
export function startHtpasswdRegistry(dir: string, htpasswd: string): Promise<Registry> {
  return startDockerRegistry(dir, `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}\n`);
}

/**
 * A docker-registry with token authentication (distribution's `auth.token`) and a token
 * service beside it, in its own process: RS256 JWTs signed with a key whose self-signed
 * certificate is the registry's root bundle (x5c header). Anonymous requests get pull
 * access only; `user:password` (Basic) gets what it asks for.
 */
export async function startTokenRegistry(dir: string, user: string, password: string): Promise<Registry & { tokenRequests(): number }> {
  const root = fs.mkdtempSync(path.join(dir, 'token-'));
  const key = path.join(root, 'key.pem');
  const cert = path.join(root, 'cert.pem');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=token-issuer']);
  const tport = await freePort();
  const script = path.join(root, 'token-server.mjs');
  fs.writeFileSync(
    script,
    `import { createServer } from 'node:http';
import { createSign, X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync, appendFileSync } from 'node:fs';
const key = readFileSync(${JSON.stringify(key)}, 'utf8');
const der = new X509Certificate(readFileSync(${JSON.stringify(cert)})).raw.toString('base64');
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const auth = req.headers.authorization ?? '';
  const authed = auth === 'Basic ' + Buffer.from(${JSON.stringify(`${user}:${password}`)}).toString('base64');
  if (auth && !authed) { res.writeHead(401); return res.end('{"details":"wrong credentials"}'); }
  appendFileSync(${JSON.stringify(path.join(root, 'requests.log'))}, (authed ? 'user ' : 'anonymous ') + u.searchParams.getAll('scope').join(' ') + '\\n');
  const access = u.searchParams.getAll('scope').flatMap((s) => {
    const [type, name, actions] = s.split(':');
    const granted = actions.split(',').filter((a) => authed || a === 'pull');
    return [{ type, name, actions: granted }];
  });
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ typ: 'JWT', alg: 'RS256', x5c: [der] });
  const body = b64({ iss: 'stowage-test-issuer', sub: authed ? ${JSON.stringify(user)} : '', aud: u.searchParams.get('service'), exp: now + 600, nbf: now - 60, iat: now, jti: randomBytes(8).toString('hex'), access });
  const sig = createSign('RSA-SHA256').update(head + '.' + body).sign(key).toString('base64url');
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ token: head + '.' + body + '.' + sig, expires_in: 600 }));
}).listen(${tport}, '127.0.0.1');
`,
  );
  const tokenProc = spawn(process.execPath, [script], { stdio: 'ignore' });
  const reg = await startDockerRegistry(
    dir,
    `auth:\n  token:\n    realm: http://127.0.0.1:${tport}/token\n    service: stowage-test-registry\n    issuer: stowage-test-issuer\n    rootcertbundle: ${cert}\n`,
  );
  return {
    addr: reg.addr,
    tokenRequests: () => (fs.existsSync(path.join(root, 'requests.log')) ? fs.readFileSync(path.join(root, 'requests.log'), 'utf8').trim().split('\n').length : 0),
    stop: async () => {
      await reg.stop();
      await new Promise<void>((resolve) => {
        if (tokenProc.exitCode !== null) return resolve();
        tokenProc.once('exit', () => resolve());
        tokenProc.kill('SIGTERM');
      });
    },
  };
}
