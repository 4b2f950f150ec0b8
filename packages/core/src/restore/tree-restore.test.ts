/**
 * Tree restore details the end-to-end tests (test/tree*.test.ts) do not reach: a file larger
 * than a read window (written across windows by the writer thread) keeps its owner, mode and
 * mtime; whole-second mtimes (set without the helper) are exact on files, directories and
 * symlinks; and a target that passes its group on (setgid) or has a default ACL makes the
 * restore set every owner and mode instead of leaving out the calls a new entry would not need;
 * directories and symlinks, made by the writer thread in walk order, are there for what the walk
 * does on its own thread (a hard link's later name, a FIFO) and keep their metadata; a FIFO
 * or device node waits for its directory without holding up the walk (no window written early);
 * subdirectories' trees load ahead of the walk (a few index lookups for many small directories).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seeded, sharedTestRepo } from '../testing/fixtures.js';
import { snapshotTree } from '../snapshot/tree-snapshot.js';
import { restoreTree } from './tree-restore.js';
import { TreeWriter } from './tree-writer.js';

const ROOT = process.getuid?.() === 0;

describe('tree restore', () => {
  const shared = sharedTestRepo();
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-tree-restore-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a file across windows keeps owner, mode and mtime; whole-second mtimes are exact on files, directories and symlinks', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    const huge = seeded('huge', 20_000_000); // more than a window (8 MiB)
    fs.writeFileSync(path.join(src, 'huge'), huge);
    fs.writeFileSync(path.join(src, 'sub/small'), 'small\n');
    fs.symlinkSync('small', path.join(src, 'sub/link'));
    fs.chmodSync(path.join(src, 'huge'), 0o751);
    if (ROOT) fs.chownSync(path.join(src, 'huge'), 2345, 6789);
    const t = 1_580_608_922; // whole seconds, as in tar archives
    for (const p of ['huge', 'sub/small']) fs.utimesSync(path.join(src, p), t, t);
    fs.lutimesSync(path.join(src, 'sub/link'), t + 1, t + 1);
    fs.utimesSync(path.join(src, 'sub'), t + 2, t + 2);
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const out = path.join(dir, 'out');
    await restoreTree(shared.repo, snap, out);
    expect(fs.readFileSync(path.join(out, 'huge')).equals(huge)).toBe(true);
    for (const p of ['huge', 'sub/small', 'sub/link', 'sub']) {
      const a = fs.lstatSync(path.join(src, p), { bigint: true });
      const b = fs.lstatSync(path.join(out, p), { bigint: true });
      expect([p, b.mode, b.uid, b.gid, b.mtimeNs]).toEqual([p, a.mode, a.uid, a.gid, a.mtimeNs]);
    }
  });

  it('directories and symlinks made by the writer in walk order: a hard link into a later directory, a FIFO in a new one, an empty directory', async () => {
    const src = path.join(dir, 'made-src');
    fs.mkdirSync(path.join(src, 'a'), { recursive: true });
    fs.mkdirSync(path.join(src, 'b/c/d'), { recursive: true });
    fs.mkdirSync(path.join(src, 'b/empty'));
    fs.writeFileSync(path.join(src, 'a/x'), 'linked\n');
    fs.linkSync(path.join(src, 'a/x'), path.join(src, 'b/c/d/y'));
    execFileSync('mkfifo', ['-m', '0640', path.join(src, 'b/c/p')]);
    fs.symlinkSync('../a/x', path.join(src, 'b/l'));
    fs.chmodSync(path.join(src, 'b/c'), 0o750);
    const t = 1_580_608_922;
    for (const p of ['b/c/d', 'b/c', 'b/empty', 'b', 'a']) fs.utimesSync(path.join(src, p), t, t);
    fs.lutimesSync(path.join(src, 'b/l'), t + 5, t + 5);
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const out = path.join(dir, 'made-out');
    const r = await restoreTree(shared.repo, snap, out);
    expect([r.files, r.dirs, r.others]).toEqual([2, 5, 2]);
    expect(fs.statSync(path.join(out, 'a/x')).ino).toBe(fs.statSync(path.join(out, 'b/c/d/y')).ino);
    expect(fs.lstatSync(path.join(out, 'b/c/p')).isFIFO()).toBe(true);
    expect(fs.readlinkSync(path.join(out, 'b/l'))).toBe('../a/x');
    for (const p of ['a', 'b', 'b/c', 'b/c/d', 'b/empty', 'b/c/p', 'b/l']) {
      const a = fs.lstatSync(path.join(src, p), { bigint: true });
      const b = fs.lstatSync(path.join(out, p), { bigint: true });
      expect([p, b.mode, b.mtimeNs]).toEqual([p, a.mode, a.mtimeNs]);
    }
  });

  it('subdirectories load ahead of the walk: a tree of many directories with one subdirectory each takes a few index lookups, not one per directory', async () => {
    const src = path.join(dir, 'ahead-src');
    for (let i = 0; i < 150; i++) {
      fs.mkdirSync(path.join(src, `d${i}/sub`), { recursive: true });
      fs.writeFileSync(path.join(src, `d${i}/sub/f`), `file ${i}\n`);
    }
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const out = path.join(dir, 'ahead-out');
    const lookups = vi.spyOn(shared.repo, 'lookup');
    try {
      const r = await restoreTree(shared.repo, snap, out);
      expect([r.files, r.dirs]).toEqual([150, 300]);
      // the top's 150 subdirectories in 3 batches; their subdirectories loaded ahead as each batch is taken
      // (one lookup each) and the files' window: 156 lookups in all without loading ahead
      expect(lookups.mock.calls.length).toBeLessThan(20);
    } finally {
      lookups.mockRestore();
    }
    for (let i = 0; i < 150; i++) expect(fs.readFileSync(path.join(out, `d${i}/sub/f`), 'utf8')).toBe(`file ${i}\n`);
  });

  it('a FIFO waits for its directory without holding the walk: its directory goes in one window with the files after it', async () => {
    const src = path.join(dir, 'fifo-src');
    fs.mkdirSync(path.join(src, 'a/dev'), { recursive: true });
    execFileSync('mkfifo', ['-m', '0600', path.join(src, 'a/dev/p')]);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `a/f${i}`), `file ${i}\n`);
    const t = 1_580_608_922;
    for (const p of ['a/dev/p', 'a/dev', 'a']) fs.utimesSync(path.join(src, p), t, t);
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const writes = vi.spyOn(TreeWriter.prototype, 'write');
    try {
      const r = await restoreTree(shared.repo, snap, path.join(dir, 'fifo-out'));
      expect([r.files, r.dirs, r.others]).toEqual([5, 2, 1]);
      // the walk went on past the FIFO: one window for all (it used to write its directory's window out first)
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
    }
    const out = path.join(dir, 'fifo-out');
    expect(fs.lstatSync(path.join(out, 'a/dev/p')).isFIFO()).toBe(true);
    for (const p of ['a/dev/p', 'a/dev', 'a']) {
      const a = fs.lstatSync(path.join(src, p), { bigint: true });
      const b = fs.lstatSync(path.join(out, p), { bigint: true });
      expect([p, b.mode, b.mtimeNs]).toEqual([p, a.mode, a.mtimeNs]);
    }
    for (let i = 0; i < 5; i++) expect(fs.readFileSync(path.join(out, `a/f${i}`), 'utf8')).toBe(`file ${i}\n`);
  });

  it.skipIf(!ROOT)('a target that passes its group on (setgid): every entry still gets its own group and mode', async () => {
    const src = path.join(dir, 'sgid-src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd/f'), 'x');
    fs.chmodSync(path.join(src, 'd'), 0o755);
    fs.chmodSync(path.join(src, 'd/f'), 0o644);
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const out = path.join(dir, 'sgid-out');
    fs.mkdirSync(out);
    fs.chownSync(out, 0, 4242);
    fs.chmodSync(out, 0o2775); // new entries would take group 4242, new directories the setgid bit
    await restoreTree(shared.repo, snap, out);
    for (const p of ['d', 'd/f']) {
      const a = fs.lstatSync(path.join(src, p));
      const b = fs.lstatSync(path.join(out, p));
      expect([p, b.mode, b.uid, b.gid]).toEqual([p, a.mode, a.uid, a.gid]);
    }
  });

  it.skipIf(!ROOT || !hasSetfacl())('a target with a default ACL: every entry still gets its own mode', async () => {
    const src = path.join(dir, 'acl-src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'x');
    fs.chmodSync(path.join(src, 'f'), 0o644);
    const snap = (await snapshotTree(shared.repo, [src])).snapshot;
    const out = path.join(dir, 'acl-out');
    fs.mkdirSync(out);
    execFileSync('setfacl', ['-d', '-m', 'u::rwx,g::rwx,o::---', out]); // a new file's mode: the mode asked for without others' bits (not minus the umask)
    await restoreTree(shared.repo, snap, out);
    expect(fs.lstatSync(path.join(out, 'f')).mode & 0o7777).toBe(0o644);
  });
});

function hasSetfacl(): boolean {
  try {
    execFileSync('setfacl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
