/** Tree nodes: names compared as bytes, extents as stored. */
import { describe, expect, it } from 'vitest';
import { compareName, compareNames, decodeExtents, encodeExtents, nameFields, nodeName, storedExtents, type TreeNode } from './node.js';
import { isStowageError } from '../errors.js';

const node = (name: Buffer): TreeNode => ({ ...nameFields(name), type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '0', ctime: '0', ino: 1, dev: 1 });

describe('tree nodes', () => {
  it('compareName orders a name against a node as the bytes do (ASCII, UTF-8, not UTF-8, prefixes)', () => {
    const names = ['', 'a', 'ab', 'abc', 'b', 'B', 'a b', 'a\x7f', 'é', 'e\u0301', 'aé', 'aéb', 'ab\u00ff', 'z\u{1f600}', '\u{1f600}', 'ａ', '.', '..a', 'a\nb'].map((s) => Buffer.from(s, 'utf8'));
    names.push(Buffer.from([0x61, 0xff]), Buffer.from([0xc3]), Buffer.from([0x61, 0x80, 0x62]), Buffer.from([0x7f]));
    const sign = (x: number): number => Math.sign(x);
    const got: string[] = [];
    const want: string[] = [];
    for (const a of names)
      for (const b of names) {
        got.push(`${a.toString('hex')} ${b.toString('hex')} ${sign(compareName(a, node(b)))}`);
        want.push(`${a.toString('hex')} ${b.toString('hex')} ${sign(compareNames(a, nodeName(node(b))))}`);
      }
    expect(got).toEqual(want);
    expect(compareName(Buffer.from('abc'), node(Buffer.from('abc')))).toBe(0);
  });

  it('storedExtents: the extents as stored, the chunk-list record bytes; CORRUPT when malformed', () => {
    const ext = [
      { id: Buffer.alloc(32, 1), offset: 0, length: 100 },
      { id: Buffer.alloc(32, 2), offset: 7, length: 5 },
    ];
    const n = { ...node(Buffer.from('f')), content: encodeExtents(ext) };
    const b = storedExtents(n);
    expect(b.length).toBe(80);
    expect(b.subarray(32, 40)).toEqual(Buffer.from([0, 0, 0, 0, 100, 0, 0, 0]));
    expect(decodeExtents(n)).toEqual(ext);
    expect(storedExtents(node(Buffer.from('empty'))).length).toBe(0);
    let err: unknown;
    try {
      storedExtents({ ...n, content: Buffer.alloc(41).toString('base64') });
    } catch (e) {
      err = e;
    }
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
  });
});
