/**
 * Write paths on a full or read-only file system (issue 14, item 5): every one ends in a
 * stable code, never "this is a bug", and nothing stored is lost.
 * - tree restore (files, directories, links, metadata) into a full tmpfs: NO_SPACE naming the
 *   path; onto a read-only mount: TARGET_UNWRITABLE;
 * - a file restore, and an OCI layout restore (`restore <id> oci:<dir>`), the same;
 * - a snapshot (file and tree) into a local repository on a full tmpfs: NO_SPACE; the
 *   snapshot taken before still restores, `check --read-data` is clean (reading without a
 *   lock, with a note, as the lock cannot be written either), no temp file is left;
 * - the cache directory full (NO_SPACE) or read-only (CACHE_UNWRITABLE, naming --cache-dir).
 * Needs root (mount); skipped otherwise with a line, and fails under CI=true without it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type RunResult, type Sandbox } from './helpers/cli.js';
import { smallDockerArchive } from './helpers/registry.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('write-errors.test.ts needs root (tmpfs and read-only mounts) under CI=true');
if (!isRoot) console.log('skipping write-errors.test.ts: needs root to mount a small tmpfs and read-only mounts');

/** A failure with `code`, one line on stderr, no "this is a bug". */
function failsWith(r: RunResult, code: string, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).not.toBe(0);
  expect(r.stderr, what).toMatch(new RegExp(`\\[${code}\\]\\n$`));
  expect(r.stderr, what).not.toMatch(/this is a bug/);
}

