/**
 * The tar splitter is lossless for every input and piece size: concatenating all
 * content and glue events gives the input back. Real archives from GNU tar (gnu, pax,
 * ustar; long names, hard links, symlinks, sparse files), image-like archives with
 * nested layer tars, and broken ones (truncated, bad checksums, huge size claims).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { gnuTar, hasGnuTar, splitAll, tarEntry, tarHeader, tarOf, tempDir } from '../testing/tars.js';
import { RawSplitter, type SplitEvent } from './events.js';
import { TarSplitter } from './tar-splitter.js';
import { BLOCK } from './tar-header.js';

const PIECES = [1, 3, 511, 512, 513, 4096, 65537, 1 << 20];
const gnu = hasGnuTar();

/** Every piece size (1-byte pieces only for inputs up to 400 KB, to stay fast). */
function piecesFor(input: Uint8Array): number[] {
  return PIECES.filter((p) => p > 1 || input.length <= 400_000);
}

function expectLossless(input: Uint8Array, pieces = piecesFor(input)): void {
  for (const p of pieces) {
    const r = splitAll(input, p);
    expect(r.joined.length, `piece size ${p}`).toBe(input.length);
    expect(r.joined.equals(Buffer.from(input)), `piece size ${p}`).toBe(true);
  }
}

