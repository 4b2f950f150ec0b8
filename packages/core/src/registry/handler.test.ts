import { describe, expect, it } from 'vitest';
import { parseRange } from './handler.js';

describe('Range header', () => {
  it('single ranges: a-b, a-, -n; past the end is clipped; unsatisfiable is invalid', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-3', 10)).toEqual([0, 4]);
    expect(parseRange('bytes=4-', 10)).toEqual([4, 10]);
    expect(parseRange('bytes=-3', 10)).toEqual([7, 10]);
    expect(parseRange('bytes=5-100', 10)).toEqual([5, 10]);
    for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4']) expect(parseRange(bad, 10), bad).toBe('invalid');
  });
});

describe('loopback addresses', () => {
  it('with and without ports, IPv4 and IPv6', async () => {
    const { isLoopbackHost } = await import('./client.js');
    for (const h of ['127.0.0.1', '127.0.0.1:5000', 'localhost', 'localhost:80', '::1', '[::1]', '[::1]:5000', '127.9.9.9']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1:5000', 'registry.example', '[2001:db8::1]:443', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