describe.skipIf(!isRoot)('write errors on full and read-only file systems', () => {
  let sb: Sandbox;
  const mounts: string[] = [];
  let fileId: string;
  let treeId: string;
  let imageId: string;
  /** A tmpfs of `size` at a new folder (read-only with `ro`). */
  const tmpfs = (name: string, size: string, ro = false): string => {
    const dir = sb.file(name);
    fs.mkdirSync(dir);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${ro ? ',ro' : ''}`, 'tmpfs', dir]);
    expect(m.status, m.stderr?.toString()).toBe(0);
    mounts.push(dir);
    return dir;
  };
  /** Fills the tmpfs at `dir` up to the last byte. */
  const fill = (dir: string): void => {
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${dir}/.filler bs=64k 2>/dev/null; dd if=/dev/zero of=${dir}/.filler2 bs=1 2>/dev/null; true`]);
  };
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    fs.writeFileSync(sb.file('in'), seededBytes('write-errors', 2 << 20));
    fileId = JSON.parse(sb.run(['snapshot', sb.file('in'), '--json']).stdout).id;
    const src = sb.file('tree');
    fs.mkdirSync(`${src}/sub/deeper`, { recursive: true });
    for (let i = 0; i < 8; i++) fs.writeFileSync(`${src}/sub/f${i}`, seededBytes(`t${i}`, 256 << 10));
    fs.writeFileSync(`${src}/sub/deeper/small`, 'small');
    fs.symlinkSync('sub/f0', `${src}/link`);
    fs.linkSync(`${src}/sub/f1`, `${src}/hard`);
    const t = sb.run(['snapshot', src, '--json']);
    expect(t.code, t.stderr).toBe(0);
    treeId = JSON.parse(t.stdout).id;
    // a small docker-archive (one 1 MiB layer) for the OCI layout restore
    smallDockerArchive(sb.file('image.tar'), 'small/app:1', [{ name: 'data.bin', data: seededBytes('layer', 1 << 20) }]);
    const im = sb.run(['snapshot', sb.file('image.tar'), '--json']);
    expect(im.code, im.stderr).toBe(0);
    imageId = JSON.parse(im.stdout).id;
  });
  afterAll(() => {
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    sb?.cleanup();
  });

  it('restores into a full tmpfs: NO_SPACE naming the path (tree, file, OCI layout)', () => {
    const full = tmpfs('full', '1m');
    const tree = sb.run(['restore', treeId, `${full}/tree`]);
    failsWith(tree, 'NO_SPACE', 'tree restore');
    expect(tree.stderr).toMatch(new RegExp(`cannot restore to ${full}/tree.*: no space left on the device`));
    fs.rmSync(`${full}/tree`, { recursive: true, force: true });
    const file = sb.run(['restore', fileId, `${full}/file`]);
    failsWith(file, 'NO_SPACE', 'file restore');
    expect(fs.readdirSync(full)).toEqual([]); // the temp file is removed
    const oci = sb.run(['restore', imageId, `oci:${full}/layout:t`]);
    failsWith(oci, 'NO_SPACE', 'OCI layout restore');
    expect(oci.stderr).toMatch(/cannot write the OCI layout .*layout: no space left on the device/);
    // small parts fit until the disk is full: a full disk fails at directories and links too
    fs.rmSync(`${full}/layout`, { recursive: true, force: true });
    fill(full);
    const tree2 = sb.run(['restore', treeId, `${full}/tree2`]);
    failsWith(tree2, 'NO_SPACE', 'tree restore into a disk already full');
    for (const args of [
      ['--json', 'restore', treeId, `${full}/tree3`],
      ['--json', 'restore', `${treeId}:sub/deeper`, `${full}/tree4`],
    ]) {
      const r = sb.run(args);
      expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error.code, args.join(' ')).toBe('NO_SPACE');
    }
  });

  it('restores onto a read-only mount: TARGET_UNWRITABLE', () => {
    const ro = tmpfs('ro', '1m', true);
    const tree = sb.run(['restore', treeId, `${ro}/tree`]);
    failsWith(tree, 'TARGET_UNWRITABLE', 'tree restore');
    expect(tree.stderr).toMatch(/read-only file system/);
    failsWith(sb.run(['restore', fileId, `${ro}/file`]), 'TARGET_UNWRITABLE', 'file restore');
    const oci = sb.run(['restore', imageId, `oci:${ro}/layout:t`]);
    failsWith(oci, 'TARGET_UNWRITABLE', 'OCI layout restore');
    expect(oci.stderr).toMatch(/read-only file system/);
  });

  it('a snapshot into a repository on a full file system: NO_SPACE, nothing stored before is lost', () => {
    const disk = tmpfs('repo-disk', '3m');
    const repo = path.join(disk, 'repo');
    const env = { STOWAGE_REPOSITORY: repo };
    expect(sb.run(['init', '--insecure-no-encryption'], { env }).code).toBe(0);
    fs.writeFileSync(sb.file('small'), seededBytes('small', 256 << 10));
    const first = sb.run(['snapshot', sb.file('small'), '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    fs.writeFileSync(sb.file('big'), seededBytes('big', 8 << 20));
    failsWith(sb.run(['snapshot', sb.file('big')], { env }), 'NO_SPACE', 'file snapshot');
    fill(disk);
    failsWith(sb.run(['snapshot', sb.file('small'), '--force', '--name', 'again'], { env }), 'NO_SPACE', 'snapshot on a disk already full');
    failsWith(sb.run(['snapshot', sb.file('tree')], { env }), 'NO_SPACE', 'tree snapshot on a disk already full');
    // nothing half-written stays, and what was stored before is intact (read without a lock: the disk is full)
    expect(listFiles(repo).filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    const list = JSON.parse(sb.run(['snapshots', '--json'], { env }).stdout) as unknown[];
    expect(list).toHaveLength(1);
    const check = sb.run(['check', '--read-data'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/note: the repository's file system is full .*reading without a lock/);
    const out = sb.run(['restore', 'latest', sb.file('small-out')], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('small-out')).equals(fs.readFileSync(sb.file('small')))).toBe(true);
  });

  it('the cache directory full or read-only: NO_SPACE or CACHE_UNWRITABLE, naming --cache-dir', () => {
    const full = tmpfs('cache-full', '64k');
    fill(full);
    const a = sb.run(['restore', fileId, sb.file('c1')], { env: { STOWAGE_CACHE_DIR: full } });
    failsWith(a, 'NO_SPACE', 'full cache');
    expect(a.stderr).toMatch(/--cache-dir/);
    const ro = tmpfs('cache-ro', '1m', true);
    const b = sb.run(['restore', fileId, sb.file('c2')], { env: { STOWAGE_CACHE_DIR: ro } });
    failsWith(b, 'CACHE_UNWRITABLE', 'read-only cache');
    expect(b.stderr).toMatch(/read-only file system .*--cache-dir/);
    expect(fs.existsSync(sb.file('c1')) || fs.existsSync(sb.file('c2'))).toBe(false);
  });
});
