/**
 * The conformance suite every Backend passes (restic's backend/test, kopia's
 * VerifyStorage): call `backendSuite(name, factory)` from a *.test.ts file.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, FileType, Handle } from '../backend/backend.js';
import { pathOf } from '../backend/layout.js';
import { StowageError, isStowageError } from '../errors.js';

/** The StowageError code a promise rejects with ('ok' when it resolves). */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isStowageError(err) ? err.code : String(err);
  }
}

async function names(b: Backend, t: FileType): Promise<string[]> {
  return names2(b, t);
}

async function names2(b: Backend, t: FileType, opts?: { signal?: AbortSignal }): Promise<string[]> {
  const out: string[] = [];
  for await (const f of b.list(t, opts)) out.push(`${f.name}:${f.size}`);
  return out.sort();
}

/** Bytes that tell files and offsets apart. */
function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/**
 * `parts` of `data` as an array whose element `at` aborts `ac` when a backend reaches it:
 * a save that is stopped midway, after the backend has taken the parts before `at`.
 */
function partsAbortingAt(data: Buffer, count: number, at: number, ac: AbortController): Uint8Array[] {
  const size = Math.ceil(data.length / count);
  const parts = Array.from({ length: count }, (_, i) => data.subarray(i * size, (i + 1) * size));
  const hit = parts[at]!;
  Object.defineProperty(parts, at, {
    get() {
      ac.abort();
      return hit;
    },
  });
  return parts;
}

/** The file is not there by any means of looking. */
async function expectAbsent(b: Backend, h: Handle): Promise<void> {
  expect(await b.exists(h)).toBe(false);
  expect(await code(b.load(h))).toBe('NOT_FOUND');
  expect(await code(b.stat(h))).toBe('NOT_FOUND');
  expect((await names(b, h.type)).filter((n) => n.startsWith(`${h.name}:`))).toEqual([]);
}

