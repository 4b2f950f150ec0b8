/**
 * The tar lister against GNU tar's own listing: every format, long names, links,
 * sparse files (real sizes), any piece size; broken input stops with a problem.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { gnuTar, hasGnuTar, tarHeader, tarOf, tempDir } from '../testing/tars.js';
import { TarLister, type TarEntry } from './tar-list.js';

function list(input: Uint8Array, piece = 4096): { entries: TarEntry[]; problem: string | undefined } {
  const entries: TarEntry[] = [];
  const l = new TarLister((e) => entries.push(e));
  for (let off = 0; off < input.length; off += piece) l.push(input.subarray(off, off + piece));
  l.end();
  return { entries, problem: l.problem };
}

const norm = (p: string) => p.replace(/^\.\//, '').replace(/\/$/, '');
const gnu = hasGnuTar();

describe.skipIf(!gnu)('TarLister on GNU tar archives', () => {
  let dir: string;
  let tree: string;
  const longDir = `${'x'.repeat(150)}/${'y'.repeat(150)}`;

  beforeAll(() => {
    dir = tempDir();
    tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, longDir), { recursive: true });
    fs.writeFileSync(path.join(tree, longDir, 'f.txt'), 'deep\n');
    fs.writeFileSync(path.join(tree, 'big.bin'), seeded('big', 100_000));
    fs.chmodSync(path.join(tree, 'big.bin'), 0o755);
    fs.linkSync(path.join(tree, 'big.bin'), path.join(tree, 'hard'));
    fs.symlinkSync('l'.repeat(140), path.join(tree, 'longlink'));
    const fd = fs.openSync(path.join(tree, 'sparse.img'), 'w');
    fs.writeSync(fd, seeded('s', 4000), 0, 4000, 3 << 20);
    fs.closeSync(fd);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const opts of [
    ['--format=gnu'],
    ['--format=gnu', '--sparse'],
    ['--format=pax'],
    ['--format=pax', '--sparse', '--sparse-version=1.0'],
    ['--format=pax', '--sparse', '--sparse-version=0.1'],
    ['--format=posix'],
  ]) {
    it(`lists what GNU tar lists (${opts.join(' ')})`, () => {
      const input = gnuTar(tree, opts);
      const want = execFileSync('tar', ['-tf', '-'], { input, maxBuffer: 1 << 26 })
        .toString()
        .split('\n')
        .filter(Boolean)
        .map(norm)
        .sort();
      for (const piece of [1, 100, 512, 65536]) {
        const { entries, problem } = list(input, piece);
        expect(problem).toBeUndefined();
        expect(entries.map((e) => norm(e.path)).sort(), `piece ${piece}`).toEqual(want);
        const by = new Map(entries.map((e) => [norm(e.path), e]));
        expect(by.get('big.bin')).toMatchObject({ type: 'file', size: 100_000, mode: 0o755 });
        expect(by.get('hard')).toMatchObject({ type: 'hardlink', linkname: './big.bin', size: 0 });
        expect(by.get('longlink')).toMatchObject({ type: 'symlink', linkname: 'l'.repeat(140) });
        expect(by.get(`${longDir}/f.txt`)).toMatchObject({ type: 'file', size: 5 });
        expect(by.get('sparse.img')).toMatchObject({ type: 'file', size: (3 << 20) + 4000 });
        expect(by.get(longDir.split('/')[0]!)?.type).toBe('dir');
      }
    });
  }
});

describe('TarLister on broken input', () => {
  const base = tarOf([
    { name: 'a', data: seeded('a', 1000) },
    { name: 'b', data: seeded('b', 2000) },
  ]);

  it('stops with a problem at a bad checksum, having listed what came before', () => {
    const bad = Buffer.from(base);
    bad[1536 + 10]! ^= 1; // inside b's header name: the checksum no longer matches
    const { entries, problem } = list(bad);
    expect(entries.map((e) => e.path)).toEqual(['a']);
    expect(problem).toMatch(/bad checksum\) at byte 1536/);
  });

  it('reports an archive that ends inside an entry', () => {
    const { entries, problem } = list(base.subarray(0, 1536 + 700));
    expect(entries.map((e) => e.path)).toEqual(['a', 'b']);
    expect(problem).toMatch(/ends inside an entry/);
  });

  it('accepts a tar without end-of-archive blocks, and reports empty input', () => {
    expect(list(base.subarray(0, base.length - 1024)).problem).toBeUndefined();
    expect(list(new Uint8Array(0)).problem).toBe('empty input');
  });

  it('lists a base-256 size over 8 GiB and then finds the data missing', () => {
    const input = Buffer.concat([tarHeader({ name: 'huge', size: 10n * 2n ** 30n, magic: 'gnu' }), seeded('h', 5000)]);
    const { entries, problem } = list(input);
    expect(entries).toMatchObject([{ path: 'huge', size: 10 * 2 ** 30 }]);
    expect(problem).toMatch(/ends inside an entry/);
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 50; i++) {
      const r = list(seeded(`r${i}`, 2000 + i * 37), 1 + i * 13);
      expect(r.problem).toBeDefined();
    }
  });
});
