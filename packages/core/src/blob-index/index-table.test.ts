import { describe, expect, it } from 'vitest';
import { blake3 } from '../hash/blake3.js';
import { ENTRY_BYTES, writeEntry, type PackEntry } from '../pack/entry.js';
import { IndexFileBuilder, decodeIndexFile, scanIndexFile } from './index-file.js';
import { IndexTable } from './index-table.js';

const idOf = (i: number) => blake3(Buffer.from(`blob ${i}`));
const packId = (p: number) => blake3(Buffer.from(`pack ${p}`)).toString('hex');

function raw(entries: PackEntry[]): Buffer {
  const b = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((e, i) => writeEntry(b, i * ENTRY_BYTES, e));
  return b;
}

function entries(from: number, n: number): PackEntry[] {
  return Array.from({ length: n }, (_, i) => ({ id: idOf(from + i), type: i % 7 === 0 ? 'list' : 'data', compressed: i % 2 === 0, offset: i * 100, length: 100, rawLength: 150 + i }) as PackEntry);
}

describe('IndexTable', () => {
  it('stores 200k entries over several blocks and rehashes; every id is found with its location', () => {
    const t = new IndexTable();
    const perPack = 20_000;
    for (let p = 0; p < 10; p++) t.addPack('idx', packId(p), raw(entries(p * perPack, perPack)), perPack);
    expect(t.count).toBe(200_000);
    expect(t.packs).toHaveLength(10);
    for (const i of [0, 1, 65_535, 65_536, 131_071, 199_999]) {
      const e = t.find(idOf(i));
      expect(e).toBe(i);
      const k = i % perPack;
      expect(t.packAt(t.pack(e)).id).toBe(packId(Math.floor(i / perPack)));
      expect([t.offset(e), t.length(e), t.rawLength(e), t.compressed(e), t.type(e)]).toEqual([k * 100, 100, 150 + k, k % 2 === 0, k % 7 === 0 ? 'list' : 'data']);
      expect(t.idHex(e)).toBe(idOf(i).toString('hex'));
    }
    expect(t.find(idOf(200_000))).toBe(-1);
    // ids inside larger buffers at odd offsets
    const buf = Buffer.concat([Buffer.from([1, 2, 3]), idOf(77)]);
    expect(t.find(buf, 3)).toBe(77);
  });

  it('a pack listed twice is stored once; a blob in two packs prefers the existing pack', () => {
    const sizes = new Map([[packId(2), 1000]]);
    const t = new IndexTable();
    t.setPackSizes(sizes);
    t.addPack('i1', packId(1), raw(entries(0, 10)), 10); // missing pack
    t.addPack('i1', packId(2), raw(entries(5, 10)), 10); // blobs 5..14, exists
    t.addPack('i2', packId(2), raw(entries(5, 10)), 10);
    expect(t.count).toBe(20);
    expect(t.duplicates).toBe(5);
    expect(t.packAt(1).indexFiles).toEqual(['i1', 'i2']);
    expect(t.packAt(t.pack(t.find(idOf(3)))).id).toBe(packId(1));
    expect(t.packAt(t.pack(t.find(idOf(7)))).id).toBe(packId(2));
    expect(t.mark(t.find(idOf(7)))).toBe(true);
    expect(t.mark(t.find(idOf(7)))).toBe(false);
    t.setFlag(3, 2);
    expect([t.hasFlag(3, 2), t.marked(3), t.hasFlag(4, 2)]).toEqual([true, false, false]);
  });

  it('index file builder and scanner round-trip with the decoder', () => {
    const b = new IndexFileBuilder();
    b.addPack(packId(1), raw(entries(0, 3)), 3);
    b.addPack(packId(2), raw(entries(3, 2)), 2);
    expect(b.entries).toBe(5);
    const file = b.take();
    expect(b.empty).toBe(true);
    const packs = decodeIndexFile(file, 'x');
    expect(packs.map((p) => [p.id, p.entries.length])).toEqual([
      [packId(1), 3],
      [packId(2), 2],
    ]);
    const seen: string[] = [];
    scanIndexFile(file, 'x', (p, r, n) => seen.push(`${p}:${n}:${r.length}`));
    expect(seen).toEqual([`${packId(1)}:3:${3 * ENTRY_BYTES}`, `${packId(2)}:2:${2 * ENTRY_BYTES}`]);
    file[20]! ^= 1;
    expect(() => scanIndexFile(file, 'x', () => undefined)).toThrow(/checksum/);
  });
});
