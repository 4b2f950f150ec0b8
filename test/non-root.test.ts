/**
 * A repository the user may read but not write (issue 14, item 9): owned by root, its files
 * and folders not writable by `nobody`, who runs the CLI (setpriv). Every reading command
 * works, reading without a lock with a note (the lock cannot be written): snapshots, ls
 * (file, archive --files, tree), restore (file and tree), check (--read-data too), find,
 * diff, dump and serve. Writers (snapshot, forget, gc) fail with a clear code and change
 * nothing in the repository. The cache belongs to nobody (STOWAGE_CACHE_DIR).
 * Needs root and setpriv: skipped with a line otherwise, and fails under CI=true.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, listFiles, sandbox, seededBytes, assertNoInternalError, type Sandbox } from './helpers/cli.js';
import { smallDockerArchive, startServe } from './helpers/registry.js';

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;
const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
if ((!isRoot || !hasSetpriv) && process.env.CI === 'true') throw new Error('non-root.test.ts needs root and setpriv (util-linux) under CI=true');
if (!isRoot || !hasSetpriv) console.log(`skipping non-root.test.ts: ${!isRoot ? 'needs root to run the CLI as nobody' : 'setpriv (util-linux) is missing'}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!isRoot || !hasSetpriv)('a repository nobody may read but not write, used by nobody', () => {
  let sb: Sandbox;
  let env: NodeJS.ProcessEnv;
  let fileId: string;
  let tarId: string;
  let treeA: string;
  let treeB: string;
  let before: string;
  /** Runs the CLI as nobody. */
  const as = (args: readonly string[]): Run => {
    const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, BIN, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
    assertNoInternalError(args, r.stderr);
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  /** Every repository file with its size, mode and mtime: what "changed nothing" compares. */
  const state = (): string =>
    listFiles(sb.repo)
      .map((f) => {
        const st = fs.statSync(f);
        return `${path.relative(sb.repo, f)} ${st.size} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs}`;
      })
      .join('\n');

  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0); // encrypted; root's repository
    fs.writeFileSync(sb.file('in'), seededBytes('non-root', 1 << 20));
    fileId = JSON.parse(sb.run(['snapshot', sb.file('in'), '--json']).stdout).id;
    const tarSrc = sb.file('tar-src');
    fs.mkdirSync(tarSrc);
    fs.writeFileSync(`${tarSrc}/member.txt`, 'member');
    expect(spawnSync('tar', ['-cf', sb.file('a.tar'), '-C', tarSrc, '.']).status).toBe(0);
    tarId = JSON.parse(sb.run(['snapshot', sb.file('a.tar'), '--json']).stdout).id;
    const src = sb.file('tree');
    fs.mkdirSync(`${src}/etc`, { recursive: true });
    fs.writeFileSync(`${src}/etc/hosts`, '127.0.0.1 localhost\n');
    fs.writeFileSync(`${src}/data`, seededBytes('tree', 300 << 10));
    treeA = JSON.parse(sb.run(['snapshot', src, '--json']).stdout).id;
    fs.writeFileSync(`${src}/etc/added`, 'added');
    treeB = JSON.parse(sb.run(['snapshot', src, '--json']).stdout).id;
    // keys are 0600 in a 0700 folder: a repository shared for reading gives them to its readers
    // (as restic's group-readable repositories do); nothing in it is writable by nobody
    expect(spawnSync('sh', ['-c', `chmod -R o+rX '${sb.repo}' && chmod -R go-w '${sb.repo}'`]).status).toBe(0);
    fs.chmodSync(sb.dir, 0o755);
    const cache = sb.file('nobody-cache');
    const home = sb.file('nobody-home');
    const out = sb.file('nobody-out');
    for (const d of [cache, home, out]) {
      fs.mkdirSync(d);
      fs.chownSync(d, 65534, 65534);
    }
    env = { ...sb.env, STOWAGE_CACHE_DIR: cache, XDG_CACHE_HOME: cache, HOME: home };
    before = state();
  });
  afterAll(() => sb?.cleanup());

  it('reading commands work without a lock, with a note', () => {
    const note = /note: the repository is read-only \(.*permission denied.*\): reading without a lock/;
    const out = sb.file('nobody-out');
    const cases: [string[], ((r: Run) => void)?][] = [
      [['snapshots'], (r) => expect(r.stdout).toContain(fileId.slice(0, 8))],
      [['ls', fileId]],
      [['ls', '--files', tarId], (r) => expect(r.stdout).toContain('member.txt')],
      [['ls', treeB, 'etc'], (r) => expect(r.stdout).toMatch(/etc\/added/)],
      [['restore', fileId, `${out}/file`], () => expect(fs.readFileSync(`${out}/file`).equals(fs.readFileSync(sb.file('in')))).toBe(true)],
      [['restore', treeB, `${out}/tree`], () => expect(fs.readFileSync(`${out}/tree/etc/hosts`, 'utf8')).toBe('127.0.0.1 localhost\n')],
      [['check'], (r) => expect(r.stdout).toMatch(/no errors found/)],
      [['check', '--read-data'], (r) => expect(r.stdout).toMatch(/no errors found/)],
      [['find', 'hosts'], (r) => expect(r.stdout).toMatch(/etc\/hosts/)],
      [['diff', treeA, treeB], (r) => expect(r.stdout).toMatch(/\+ +\/?etc\/added/)],
      [['dump', treeB, 'etc/hosts'], (r) => expect(r.stdout).toBe('127.0.0.1 localhost\n')],
    ];
    for (const [args, more] of cases) {
      const r = as(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      if (args[0] !== 'snapshots') expect(r.stderr, args.join(' ')).toMatch(note);
      more?.(r);
    }
    // --no-lock: the same, without the note
    const n = as(['--no-lock', 'ls', treeB]);
    expect(n.code, n.stderr).toBe(0);
    expect(n.stderr).not.toMatch(note);
    expect(state()).toBe(before);
  });

  it('serve works for nobody', async () => {
    smallDockerArchive(sb.file('image.tar'), 'team/hello:v1', [{ name: 'hello.txt', data: Buffer.from('hello') }]);
    // root adds it (the repository stays unwritable for nobody)
    expect(sb.run(['snapshot', sb.file('image.tar')]).code).toBe(0);
    expect(spawnSync('sh', ['-c', `chmod -R o+rX '${sb.repo}' && chmod -R go-w '${sb.repo}'`]).status).toBe(0);
    const after = state();
    const served = await startServe(sb, [], { as: AS_NOBODY, env });
    try {
      const cat = await fetch(`${served.url}/v2/_catalog`);
      expect(cat.status).toBe(200);
      expect(((await cat.json()) as { repositories: string[] }).repositories).toContain('team/hello');
      const man = await fetch(`${served.url}/v2/team/hello/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
      expect(man.status).toBe(200);
    } finally {
      expect(await served.stop()).not.toBeNull();
    }
    expect(served.stderr()).not.toMatch(/this is a bug/);
    expect(state()).toBe(after);
    before = after;
  });

  it('writers (snapshot, forget, gc) fail with a clear code and change nothing', () => {
    fs.writeFileSync(sb.file('new'), seededBytes('new', 200 << 10));
    fs.chmodSync(sb.file('new'), 0o644);
    for (const args of [['snapshot', sb.file('new')], ['snapshot', sb.file('tree')], ['forget', fileId], ['forget', '--keep-last', '1'], ['gc'], ['forget', '--keep-last', '1', '--prune']]) {
      const r = as(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/permission denied \[BACKEND\]\n$/);
    }
    expect(state()).toBe(before);
  });
});
