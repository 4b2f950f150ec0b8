/** ListOrder: chunk-list entries in the order their places were reserved, whatever order they are filled in. */
import { describe, expect, it } from 'vitest';
import { ListOrder, type Listed } from './list-order.js';
import { decodeExtents, encodeExtents, type Extent } from './node.js';

const ext = (n: number): Extent => ({ id: Buffer.alloc(32, n), offset: n, length: n + 1 });
const offsets = (refs: Listed): number[] => (Buffer.isBuffer(refs) ? decodeExtents({ content: refs.toString('base64') } as never) : refs).map((r) => r.offset);
/** Extents as stored (a reused file's content). */
const asStored = (refs: readonly Extent[]): Buffer => Buffer.from(encodeExtents(refs), 'base64');

describe('ListOrder', () => {
  it('lists places in reservation order, each once everything before it is known', () => {
    const out: number[][] = [];
    const o = new ListOrder((refs) => out.push(offsets(refs)));
    const a = o.reserve();
    const b = o.reserve();
    o.put([ext(5)]); // known now, but after a and b
    const c = o.reserve();
    o.fill(b, [ext(2), ext(3)]);
    expect(out).toEqual([]);
    expect(o.waiting).toBe(4);
    o.fill(a, [ext(1)]);
    expect(out).toEqual([[1, 2, 3, 5]]);
    expect(o.waiting).toBe(1);
    o.fill(c, []);
    expect(o.waiting).toBe(0);
    o.put([ext(7)]); // nothing waiting: listed at once
    expect(out).toEqual([[1, 2, 3, 5], [7]]);
  });

  it('the same entries whatever order the places are filled in', () => {
    const run = (fillOrder: number[]): number[] => {
      const got: number[] = [];
      const o = new ListOrder((refs) => got.push(...offsets(refs)));
      const at = Array.from({ length: 3000 }, () => o.reserve());
      for (const i of fillOrder) o.fill(at[i]!, i % 7 === 0 ? [] : [ext(i % 250), ext((i + 1) % 250)]);
      expect(o.waiting).toBe(0);
      return got;
    };
    const forward = Array.from({ length: 3000 }, (_, i) => i);
    const shuffled = [...forward];
    let seed = 7;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    expect(run(shuffled)).toEqual(run(forward));
    expect(run([...forward].reverse())).toEqual(run(forward));
  });

  it('entries as stored (reused files) keep their place among extents', () => {
    const got: number[] = [];
    const o = new ListOrder((refs) => got.push(...offsets(refs)));
    const a = o.reserve();
    o.put(asStored([ext(2), ext(3)]));
    const b = o.reserve();
    o.put(asStored([]));
    o.put([ext(5)]);
    o.fill(b, [ext(4)]);
    expect(got).toEqual([]);
    o.fill(a, [ext(1)]);
    expect(got).toEqual([1, 2, 3, 4, 5]);
    o.put(asStored([ext(6)])); // nothing waiting: listed at once
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
