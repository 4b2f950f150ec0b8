/**
 * Tree snapshots of awkward input through the CLI: a loop of bind mounts, another file
 * system (--one-file-system), permission denied (the snapshot runs as nobody), and bad
 * arguments: each a clear message with a stable code and the right exit (warnings: 3),
 * nothing stored lost. Mounts need root: skipped with a message otherwise (CI runs as root).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, type Sandbox } from './helpers/cli.js';

const ROOT = process.getuid?.() === 0;
if (!ROOT && process.env.CI === 'true') throw new Error('tree input tests need root (mounts, running as nobody)');
if (!ROOT) console.log('skipping tree input tests that need root');
const d = ROOT ? describe : describe.skip;

function sh(cmd: string): void {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

d('tree snapshots of awkward input', () => {
  let sb: Sandbox;
  let src: string;
  const mounts: string[] = [];
  beforeAll(() => {
    sb = sandbox();
    src = sb.file('src');
    fs.mkdirSync(path.join(src, 'data/loop'), { recursive: true });
    fs.mkdirSync(path.join(src, 'mnt'), { recursive: true });
    fs.mkdirSync(path.join(src, 'secret'), { recursive: true });
    fs.writeFileSync(path.join(src, 'data/file'), 'data');
    fs.writeFileSync(path.join(src, 'secret/key'), 'hidden');
    fs.writeFileSync(path.join(src, 'locked'), 'no');
    sh(`mount --bind ${src}/data ${src}/data/loop`);
    mounts.push(`${src}/data/loop`);
    sh(`mount -t tmpfs tmpfs ${src}/mnt && echo other-fs > ${src}/mnt/x`);
    mounts.push(`${src}/mnt`);
    expect(sb.run(['init']).code).toBe(0);
  });
  afterAll(() => {
    for (const m of mounts.reverse()) spawnSync('umount', [m]);
    sb.cleanup();
  });

  it('a loop of bind mounts: warned [LOOP], exit 3, the rest stored', () => {
    const r = sb.run(['snapshot', src, '--json']);
    expect(r.code, r.stderr).toBe(3);
    // with --json a warning is a {"warning":{"message":...}} line on stderr
    expect(r.stderr).toMatch(/"warning":\{"message":".*data\/loop: directory loop \(a bind mount of one of its ancestors\): stored empty, not entered again \[LOOP\]/);
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toBe(1);
    const ls = sb.run(['restore', j.id, sb.file('out1')]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('out1/data/file'), 'utf8')).toBe('data');
    expect(fs.readdirSync(sb.file('out1/data/loop'))).toEqual([]);
    expect(fs.readFileSync(sb.file('out1/mnt/x'), 'utf8')).toBe('other-fs\n');
  });

  it('--one-file-system stores mount points empty', () => {
    const r = sb.run(['snapshot', src, '--one-file-system', '--exclude', '/data/loop']);
    expect(r.code, r.stderr).toBe(0);
    const out = sb.file('out2');
    expect(sb.run(['restore', 'latest', out]).code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'mnt'))).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'data/file'), 'utf8')).toBe('data');
    expect(fs.existsSync(path.join(out, 'data/loop'))).toBe(false);
  });

  it('permission denied on a subdirectory and a file: skipped with warnings naming them, exit 3', () => {
    sh(`chmod 700 ${src}/secret && chmod 600 ${src}/locked && chown -R root:root ${src}/secret ${src}/locked`);
    // the repository and its cache belong to nobody, who runs the snapshot
    const repo = sb.file('nobody-repo');
    const env = { ...sb.env, STOWAGE_REPOSITORY: repo, STOWAGE_CACHE_DIR: sb.file('nobody-cache'), HOME: sb.file('nobody-home') };
    fs.chmodSync(sb.dir, 0o755);
    sh(`chmod o+rx ${src} ${src}/data ${src}/mnt && mkdir -p ${repo} ${sb.file('nobody-cache')} && chown nobody ${repo} ${sb.file('nobody-cache')}`);
    const as = (args: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], { env, encoding: 'utf8' });
    expect(as(['init']).status).toBe(0);
    const r = as(['snapshot', src, '--exclude', '/data/loop', '--json']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/"warning":\{"message":".*\/secret: permission denied: not stored \[UNREADABLE\]/);
    expect(r.stderr).toMatch(/"warning":\{"message":".*\/locked: permission denied: not stored \[UNREADABLE\]/);
    expect(JSON.parse(r.stdout).warnings).toBe(2);
    // restoring where nobody may not write: a clear error
    const denied = as(['restore', 'latest', sb.file('out3')]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/cannot restore to .*out3: permission denied \[TARGET_UNWRITABLE\]/);
    const out = path.join(sb.file('nobody-cache'), 'out3');
    const x = as(['restore', 'latest', out]);
    expect(x.status, x.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'data/file'), 'utf8')).toBe('data');
    expect(fs.existsSync(path.join(out, 'secret'))).toBe(false);
  });

  it('bad arguments: a missing path, a tree where a file is expected and the reverse', () => {
    const missing = sb.run(['snapshot', sb.file('does-not-exist')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*does-not-exist: no such file.*\[INPUT_UNREADABLE\]/);
    fs.writeFileSync(sb.file('plain.txt'), 'plain');
    const file = sb.run(['snapshot', sb.file('plain.txt'), '--json']);
    expect(file.code).toBe(0);
    const fileId = JSON.parse(file.stdout).id;
    // a single-file snapshot has no paths inside
    const sub = sb.run(['restore', `${fileId}:etc`, sb.file('x')]);
    expect(sub.code).toBe(1);
    expect(sub.stderr).toMatch(/is a single file, not a snapshot of directories.*\[INVALID_ARGUMENT\]/);
    // a tree snapshot restores to a directory, not to stdout as bytes
    const tree = sb.run(['snapshot', src, '--exclude', '/data/loop', '--json']);
    const treeId = JSON.parse(tree.stdout).id;
    const dash = sb.run(['restore', treeId, '-', '--format', 'dir']);
    expect(dash.code).toBe(1);
    expect(dash.stderr).toMatch(/restores to a directory, or to stdout with --format tar \[INVALID_ARGUMENT\]/);
    fs.writeFileSync(sb.file('a-file-target'), 'x');
    const onFile = sb.run(['restore', treeId, sb.file('a-file-target')]);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toMatch(/exists and is not a directory \[TARGET_EXISTS\]/);
    expect(fs.readFileSync(sb.file('a-file-target'), 'utf8')).toBe('x');
    const noPath = sb.run(['restore', `${treeId}:data/nothing`, sb.file('y')]);
    expect(noPath.code).toBe(1);
    expect(noPath.stderr).toMatch(/data\/nothing: no such file or directory in snapshot .*\[NOT_FOUND\]/);
    // nothing stored was lost: check is clean
    const c = sb.run(['check']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });
});