describe.skipIf(!gnu)('TarSplitter on GNU tar archives', () => {
  let dir: string;
  let tree: string;
  const archives = new Map<string, Buffer>();

  beforeAll(() => {
    dir = tempDir();
    tree = path.join(dir, 'tree');
    const w = (p: string, data: Uint8Array | string) => {
      fs.mkdirSync(path.dirname(path.join(tree, p)), { recursive: true });
      fs.writeFileSync(path.join(tree, p), data);
    };
    w('small/a', '');
    w('small/b', 'x');
    w('small/c', seeded('c', 511));
    w('small/d', seeded('d', 512));
    w('small/e', seeded('e', 513));
    w('big.bin', seeded('big', 200_000));
    w('ünï-cødé.txt', 'unicode\n');
    w(`${'d'.repeat(60)}/${'n'.repeat(120)}`, 'a name longer than 100 bytes\n');
    w(`${'x'.repeat(150)}/${'y'.repeat(150)}`, 'a path longer than 255 bytes\n');
    fs.symlinkSync('t'.repeat(150), path.join(tree, 'longlink'));
    fs.symlinkSync('big.bin', path.join(tree, 'shortlink'));
    fs.linkSync(path.join(tree, 'big.bin'), path.join(tree, 'big.hard'));
    // sparse: 4 MiB with two data extents
    const fd = fs.openSync(path.join(tree, 'sparse.img'), 'w');
    fs.writeSync(fd, seeded('s1', 5000), 0, 5000, 1 << 20);
    fs.writeSync(fd, seeded('s2', 3000), 0, 3000, (4 << 20) - 3000);
    fs.closeSync(fd);
    const short = ['small', 'big.bin', 'big.hard', 'shortlink', 'ünï-cødé.txt'];
    archives.set('gnu', gnuTar(tree, ['--format=gnu']));
    archives.set('gnu-sparse', gnuTar(tree, ['--format=gnu', '--sparse']));
    archives.set('pax', gnuTar(tree, ['--format=pax']));
    archives.set('pax-sparse-1.0', gnuTar(tree, ['--format=pax', '--sparse', '--sparse-version=1.0']));
    archives.set('pax-sparse-0.1', gnuTar(tree, ['--format=pax', '--sparse', '--sparse-version=0.1']));
    archives.set('ustar', gnuTar(tree, ['--format=ustar'], short));
    archives.set('v7', gnuTar(tree, ['--format=v7'], ['small', 'big.bin']));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('concatenating content and glue gives every archive back, for every piece size', () => {
    for (const [name, input] of archives) {
      expect(input.length, name).toBeGreaterThan(0);
      expectLossless(input);
    }
  });

  it('reports each top-level member with the offset and size of its data', () => {
    for (const [name, input] of archives) {
      const { members } = splitAll(input, 65536);
      expect(members.length, name).toBeGreaterThan(3);
      for (const m of members) {
        const onDisk = path.join(tree, m.name);
        if ((m.type === '0' || m.type === '\0') && fs.existsSync(onDisk) && fs.statSync(onDisk).isFile()) {
          expect(input.subarray(m.offset, m.offset + m.size).equals(fs.readFileSync(onDisk)), `${name}: ${m.name}`).toBe(true);
        }
      }
      const hard = members.find((m) => m.name.endsWith('big.hard') || m.name.endsWith('big.bin'));
      expect(hard, name).toBeDefined();
      if (name !== 'v7') {
        const link = members.find((m) => m.type === '1');
        expect(link?.linkname, name).toMatch(/big\.(bin|hard)$/);
        expect(members.find((m) => m.name.endsWith('shortlink'))?.linkname, name).toBe('big.bin');
      }
    }
  });

  it('cuts each regular file as its own content unit', () => {
    const input = archives.get('pax')!;
    const r = splitAll(input, 4096);
    const files = r.members.filter((m) => (m.type === '0' || m.type === '\0') && m.size > 0).length;
    expect(r.contentUnits).toBe(files);
  });
});

describe.skipIf(!gnu)('TarSplitter on image-like archives', () => {
  let dir: string;
  let image: Buffer;
  let layer: Buffer;
  let gz: Buffer;

  beforeAll(() => {
    dir = tempDir();
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/lib/libx.so'), seeded('lib', 150_000));
    fs.writeFileSync(path.join(root, 'etc.conf'), 'k=v\n');
    layer = gnuTar(root, ['--format=pax']);
    gz = gzipSync(gnuTar(root, ['--format=gnu']));
    const img = path.join(dir, 'img');
    fs.mkdirSync(img);
    fs.writeFileSync(path.join(img, 'layer.tar'), layer);
    fs.writeFileSync(path.join(img, 'layer2.tar.gz'), gz);
    fs.writeFileSync(path.join(img, 'manifest.json'), '[{"Config":"c.json","RepoTags":["x:1"],"Layers":["layer.tar","layer2.tar.gz"]}]');
    fs.writeFileSync(path.join(img, 'c.json'), '{"os":"linux","architecture":"amd64"}');
    image = gnuTar(img, ['--format=gnu']);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is lossless for every piece size', () => {
    expectLossless(image);
  });

  it('detects the nested layer tar, leaves the gzip layer opaque, captures the metadata files', () => {
    for (const p of [1, 700, 1 << 20]) {
      const { members } = splitAll(image, p);
      const by = new Map(members.map((m) => [m.name.replace(/^\.\//, ''), m]));
      expect(by.get('layer.tar')?.nestedTar, `piece ${p}`).toBe(true);
      expect(by.get('layer.tar')?.compression).toBeUndefined();
      expect(by.get('layer2.tar.gz')?.nestedTar).toBe(false);
      expect(by.get('layer2.tar.gz')?.compression).toBe('gzip');
      expect(Buffer.from(by.get('manifest.json')!.data!).toString()).toContain('"Layers"');
      expect(Buffer.from(by.get('c.json')!.data!).toString()).toContain('linux');
      const l = by.get('layer.tar')!;
      expect(image.subarray(l.offset, l.offset + l.size).equals(layer)).toBe(true);
      // members of the nested layer are not reported at the top level
      expect(members.some((m) => m.name.includes('libx.so'))).toBe(false);
    }
  });

  it('gives the files of a nested layer their own content units', () => {
    const r = splitAll(image, 65536);
    // libx.so and etc.conf inside the layer, plus the gzip layer, manifest.json, c.json
    expect(r.contentUnits).toBe(5);
  });
});

describe('TarSplitter on broken and hand-made input', () => {
  const base = tarOf([
    { name: 'a.txt', data: seeded('a', 3000) },
    { name: 'dir/', type: '5' },
    { name: 'b.bin', data: seeded('b', 70_000) },
    { name: 'l', type: '2', linkname: 'a.txt' },
  ]);

  it('passes a member the caller reuses through as reused bytes, unsplit, after a reuse event; the rest as before', () => {
    const layer = tarOf([{ name: 'usr/x', data: seeded('x', 5000) }]);
    const input = tarOf([
      { name: 'keep.tar', data: layer },
      { name: 'reuse.tar', data: layer },
      { name: 'small', data: seeded('s', 10) },
    ]);
    for (const piece of [100, 512, 4096, input.length]) {
      const asked: { name: string; offset: number; size: number }[] = [];
      const hooks = { memberStart: (name: string, offset: number, size: number) => (asked.push({ name, offset, size }), name === 'reuse.tar') };
      const run = splitAll(input, piece, new TarSplitter(0, 0, hooks));
      expect(run.joined.equals(input)).toBe(true);
      // asked for every top-level regular member with data (at least two blocks); nested members are not top-level
      expect(asked).toEqual([
        { name: 'keep.tar', offset: BLOCK, size: layer.length },
        { name: 'reuse.tar', offset: 2 * BLOCK + layer.length, size: layer.length },
      ]);
      expect(run.members.map((m) => [m.name, m.nestedTar, m.offset, m.size])).toEqual([
        ['keep.tar', true, BLOCK, layer.length],
        ['reuse.tar', true, 2 * BLOCK + layer.length, layer.length],
        ['small', false, 3 * BLOCK + 2 * layer.length, 10],
      ]);
    }
    const out: SplitEvent[] = [];
    const t = new TarSplitter(0, 0, { memberStart: (name) => name === 'reuse.tar' });
    t.push(input, out);
    t.end(out);
    const at = out.findIndex((e) => e.kind === 'reuse');
    expect(out[at]).toEqual({ kind: 'reuse', name: 'reuse.tar', size: layer.length });
    expect(out[at - 1]!.kind).toBe('flush-glue');
    const reused = out.filter((e): e is Extract<SplitEvent, { kind: 'reused' }> => e.kind === 'reused');
    expect(Buffer.concat(reused.map((e) => e.bytes)).equals(layer)).toBe(true);
    // the reused member's files are not announced: only keep.tar's usr/x and small are
    expect(out.filter((e) => e.kind === 'file').map((e) => (e as { name: string }).name)).toEqual(['usr/x', 'small']);
  });

  it('header glue is a view of the piece when the block lies in it, a copy when it straddles pieces; events stay valid while their pieces do', () => {
    const nested = tarOf([
      {
        name: 'layer.tar',
        data: tarOf([
          { name: 'x', data: seeded('x', 5000) },
          { name: 'y', data: seeded('y', 100) },
        ]),
      },
      { name: 'z', data: seeded('z', 700) },
    ]);
    for (const input of [base, nested]) {
      for (const size of [511, 512, 513, 1000, 4096, input.length]) {
        // every event collected before any is read: a header emitted as a view of the splitter's own
        // block would be overwritten by the next header
        const splitter = new TarSplitter();
        const out: SplitEvent[] = [];
        const pieces: Buffer[] = [];
        for (let off = 0; off < input.length; off += size) {
          const piece = Buffer.from(input.subarray(off, off + size));
          pieces.push(piece);
          splitter.push(piece, out);
        }
        splitter.end(out);
        const parts = out.filter((e) => e.kind === 'content' || e.kind === 'glue').map((e) => (e as { bytes: Uint8Array }).bytes);
        expect(Buffer.concat(parts).equals(input), `piece size ${size}`).toBe(true);
        const glue = out.filter((e) => e.kind === 'glue').map((e) => (e as { bytes: Uint8Array }).bytes);
        const views = glue.filter((g) => g.length === BLOCK && pieces.some((p) => p.buffer === g.buffer));
        if (size % BLOCK === 0) expect(views.length, `piece size ${size}`).toBeGreaterThan(2); // aligned pieces: headers never straddle
        if (size === 511) expect(views.length).toBe(0); // every header straddles a piece boundary or ends one: copied
      }
    }
  });

  it('is lossless for empty input, input shorter than a block, and non-tar bytes', () => {
    expectLossless(new Uint8Array(0));
    expectLossless(Buffer.from('hello'));
    expectLossless(seeded('noise', 100_000));
    expectLossless(Buffer.alloc(BLOCK * 3)); // only zero blocks
  });

  it('is lossless for a tar truncated anywhere', () => {
    for (let cut = 0; cut <= base.length; cut += 97) expectLossless(base.subarray(0, cut), cut <= 4000 ? [1, 7, 4096] : [7, 512, 4096, 65537]);
    for (const cut of [BLOCK - 1, BLOCK, BLOCK + 1, BLOCK + 3000, 2 * BLOCK + 3000 + 512]) expectLossless(base.subarray(0, cut));
  });

  it('falls back to one raw unit from a header with a bad checksum on', () => {
    const bad = Buffer.from(base);
    const second = BLOCK + 3072; // header of "dir/"
    bad[second + 148] = 0x37; // checksum field digit changed
    const r = splitAll(bad, 4096);
    expect(r.joined.equals(bad)).toBe(true);
    expect(r.members.map((m) => m.name)).toEqual(['a.txt']);
    expectLossless(bad);
  });

  it('reads a base-256 size over 8 GiB and stays lossless when the archive is truncated', () => {
    const huge = Buffer.concat([tarHeader({ name: 'huge.img', size: 9n * 2n ** 30n, magic: 'gnu' }), seeded('h', 100_000)]);
    const r = splitAll(huge, 4096);
    expect(r.joined.equals(huge)).toBe(true);
    expectLossless(huge);
    // a complete small member after a huge claim is not reachable: everything is data of huge.img
    expect(r.members).toEqual([]);
  });

  it('treats a link header with a size field as header-only (as Go and GNU tar read it)', () => {
    const input = Buffer.concat([tarHeader({ name: 'hl', type: '1', linkname: 'a.txt', size: 5000 }), tarEntry({ name: 'next' }, Buffer.from('next data')), Buffer.alloc(1024)]);
    const r = splitAll(input, 100);
    expect(r.joined.equals(input)).toBe(true);
    expect(r.members.map((m) => `${m.name}:${m.size}`)).toEqual(['hl:0', 'next:9']);
  });

  it('never reports a member beyond the input', () => {
    for (let cut = 0; cut <= base.length; cut += 211) {
      const input = base.subarray(0, cut);
      for (const m of splitAll(input, 1000).members) expect(m.offset + m.size).toBeLessThanOrEqual(input.length);
    }
  });

  it('RawSplitter passes everything through as one unit', () => {
    const input = seeded('raw', 10_000);
    const r = splitAll(input, 333, new RawSplitter());
    expect(r.joined.equals(input)).toBe(true);
    expect(r.contentUnits).toBe(1);
    expect(r.members).toEqual([]);
  });

  it('a nested tar that breaks off inside its layer stays lossless and the outer archive goes on', () => {
    const layer = tarOf([{ name: 'x', data: seeded('x', 5000) }]);
    const brokenLayer = Buffer.concat([layer.subarray(0, 1500), seeded('junk', 4000)]); // a header, then junk where the next header should be
    const outer = tarOf([
      { name: 'layer.tar', data: brokenLayer },
      { name: 'after.txt', data: Buffer.from('after') },
    ]);
    const r = splitAll(outer, 512);
    expect(r.joined.equals(outer)).toBe(true);
    expect(r.members.map((m) => m.name)).toEqual(['layer.tar', 'after.txt']);
    expectLossless(outer);
  });

  it('splits a gzip stream of a tar as opaque data', () => {
    const gz = gzipSync(base);
    const outer = tarOf([{ name: 'l.tar.gz', data: gz }]);
    const r = splitAll(outer, 4096);
    expect(r.members[0]?.compression).toBe('gzip');
    expect(r.members[0]?.nestedTar).toBe(false);
  });

  it('GNU tar itself reads the hand-made base archive', () => {
    if (!gnu) return;
    const list = execFileSync('tar', ['-tvf', '-'], { input: base }).toString();
    expect(list).toContain('a.txt');
    expect(list).toContain('l -> a.txt');
  });
});
