/** withHeapGrowth: the flag is set around the command only, and set back when it fails too. */
import { describe, expect, it } from 'vitest';
import { withHeapGrowth } from './heap-growth.js';

describe('withHeapGrowth', () => {
  it('sets V8 heap growth for the call and V8 default after it, also when it throws', async () => {
    const calls: string[] = [];
    const set = (f: string): void => void calls.push(f);
    expect(await withHeapGrowth(100, () => Promise.resolve(calls.length), set)).toBe(1);
    expect(calls).toEqual(['--heap-growing-percent=100', '--heap-growing-percent=0']);
    await expect(withHeapGrowth(50, () => Promise.reject(new Error('boom')), set)).rejects.toThrow('boom');
    expect(calls.slice(2)).toEqual(['--heap-growing-percent=50', '--heap-growing-percent=0']);
  });

  it('V8 takes the flag at run time (the real setter)', async () => {
    expect(await withHeapGrowth(100, () => Promise.resolve('ran'))).toBe('ran');
  });
});
