/** TreeScan: listings and lstats read ahead, packed, taken once, bounded; a snapshot with a scan equals one without. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotTree } from '../snapshot/tree-snapshot.js';
import { sharedTestRepo } from '../testing/fixtures.js';
import { lstatPacked, STAT_FIELDS, TreeScan, type EntryStat } from './scan.js';

/** Lets a scan run its slices (a tree this small takes a few ms). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

function same(a: EntryStat, b: fs.BigIntStats): void {
  for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const) expect(a[k]).toBe(b[k]);
  for (const m of ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isCharacterDevice', 'isBlockDevice', 'isSocket'] as const) expect(a[m]()).toBe(b[m]());
}

describe('TreeScan', () => {
  const shared = sharedTestRepo();
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-scan-'));
    for (let d = 0; d < 4; d++) {
      fs.mkdirSync(path.join(dir, 'src', `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(dir, 'src', `d${d}`, f % 2 ? `f${f}` : `sub/f${f}`), `file ${d} ${f}\n`.repeat(f));
    }
    fs.symlinkSync('d0', path.join(dir, 'src', 'link'));
    fs.writeFileSync(path.join(dir, 'src', Buffer.from([0x62, 0xff, 0x2e, 0x74]).toString('latin1')), 'odd name');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("holds each directory's sorted names and their lstats (as lstat gives them), taken once", async () => {
    const src = path.join(dir, 'src');
    const scan = new TreeScan([src]);
    await settle();
    expect(scan.size).toBe(1 + 4 * 2);
    const top = scan.take(Buffer.from(src))!;
    expect(top.names).toEqual(fs.readdirSync(src, { encoding: 'buffer' }).sort(Buffer.compare));
    (top.names as Buffer[]).forEach((n, i) => same(top.stats[i] as EntryStat, fs.lstatSync(Buffer.concat([Buffer.from(src), Buffer.from('/'), n]), { bigint: true })));
    expect(scan.take(Buffer.from(src))).toBeUndefined();
    const sub = scan.take(Buffer.from(path.join(src, 'd2', 'sub')))!;
    expect((sub.names as Buffer[]).map(String)).toEqual(['f0', 'f10', 'f12', 'f14', 'f16', 'f18', 'f2', 'f20', 'f22', 'f24', 'f26', 'f28', 'f4', 'f6', 'f8']);
    expect(scan.take(Buffer.from(path.join(src, 'link')))).toBeUndefined(); // a symlink is not entered
    scan.close();
    expect(scan.size).toBe(0);
  });

  it('lstatPacked: the fields lstat gives, held in a BigInt64Array (no BigIntStats kept)', () => {
    const src = path.join(dir, 'src');
    const names = fs.readdirSync(src, { encoding: 'buffer' });
    const into = new BigInt64Array(names.length * STAT_FIELDS);
    const packed = names.map((n, i) => lstatPacked(Buffer.concat([Buffer.from(src), Buffer.from('/'), n]), into, i));
    names.forEach((n, i) => same(packed[i]!, fs.lstatSync(Buffer.concat([Buffer.from(src), Buffer.from('/'), n]), { bigint: true })));
    expect(() => lstatPacked(Buffer.from(path.join(dir, 'nothing-here')), into, 0)).toThrow(/ENOENT/);
    same(packed[0]!, fs.lstatSync(Buffer.concat([Buffer.from(src), Buffer.from('/'), names[0]!]), { bigint: true })); // a failed lstat leaves the entry as it was
  });

  it('stops at maxEntries and at stop(); a directory that cannot be listed keeps its error', async () => {
    const src = path.join(dir, 'src');
    const small = new TreeScan([src], { maxEntries: 10 });
    await settle();
    expect(small.size).toBe(2); // the top (6 entries) and d0 (16): over 10, no further
    small.close();
    const stopped = new TreeScan([src]);
    stopped.stop();
    await settle();
    expect(stopped.size).toBe(0);
    const gone = path.join(dir, 'gone');
    fs.mkdirSync(gone);
    const scan = new TreeScan([gone]);
    fs.rmdirSync(gone);
    await settle();
    expect(scan.take(Buffer.from(gone))?.names).toBeInstanceOf(Error);
    scan.close();
  });

  it('a snapshot taking a scan stores the same tree as one without', async () => {
    const src = path.join(dir, 'src');
    const repo = shared.repo;
    const plain = await snapshotTree(repo, [src], { workers: 0, force: true });
    const scan = new TreeScan([src]);
    await settle();
    const scanned = await snapshotTree(repo, [src], { workers: 0, force: true, scan });
    expect(scanned.snapshot.tree!.root).toEqual(plain.snapshot.tree!.root);
    expect(scanned.snapshot.content.lists).toEqual(plain.snapshot.content.lists);
    expect(scan.size).toBe(0); // taken by the walk, the rest dropped
  });
});