export function backendSuite(name: string, factory: () => Promise<{ backend: Backend; cleanup(): Promise<void> }>): void {
  describe(`${name} backend conformance`, () => {
    const withBackend = (fn: (b: Backend) => Promise<void>) => async () => {
      const { backend, cleanup } = await factory();
      try {
        await backend.create();
        await fn(backend);
      } finally {
        await backend.close();
        await cleanup();
      }
    };

    it(
      'saves, stats and loads whole files',
      withBackend(async (b) => {
        const data = Buffer.from('hello, stowage');
        await b.save({ type: 'snapshot', name: 'abc123' }, data);
        expect(await b.exists({ type: 'snapshot', name: 'abc123' })).toBe(true);
        expect((await b.stat({ type: 'snapshot', name: 'abc123' })).size).toBe(data.length);
        expect(Buffer.from(await b.load({ type: 'snapshot', name: 'abc123' })).equals(data)).toBe(true);
      }),
    );

    it(
      'loads ranges; a range past the end is CORRUPT, never a short result',
      withBackend(async (b) => {
        const data = Buffer.from('0123456789abcdef');
        await b.save({ type: 'pack', name: 'ab00ff' }, data);
        expect(Buffer.from(await b.load({ type: 'pack', name: 'ab00ff' }, { offset: 4, length: 6 })).toString()).toBe('456789');
        expect(Buffer.from(await b.load({ type: 'pack', name: 'ab00ff' }, { offset: 0, length: 16 })).equals(data)).toBe(true);
        expect(await code(b.load({ type: 'pack', name: 'ab00ff' }, { offset: 10, length: 10 }))).toBe('CORRUPT');
      }),
    );

    it(
      'files are immutable: a second save is ALREADY_EXISTS unless overwrite',
      withBackend(async (b) => {
        const h = { type: 'index' as const, name: 'i1' };
        await b.save(h, Buffer.from('one'));
        expect(await code(b.save(h, Buffer.from('two')))).toBe('ALREADY_EXISTS');
        expect(Buffer.from(await b.load(h)).toString()).toBe('one');
        await b.save({ type: 'lock', name: 'l1' }, Buffer.from('a'));
        await b.save({ type: 'lock', name: 'l1' }, Buffer.from('bb'), { overwrite: true });
        expect(Buffer.from(await b.load({ type: 'lock', name: 'l1' })).toString()).toBe('bb');
      }),
    );

    it(
      'missing files are NOT_FOUND for load, stat and remove',
      withBackend(async (b) => {
        const h = { type: 'snapshot' as const, name: 'nope' };
        expect(await code(b.load(h))).toBe('NOT_FOUND');
        expect(await code(b.stat(h))).toBe('NOT_FOUND');
        expect(await code(b.remove(h))).toBe('NOT_FOUND');
        expect(await b.exists(h)).toBe(false);
      }),
    );

    it(
      'remove with missingOk: an existing file is removed, a missing one is no error',
      withBackend(async (b) => {
        const h = { type: 'lock' as const, name: 'l2' };
        await b.save(h, Buffer.from('lock'));
        await b.remove(h, { missingOk: true });
        expect(await b.exists(h)).toBe(false);
        await b.remove(h, { missingOk: true });
        await b.remove({ type: 'lock', name: 'never' }, { missingOk: true });
        expect(await code(b.remove(h))).toBe('NOT_FOUND');
      }),
    );

    it(
      'lists each type separately, with sizes, and removes',
      withBackend(async (b) => {
        await b.save({ type: 'pack', name: '00aa' }, Buffer.alloc(3));
        await b.save({ type: 'pack', name: 'ff01' }, Buffer.alloc(5));
        await b.save({ type: 'index', name: 'x1' }, Buffer.alloc(7));
        await b.save({ type: 'config', name: 'config' }, Buffer.alloc(2));
        expect(await names(b, 'pack')).toEqual(['00aa:3', 'ff01:5']);
        expect(await names(b, 'index')).toEqual(['x1:7']);
        expect(await names(b, 'snapshot')).toEqual([]);
        expect(await names(b, 'config')).toEqual(['config:2']);
        await b.remove({ type: 'pack', name: '00aa' });
        expect(await names(b, 'pack')).toEqual(['ff01:5']);
        expect(await b.isEmpty()).toBe(false);
      }),
    );

    it(
      'rejects names that could escape the repository',
      withBackend(async (b) => {
        for (const name of ['../x', 'a/b', '.hidden', '']) {
          await expect(b.save({ type: 'snapshot', name }, Buffer.from('x'))).rejects.toThrow(TypeError);
        }
      }),
    );

    it(
      'lists across many files and directories: every file once, with its size',
      withBackend(async (b) => {
        // 300 packs over many two-hex directories, beside index and snapshot files
        const packs = Array.from({ length: 300 }, (_, i) => `${((i * 37) % 256).toString(16).padStart(2, '0')}${i.toString(16).padStart(6, '0')}`);
        for (let i = 0; i < packs.length; i += 25) await Promise.all(packs.slice(i, i + 25).map((n, j) => b.save({ type: 'pack', name: n }, Buffer.alloc((i + j) % 17))));
        await Promise.all(['i1', 'i2', 'i3'].map((n) => b.save({ type: 'index', name: n }, Buffer.from(n))));
        await b.save({ type: 'snapshot', name: 's1' }, Buffer.from('s'));
        expect(await names(b, 'pack')).toEqual(packs.map((n, i) => `${n}:${i % 17}`).sort());
        expect(await names(b, 'index')).toEqual(['i1:2', 'i2:2', 'i3:2']);
        expect(await names(b, 'snapshot')).toEqual(['s1:1']);
      }),
    );

    it(
      'an aborted signal stops every operation before it starts: ABORTED, nothing written or removed',
      withBackend(async (b) => {
        const h = { type: 'snapshot' as const, name: 'keep1' };
        await b.save(h, Buffer.from('kept'));
        const ac = new AbortController();
        ac.abort();
        const o = { signal: ac.signal };
        const fresh = { type: 'snapshot' as const, name: 'new1' };
        expect(await code(b.save(fresh, Buffer.from('x'), o))).toBe('ABORTED');
        expect(await code(b.load(h, undefined, o))).toBe('ABORTED');
        expect(await code(b.load(h, { offset: 1, length: 2 }, o))).toBe('ABORTED');
        if (b.loadInto) expect(await code(b.loadInto(h, { offset: 0, length: 2 }, new Uint8Array(2), o))).toBe('ABORTED');
        expect(await code(b.stat(h, o))).toBe('ABORTED');
        expect(await code(b.exists(h, o))).toBe('ABORTED');
        expect(await code(b.remove(h, o))).toBe('ABORTED');
        expect(await code(names2(b, 'snapshot', o))).toBe('ABORTED');
        await expectAbsent(b, fresh);
        expect(Buffer.from(await b.load(h)).toString()).toBe('kept');
        // the reason of a signal that carries a StowageError (a lost lock) is the error
        const lost = new AbortController();
        lost.abort(new StowageError('LOCKED', 'the lock was lost'));
        expect(await code(b.save(fresh, Buffer.from('x'), { signal: lost.signal }))).toBe('LOCKED');
        await expectAbsent(b, fresh);
      }),
    );

    it(
      'a signal aborted during a listing ends it with ABORTED before the next entry',
      withBackend(async (b) => {
        await Promise.all(['l1', 'l2', 'l3', 'l4'].map((n) => b.save({ type: 'index', name: n }, Buffer.from(n))));
        const ac = new AbortController();
        const seen: string[] = [];
        const err = await (async () => {
          for await (const f of b.list('index', { signal: ac.signal })) {
            seen.push(f.name);
            ac.abort();
          }
        })().catch((e: unknown) => e);
        expect(isStowageError(err, 'ABORTED')).toBe(true);
        expect(seen.length).toBe(1);
      }),
    );

    it(
      'a load aborted in flight either returns every byte or fails with ABORTED',
      withBackend(async (b) => {
        const data = pattern(4 << 20, 3);
        await b.save({ type: 'pack', name: 'aa0001' }, data);
        for (const delay of [0, 1, 5]) {
          const ac = new AbortController();
          setTimeout(() => ac.abort(), delay);
          const whole = b.load({ type: 'pack', name: 'aa0001' }, undefined, { signal: ac.signal }).then(
            (d) => Buffer.from(d).equals(data),
            (e: unknown) => (isStowageError(e, 'ABORTED') ? 'ABORTED' : e),
          );
          const ranged = b.load({ type: 'pack', name: 'aa0001' }, { offset: 1000, length: 3 << 20 }, { signal: ac.signal }).then(
            (d) => Buffer.from(d).equals(data.subarray(1000, 1000 + (3 << 20))),
            (e: unknown) => (isStowageError(e, 'ABORTED') ? 'ABORTED' : e),
          );
          for (const r of await Promise.all([whole, ranged])) expect([true, 'ABORTED']).toContain(r);
        }
      }),
    );

    it(
      'a torn write: a save stopped midway leaves no visible file, and saving again works',
      withBackend(async (b) => {
        const h = { type: 'pack' as const, name: 'bb0002' };
        const data = pattern(6 << 20, 5);
        const ac = new AbortController();
        const err = await b.saveParts!(h, partsAbortingAt(data, 6, 3, ac), { signal: ac.signal }).catch((e: unknown) => e);
        expect(isStowageError(err, 'ABORTED')).toBe(true);
        await expectAbsent(b, h);
        await b.save(h, data);
        expect(Buffer.from(await b.load(h)).equals(data)).toBe(true);
        // an overwrite stopped midway leaves the old version whole
        const lock = { type: 'lock' as const, name: 'l0002' };
        await b.save(lock, Buffer.from('old lock'));
        const ac2 = new AbortController();
        expect(await code(b.saveParts!(lock, partsAbortingAt(pattern(64 << 10, 9), 4, 2, ac2), { signal: ac2.signal, overwrite: true }))).toBe('ABORTED');
        expect(Buffer.from(await b.load(lock)).toString()).toBe('old lock');
      }),
    );

    it(
      'concurrent saves, loads and listings: every file whole, listings show only whole files',
      withBackend(async (b) => {
        const files = Array.from({ length: 40 }, (_, i) => ({ h: { type: 'index' as const, name: `c${i.toString().padStart(3, '0')}` }, data: pattern(1000 + i * 997, i) }));
        const listings: string[][] = [];
        const listing = (async () => {
          for (let i = 0; i < 5; i++) listings.push(await names(b, 'index'));
        })();
        await Promise.all([...files.map((f) => b.save(f.h, f.data)), listing]);
        const sizes = new Map(files.map((f) => [f.h.name, f.data.length]));
        for (const l of listings) for (const e of l) expect(e).toBe(`${e.slice(0, e.indexOf(':'))}:${sizes.get(e.slice(0, e.indexOf(':')))}`);
        const loaded = await Promise.all(files.flatMap((f) => [b.load(f.h), b.load(f.h, { offset: 100, length: 500 })]));
        files.forEach((f, i) => {
          expect(Buffer.from(loaded[2 * i]!).equals(f.data)).toBe(true);
          expect(Buffer.from(loaded[2 * i + 1]!).equals(f.data.subarray(100, 600))).toBe(true);
        });
        expect(await names(b, 'index')).toEqual(files.map((f) => `${f.h.name}:${f.data.length}`));
        // the same name saved by many at once (names are content hashes: the same bytes): the file is whole
        const same = { type: 'pack' as const, name: 'cc0003' };
        const bytes = pattern(200_000, 11);
        const results = await Promise.all(Array.from({ length: 8 }, () => code(b.save(same, bytes))));
        expect(results.every((r) => r === 'ok' || r === 'ALREADY_EXISTS')).toBe(true);
        expect(results).toContain('ok');
        expect(Buffer.from(await b.load(same)).equals(bytes)).toBe(true);
      }),
    );

    it(
      'ranges at the end of a file read exactly; past the end they are CORRUPT naming the file',
      withBackend(async (b) => {
        const h = { type: 'pack' as const, name: 'dd0004' };
        const data = pattern(1000, 2);
        await b.save(h, data);
        expect(Buffer.from(await b.load(h, { offset: 997, length: 3 })).equals(data.subarray(997))).toBe(true);
        expect(Buffer.from(await b.load(h, { offset: 0, length: 1000 })).equals(data)).toBe(true);
        expect((await b.load(h, { offset: 1000, length: 0 })).length).toBe(0);
        if (b.loadInto) {
          const t = new Uint8Array(10).fill(0xee);
          await b.loadInto(h, { offset: 995, length: 5 }, t.subarray(2, 7));
          expect(Buffer.from(t.subarray(2, 7)).equals(data.subarray(995))).toBe(true);
          expect([t[1], t[7]]).toEqual([0xee, 0xee]);
        }
        for (const r of [
          { offset: 998, length: 3 },
          { offset: 1000, length: 1 },
          { offset: 5000, length: 10 },
          { offset: 1001, length: 0 },
        ]) {
          const err = await b.load(h, r).catch((e: unknown) => e);
          expect(isStowageError(err, 'CORRUPT'), JSON.stringify(r)).toBe(true);
          expect((err as Error).message).toContain(pathOf(h));
          if (b.loadInto) expect(await code(b.loadInto(h, r, new Uint8Array(r.length)))).toBe('CORRUPT');
        }
        // a range of a missing file is NOT_FOUND, also an empty one; a malformed range is a RangeError
        expect(await code(b.load({ type: 'pack', name: 'dd0005' }, { offset: 0, length: 1 }))).toBe('NOT_FOUND');
        expect(await code(b.load({ type: 'pack', name: 'dd0005' }, { offset: 0, length: 0 }))).toBe('NOT_FOUND');
        await expect(b.load(h, { offset: -1, length: 2 })).rejects.toThrow(RangeError);
        await expect(b.load(h, { offset: 0, length: 1.5 })).rejects.toThrow(RangeError);
      }),
    );

    it(
      'lock overwrite: replaces a lock whole, readers see the old or the new bytes, never a gap',
      withBackend(async (b) => {
        const h = { type: 'lock' as const, name: 'l0005' };
        const versions = Array.from({ length: 6 }, (_, i) => Buffer.from(JSON.stringify({ v: i, pad: 'x'.repeat(i * 100) })));
        await b.save(h, versions[0]!, { overwrite: true }); // overwrite also creates
        const seen = new Set<string>();
        let writing = true;
        const reader = (async () => {
          while (writing) seen.add(Buffer.from(await b.load(h)).toString());
        })();
        for (const v of versions.slice(1)) await b.save(h, v, { overwrite: true });
        writing = false;
        await reader;
        const valid = new Set(versions.map((v) => v.toString()));
        for (const s of seen) expect(valid.has(s)).toBe(true);
        expect(Buffer.from(await b.load(h)).equals(versions[5]!)).toBe(true);
        expect((await b.stat(h)).size).toBe(versions[5]!.length);
        // without overwrite a lock is as immutable as any file
        expect(await code(b.save(h, Buffer.from('other')))).toBe('ALREADY_EXISTS');
        expect(await names(b, 'lock')).toEqual([`l0005:${versions[5]!.length}`]);
      }),
    );
  });
}
