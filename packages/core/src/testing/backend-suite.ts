/**
 * The conformance suite every Backend passes (restic's backend/test, kopia's
 * VerifyStorage): call `backendSuite(name, factory)` from a *.test.ts file.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, FileType } from '../backend/backend.js';
import { isStowageError } from '../errors.js';

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
  const out: string[] = [];
  for await (const f of b.list(t)) out.push(`${f.name}:${f.size}`);
  return out.sort();
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

    it('saves, stats and loads whole files', withBackend(async (b) => {
      const data = Buffer.from('hello, stowage');
      await b.save({ type: 'snapshot', name: 'abc123' }, data);
      expect(await b.exists({ type: 'snapshot', name: 'abc123' })).toBe(true);
      expect((await b.stat({ type: 'snapshot', name: 'abc123' })).size).toBe(data.length);
      expect(Buffer.from(await b.load({ type: 'snapshot', name: 'abc123' })).equals(data)).toBe(true);
    }));

    it('loads ranges; a range past the end is CORRUPT, never a short result', withBackend(async (b) => {
      const data = Buffer.from('0123456789abcdef');
      await b.save({ type: 'pack', name: 'ab00ff' }, data);
      expect(Buffer.from(await b.load({ type: 'pack', name: 'ab00ff' }, { offset: 4, length: 6 })).toString()).toBe('456789');
      expect(Buffer.from(await b.load({ type: 'pack', name: 'ab00ff' }, { offset: 0, length: 16 })).equals(data)).toBe(true);
      expect(await code(b.load({ type: 'pack', name: 'ab00ff' }, { offset: 10, length: 10 }))).toBe('CORRUPT');
    }));

    it('files are immutable: a second save is ALREADY_EXISTS unless overwrite', withBackend(async (b) => {
      const h = { type: 'index' as const, name: 'i1' };
      await b.save(h, Buffer.from('one'));
      expect(await code(b.save(h, Buffer.from('two')))).toBe('ALREADY_EXISTS');
      expect(Buffer.from(await b.load(h)).toString()).toBe('one');
      await b.save({ type: 'lock', name: 'l1' }, Buffer.from('a'));
      await b.save({ type: 'lock', name: 'l1' }, Buffer.from('bb'), { overwrite: true });
      expect(Buffer.from(await b.load({ type: 'lock', name: 'l1' })).toString()).toBe('bb');
    }));

    it('missing files are NOT_FOUND for load, stat and remove', withBackend(async (b) => {
      const h = { type: 'snapshot' as const, name: 'nope' };
      expect(await code(b.load(h))).toBe('NOT_FOUND');
      expect(await code(b.stat(h))).toBe('NOT_FOUND');
      expect(await code(b.remove(h))).toBe('NOT_FOUND');
      expect(await b.exists(h)).toBe(false);
    }));

    it('lists each type separately, with sizes, and removes', withBackend(async (b) => {
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
    }));

    it('rejects names that could escape the repository', withBackend(async (b) => {
      for (const name of ['../x', 'a/b', '.hidden', '']) {
        await expect(b.save({ type: 'snapshot', name }, Buffer.from('x'))).rejects.toThrow(TypeError);
      }
    }));
  });
}
