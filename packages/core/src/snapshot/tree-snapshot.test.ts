/**
 * Tree snapshots through the core API: the parent rule (unchanged files not read, an
 * unchanged tree costs nothing new), files changing while read, excludes, bad input.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isStowageError } from '../errors.js';
import { restoreTree } from '../restore/tree-restore.js';
import { seeded, sharedTestRepo, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { MemoryBackend } from '../backend/memory.js';
import type { FileInfo, FileType, Handle, OpOptions, SaveOptions } from '../backend/backend.js';
import { lookupPath, walkEntries, treeTop } from '../tree/stored.js';
import { snapshotTree } from './tree-snapshot.js';
import { loadSnapshot, peekSnapshots } from './find.js';
import { expectCode } from '../testing/expect-code.js';

function tree(root: string, files: Record<string, string | Buffer>): void {
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), c);
  }
}

async function paths(repo: Parameters<typeof treeTop>[0], snap: Parameters<typeof treeTop>[1]): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walkEntries(repo, (await treeTop(repo, snap)).entries)) out.push(e.path.toString() + (e.node.type === 'dir' ? '/' : ''));
  return out;
}

describe('tree snapshots', () => {
  const shared = sharedTestRepo();
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-tree-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the parent: unchanged files are not read, an unchanged tree adds nothing; a changed file is read; --force reads all', async () => {
    const src = path.join(dir, 'parent');
    const files: Record<string, string | Buffer> = { 'big.bin': seeded('big', 300_000) };
    for (let i = 0; i < 50; i++) files[`d${i % 5}/f${i}`] = `file ${i}\n`.repeat(i + 1);
    tree(src, files);
    const repo = shared.repo;
    const a = await snapshotTree(repo, [src], { workers: 0 });
    expect(a.filesRead).toBe(51);
    expect(a.snapshot.parent).toBeUndefined();
    const b = await snapshotTree(repo, [src], { workers: 0 });
    expect(b.snapshot.parent).toBe(a.snapshot.id);
    expect(b.filesRead).toBe(0);
    expect(b.filesReused).toBe(51);
    expect(b.snapshot.summary.bytesRead).toBe(0);
    expect(b.snapshot.summary.bytesNew).toBe(0); // same tree blobs, same chunk lists
    expect(b.snapshot.tree!.root).toEqual(a.snapshot.tree!.root);
    // one file changes: only it is read; the other directories keep their tree blobs
    fs.writeFileSync(path.join(src, 'd3/f8'), 'changed\n');
    const c = await snapshotTree(repo, [src], { workers: 0 });
    expect(c.filesRead).toBe(1);
    expect(c.filesReused).toBe(50);
    const d0a = (await lookupPath(repo, a.snapshot, 'd0')).node!.tree;
    const d0c = (await lookupPath(repo, c.snapshot, 'd0')).node!.tree;
    expect(d0c).toEqual(d0a);
    expect((await lookupPath(repo, c.snapshot, 'd3')).node!.tree).not.toEqual((await lookupPath(repo, a.snapshot, 'd3')).node!.tree);
    const f = await snapshotTree(repo, [src], { workers: 0, force: true });
    expect(f.filesRead).toBe(51);
    expect(f.snapshot.parent).toBeUndefined();
    // an explicit parent; a parent that is not a tree snapshot is refused
    const e = await snapshotTree(repo, [src], { workers: 0, parent: a.snapshot.id });
    expect(e.snapshot.parent).toBe(a.snapshot.id);
    expect(e.filesRead).toBe(1);
    const raw = await snapshotBytes(repo, Buffer.from('not a tree'), 'raw');
    await expectCode(snapshotTree(repo, [src], { parent: raw.id }), 'INVALID_ARGUMENT', /is not a snapshot of directories/);
    // restore of the last one is the tree as it is now
    const out = path.join(dir, 'parent-out');
    await restoreTree(repo, e.snapshot, out);
    expect(fs.readFileSync(path.join(out, 'd3/f8'), 'utf8')).toBe('changed\n');
    expect(fs.readFileSync(path.join(out, 'big.bin')).equals(files['big.bin'] as Buffer)).toBe(true);
  });

  it("an unchanged tree: the chunk lists are the parent's (walk order, whatever the timing), nothing is stored, no codec worker starts", async () => {
    const src = path.join(dir, 'repeat');
    const files: Record<string, string | Buffer> = { 'big.bin': seeded('repeat-big', 2_500_000), 'mid.bin': seeded('repeat-mid', 200_000) };
    for (let i = 0; i < 600; i++) files[`d${i % 7}/s${i % 3}/f${i}`] = seeded(`f${i}`, 50 + ((i * 97) % 3000));
    tree(src, files);
    fs.linkSync(path.join(src, 'd0/s0/f0'), path.join(src, 'd1/link'));
    const cacheRoot = tempCacheRoot();
    try {
      const { backend, repo } = await testRepo(cacheRoot);
      const a = await snapshotTree(repo, [src], { workers: 2 });
      await repo.close();
      for (const force of [false, true]) {
        // a fresh process's view: a repository opened anew, its codec pool unstarted
        const again = await Repository.open(backend, { cacheRoot });
        try {
          const b = await snapshotTree(again, [src], { workers: 2, force });
          expect(b.filesRead).toBe(force ? 602 : 0);
          expect(b.snapshot.content.lists).toEqual(a.snapshot.content.lists);
          expect(b.snapshot.content.chunks).toBe(a.snapshot.content.chunks);
          expect(b.snapshot.tree!.root).toEqual(a.snapshot.tree!.root);
          expect(b.snapshot.summary.bytesStored).toBe(0);
          if (!force) expect(again.codecs(2).size).toBe(0);
        } finally {
          await again.close();
        }
      }
    } finally {
      fs.rmSync(cacheRoot, { recursive: true, force: true });
    }
  });

  it('the parent is found while the lock file is written, and dropped when it is gone once the lock is held (forget and gc in between)', async () => {
    const src = path.join(dir, 'early-parent');
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`d${i % 4}/f${i}`] = `early ${i}\n`.repeat(i + 1);
    tree(src, files);
    // what happens, in order: the snapshots listed, the lock file saved (a save that waits a
    // moment, as an fsync or a PUT does); with `forget`, the listed parent is removed meanwhile
    const events: string[] = [];
    let forget: string | undefined;
    class Watched extends MemoryBackend {
      override async *list(type: FileType, opts?: OpOptions): AsyncIterable<FileInfo> {
        if (type === 'snapshot') events.push('snapshots listed');
        yield* super.list(type, opts);
      }
      override async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
        if (h.type !== 'lock') return super.save(h, data, opts);
        await new Promise((r) => setTimeout(r, 30));
        if (forget !== undefined) await super.remove({ type: 'snapshot', name: forget });
        await super.save(h, data, opts);
        events.push('lock saved');
      }
    }
    const cacheRoot = tempCacheRoot();
    try {
      const { repo } = await testRepo(cacheRoot, { backend: new Watched() });
      try {
        const a = await snapshotTree(repo, [src], { workers: 0 });
        events.length = 0;
        const b = await snapshotTree(repo, [src], { workers: 0 });
        expect(events.slice(0, 2)).toEqual(['snapshots listed', 'lock saved']); // read beside the lock, not after it
        expect(b.snapshot.parent).toBe(a.snapshot.id);
        expect(b.filesRead).toBe(0);
        // the parent found early is gone once the lock is held: not used (its blobs may be gone
        // too); found again under the lock, where b is the latest
        forget = b.snapshot.id;
        events.length = 0;
        const c = await snapshotTree(repo, [src], { workers: 0 });
        expect(events.slice(0, 2)).toEqual(['snapshots listed', 'lock saved']);
        expect(c.snapshot.parent).toBe(a.snapshot.id);
        expect(c.filesRead).toBe(0);
        // no parent left at all: everything read
        forget = a.snapshot.id;
        await repo.backend.remove({ type: 'snapshot', name: c.snapshot.id });
        const d = await snapshotTree(repo, [src], { workers: 0 });
        expect(d.snapshot.parent).toBeUndefined();
        expect(d.filesRead).toBe(40);
        forget = undefined;
        const out = path.join(dir, 'early-parent-out');
        await restoreTree(repo, d.snapshot, out);
        expect(fs.readFileSync(path.join(out, 'd3/f7'), 'utf8')).toBe(files['d3/f7']);
        // the snapshots read while the repository opened (the CLI's readSnapshotsEarly): the
        // parent is looked for in them, and dropped the same way when it is gone
        const e = await snapshotTree(repo, [src], { workers: 0 });
        const again = await Repository.open(repo.backend, { cacheRoot, readSnapshotsEarly: true });
        try {
          expect((await peekSnapshots(again))?.map((x) => x.id)).toContain(e.snapshot.id);
          forget = e.snapshot.id;
          const f = await snapshotTree(again, [src], { workers: 0 });
          expect(f.snapshot.parent).toBe(d.snapshot.id);
          expect(f.filesRead).toBe(0);
        } finally {
          forget = undefined;
          await again.close();
        }
      } finally {
        await repo.close();
      }
    } finally {
      fs.rmSync(cacheRoot, { recursive: true, force: true });
    }
  });

  it('commits as file snapshots do: the snapshot file after the index file, beside its absorption into the index cache; a lock lost by then commits nothing', async () => {
    const src = path.join(dir, 'commit-order');
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`d${i % 3}/f${i}`] = `commit ${i}\n`.repeat(i + 5);
    tree(src, files);
    const events: string[] = [];
    let dropLock = false;
    class Watched extends MemoryBackend {
      override async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
        if (h.type === 'pack' && dropLock) for await (const l of super.list('lock')) await super.remove({ type: 'lock', name: l.name });
        await super.save(h, data, opts);
        if (h.type === 'index' || h.type === 'snapshot') events.push(`${h.type} saved`);
      }
    }
    const cacheRoot = tempCacheRoot();
    try {
      const { repo } = await testRepo(cacheRoot, { backend: new Watched() });
      try {
        // the absorption takes a while (as LevelDB's writes of a large index file do): the snapshot file is saved meanwhile
        const idx = await repo.index();
        const absorb = idx.absorb.bind(idx);
        vi.spyOn(idx, 'absorb').mockImplementation(async (...args: Parameters<typeof absorb>) => {
          events.push('absorb started');
          await new Promise((r) => setTimeout(r, 40));
          await absorb(...args);
          events.push('absorb done');
        });
        const a = await snapshotTree(repo, [src], { workers: 0 });
        expect(events).toEqual(['index saved', 'absorb started', 'snapshot saved', 'absorb done']);
        expect((await loadSnapshot(repo, a.snapshot.id)).tree!.root).toEqual(a.snapshot.tree!.root);
        // the lock's file removed while the pack is saved (before the index file and the check beside it): LOCKED, no snapshot file
        fs.writeFileSync(path.join(src, 'd0/new'), 'new file');
        dropLock = true;
        events.length = 0;
        await expectCode(snapshotTree(repo, [src], { workers: 0 }), 'LOCKED');
        expect(events).not.toContain('snapshot saved');
        dropLock = false;
        const snaps: string[] = [];
        for await (const f of repo.backend.list('snapshot')) snaps.push(f.name);
        expect(snaps).toEqual([a.snapshot.id]);
      } finally {
        await repo.close();
      }
    } finally {
      fs.rmSync(cacheRoot, { recursive: true, force: true });
    }
  });

  it('the parent: unchanged entries keep their xattrs and symlink targets without reading them; changed ones are read again', async () => {
    const src = path.join(dir, 'parent-meta');
    tree(src, { 'a.txt': 'a', 'b.txt': 'b', 'sub/c.txt': 'c' });
    fs.symlinkSync('a.txt', path.join(src, 'link'));
    fs.symlinkSync('b.txt', path.join(src, 'link2'));
    const { setAttributeSync } = await import('@napi-rs/xattr');
    try {
      setAttributeSync(path.join(src, 'a.txt'), 'user.k', 'one');
      setAttributeSync(path.join(src, 'b.txt'), 'user.k', 'two');
    } catch {
      console.log('skipped: this file system has no user xattrs');
      return;
    }
    const repo = shared.repo;
    const a = await snapshotTree(repo, [src], { workers: 0 });
    setAttributeSync(path.join(src, 'b.txt'), 'user.k', 'three'); // same content, new ctime
    fs.unlinkSync(path.join(src, 'link2'));
    fs.symlinkSync('sub/c.txt', path.join(src, 'link2'));
    const b = await snapshotTree(repo, [src], { workers: 0 });
    expect(b.snapshot.parent).toBe(a.snapshot.id);
    const node = async (p: string) => (await lookupPath(repo, b.snapshot, p)).node!;
    const value = (n: Awaited<ReturnType<typeof node>>) => Buffer.from(n.xattrs!.find(([k]) => k === 'user.k')![1], 'base64').toString();
    expect(value(await node('a.txt'))).toBe('one');
    expect(value(await node('b.txt'))).toBe('three');
    expect((await node('link')).target).toBe('a.txt');
    expect((await node('link2')).target).toBe('sub/c.txt');
  });

  it('the parent: metadata changed in place is stored anew (mode, mtime), the rest is the parent nodes; a directory keeps its tree blob when only its own mode changed', async () => {
    const src = path.join(dir, 'parent-nodes');
    tree(src, { 'a/x.txt': 'x', 'a/y.txt': 'y', 'b/z.txt': 'z', 'b/w.txt': 'w', 'top.txt': 't' });
    fs.symlinkSync('top.txt', path.join(src, 'link'));
    const repo = shared.repo;
    const first = await snapshotTree(repo, [src], { workers: 0 });
    const again = await snapshotTree(repo, [src], { workers: 0 });
    expect(again.snapshot.tree!.root).toEqual(first.snapshot.tree!.root);
    fs.chmodSync(path.join(src, 'a'), 0o750); // the directory's own metadata only
    fs.chmodSync(path.join(src, 'b/z.txt'), 0o600); // a file's mode: its ctime moves
    const t = new Date('2020-01-02T03:04:05.678Z');
    fs.utimesSync(path.join(src, 'top.txt'), t, t); // a file's mtime: read again
    const next = await snapshotTree(repo, [src], { workers: 0 });
    expect(next.snapshot.parent).toBe(again.snapshot.id);
    const node = async (s: typeof next.snapshot, p: string) => (await lookupPath(repo, s, p)).node!;
    expect((await node(next.snapshot, 'a')).mode).toBe(0o750);
    expect((await node(next.snapshot, 'a')).tree).toEqual((await node(first.snapshot, 'a')).tree);
    expect((await node(next.snapshot, 'b/z.txt')).mode).toBe(0o600);
    expect((await node(next.snapshot, 'b')).tree).not.toEqual((await node(first.snapshot, 'b')).tree);
    expect((await node(next.snapshot, 'top.txt')).mtime).toBe(fs.lstatSync(path.join(src, 'top.txt'), { bigint: true }).mtimeNs.toString());
    expect(next.filesRead).toBe(2); // z.txt (its ctime moved) and top.txt; x, y, w are the parent's
    expect(next.filesReused).toBe(3);
    expect((await node(next.snapshot, 'link')).target).toBe('top.txt');
    const out = path.join(dir, 'parent-nodes-out');
    await restoreTree(repo, next.snapshot, out);
    expect(fs.statSync(path.join(out, 'a')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(path.join(out, 'b/z.txt')).mode & 0o7777).toBe(0o600);
    expect(fs.readFileSync(path.join(out, 'b/z.txt'), 'utf8')).toBe('z');
  });

  it('a file truncated or deleted while it is read is stored as read, with a warning', async () => {
    const src = path.join(dir, 'changing');
    tree(src, { 'a-shrinks': seeded('s', 12 << 20), 'b-goes': seeded('g', 9 << 20), 'c-stays': 'ok' });
    let events = 0;
    const r = await snapshotTree(shared.repo, [src], {
      workers: 0,
      force: true,
      progress: () => {
        events++;
        if (events === 1) fs.truncateSync(path.join(src, 'a-shrinks'), 5 << 20);
        if (events === 4) fs.unlinkSync(path.join(src, 'b-goes'));
      },
    });
    expect(r.warnings.map((w) => [w.code, path.basename(w.path)])).toEqual([
      ['CHANGED_WHILE_READ', 'a-shrinks'],
      ['CHANGED_WHILE_READ', 'b-goes'],
    ]);
    expect(r.warnings[0]!.message).toMatch(/truncated while it was read \(\d+ of 12582912 bytes\): stored as read/);
    expect(r.warnings[1]!.message).toMatch(/deleted while it was read: stored as read/);
    const out = path.join(dir, 'changing-out');
    await restoreTree(shared.repo, r.snapshot, out);
    expect(fs.readFileSync(path.join(out, 'a-shrinks')).equals(seeded('s', 12 << 20).subarray(0, 5 << 20))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'b-goes')).equals(seeded('g', 9 << 20))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'c-stays'), 'utf8')).toBe('ok');
  });

  it("tree blobs: each entry's fields in one order (the blob's JSON, so an unchanged tree gives the same blobs from any build)", async () => {
    const src = path.join(dir, 'order');
    tree(src, { 'sub/file': 'some bytes\n', empty: '' });
    fs.linkSync(path.join(src, 'empty'), path.join(src, 'empty2'));
    fs.writeFileSync(Buffer.from(`${src}/odd\xff`, 'latin1'), 'odd name');
    fs.symlinkSync('sub/file', path.join(src, 'link'));
    const snap = (await snapshotTree(shared.repo, [src], { workers: 0, force: true })).snapshot;
    const order = ['name', 'nameb', 'type', 'mode', 'uid', 'gid', 'user', 'group', 'mtime', 'ctime', 'ino', 'dev', 'links', 'xattrs', 'size', 'content', 'sparse', 'target', 'targetb', 'rdev', 'tree'];
    const seen = new Map<string, string[]>();
    for await (const e of walkEntries(shared.repo, (await treeTop(shared.repo, snap)).entries)) {
      const keys = Object.keys(e.node);
      expect(keys.map((k) => order.indexOf(k))).toEqual(keys.map((k) => order.indexOf(k)).sort((a, b) => a - b));
      expect(keys.filter((k) => !order.includes(k))).toEqual([]);
      seen.set(e.path.toString('latin1'), keys);
      if (e.path.toString().startsWith('empty')) expect([e.node.links, e.node.size, e.node.content]).toEqual([2, 0, '']); // both names, the same fields
    }
    expect(seen.get('sub')).toEqual(expect.arrayContaining(['name', 'type', 'mtime', 'ino', 'dev', 'tree']));
    expect(seen.get('sub/file')).toEqual(expect.arrayContaining(['name', 'type', 'mode', 'mtime', 'ctime', 'size', 'content']));
    expect(seen.get('odd\xff')![0]).toBe('nameb');
    expect(seen.get('link')).toContain('target');
    expect(seen.size).toBe(6);
  });

  it('excludes: gitignore patterns, an exclude file, --exclude-if-present', async () => {
    const src = path.join(dir, 'ex');
    tree(src, {
      'app/main.js': 'x',
      'app/debug.log': 'x',
      'app/keep.log': 'x',
      'cache/blob': 'x',
      'sub/cache/kept-because-anchored': 'x',
      'build/CACHEDIR.TAG': 'Signature: 8a477f597d28d172789f06886806bc55',
      'build/out.o': 'x',
      'node_modules/x/index.js': 'x',
    });
    const r = await snapshotTree(shared.repo, [src], { workers: 0, excludes: ['*.log', '!keep.log', '/cache/', 'node_modules'], excludeIfPresent: ['CACHEDIR.TAG'] });
    expect(await paths(shared.repo, r.snapshot)).toEqual(['app/', 'app/keep.log', 'app/main.js', 'sub/', 'sub/cache/', 'sub/cache/kept-because-anchored']);
  });

  it('several paths: each under its base name; files beside directories', async () => {
    tree(path.join(dir, 'multi/one'), { a: '1' });
    tree(path.join(dir, 'multi/two'), { b: '2' });
    fs.writeFileSync(path.join(dir, 'multi/file.txt'), 'f');
    const r = await snapshotTree(shared.repo, [path.join(dir, 'multi/one'), path.join(dir, 'multi/two'), path.join(dir, 'multi/file.txt')], { workers: 0 });
    expect(r.snapshot.name).toBe('one');
    expect(await paths(shared.repo, r.snapshot)).toEqual(['one/', 'one/a', 'two/', 'two/b', 'file.txt']);
    const out = path.join(dir, 'multi-out');
    await restoreTree(shared.repo, r.snapshot, out);
    expect(fs.readFileSync(path.join(out, 'two/b'), 'utf8')).toBe('2');
    expect(fs.readFileSync(path.join(out, 'file.txt'), 'utf8')).toBe('f');
  });

  it('new tree blobs are stored together: one index lookup and one encode job for many directories, not one each', async () => {
    const src = path.join(dir, 'many-dirs');
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`d${i % 30}/e${i}/f`] = `file ${i}\n`;
    tree(src, files);
    const saves = vi.spyOn(WriteSession.prototype, 'saveChunks');
    try {
      const r = await snapshotTree(shared.repo, [src], { workers: 0, force: true });
      // the calls that stored tree blobs (chunk-list blobs are 'list' blobs too)
      const treeCalls = saves.mock.calls.filter(([type, chunks]) => type === 'list' && chunks.some((c) => Buffer.from(c).toString('latin1', 0, 6) === '{"v":1'));
      const stored = treeCalls.flatMap(([, chunks]) => chunks).length;
      expect(stored).toBe(300 + 30 + 1 + 1); // every directory's blob and the top's, once
      expect(treeCalls.length).toBe(1); // about 60 KB of blobs: one store, at the end
      const out = path.join(dir, 'many-dirs-out');
      await restoreTree(shared.repo, r.snapshot, out);
      expect(fs.readFileSync(path.join(out, 'd7/e157/f'), 'utf8')).toBe('file 157\n');
      expect((await paths(shared.repo, r.snapshot)).length).toBe(30 + 300 + 300);
    } finally {
      saves.mockRestore();
    }
  });

  it('every changed file is offered its old version as delta basis, also while earlier batches are still being stored', async () => {
    const src = path.join(dir, 'deltas');
    // 1,500 files of 6 KiB: several batches of small files (a batch holds at most 1,000 files)
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 1500; i++) files[`d${i % 3}/f${i}`] = seeded(`delta ${i}`, 6144);
    tree(src, files);
    const repo = shared.repo;
    const a = await snapshotTree(repo, [src], { workers: 0, force: true });
    expect(a.filesRead).toBe(1500);
    for (const [p, c] of Object.entries(files)) fs.writeFileSync(path.join(src, p), Buffer.concat([c.subarray(0, 6000), Buffer.from('changed tail'.repeat(12))]));
    const b = await snapshotTree(repo, [src], { workers: 0 });
    expect(b.snapshot.parent).toBe(a.snapshot.id);
    expect(b.filesRead).toBe(1500);
    // each new chunk is of a changed file whose old version exists: each one had a base offered
    expect(b.snapshot.summary.newChunks).toBeGreaterThanOrEqual(1500);
    expect(b.snapshot.summary.deltaCandidates).toBe(b.snapshot.summary.newChunks);
  });

  it('bad input: a missing path, a file where a tree is expected, two paths with one base name', async () => {
    const codeOf = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
        return 'resolved';
      } catch (err) {
        return isStowageError(err) ? `${err.code}: ${err.message}` : String(err);
      }
    };
    expect(await codeOf(snapshotTree(shared.repo, [path.join(dir, 'nope')]))).toMatch(/^INPUT_UNREADABLE: cannot read .*nope: no such file or directory/);
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    expect(await codeOf(snapshotTree(shared.repo, [path.join(dir, 'plain')]))).toMatch(/^INVALID_ARGUMENT: .*plain: not a directory/);
    tree(path.join(dir, 'x1/same'), { a: '1' });
    tree(path.join(dir, 'x2/same'), { a: '1' });
    expect(await codeOf(snapshotTree(shared.repo, [path.join(dir, 'x1/same'), path.join(dir, 'x2/same')]))).toMatch(/^INVALID_ARGUMENT: two paths have the base name "same"/);
    const snap = (await snapshotTree(shared.repo, [path.join(dir, 'x1')], { workers: 0 })).snapshot;
    expect(await codeOf(lookupPath(shared.repo, snap, 'same/zzz'))).toMatch(/^NOT_FOUND: same\/zzz: no such file or directory/);
    expect(await codeOf(lookupPath(shared.repo, snap, 'same/a/deeper'))).toMatch(/^NOT_FOUND: .*is not a directory/);
  });
});
