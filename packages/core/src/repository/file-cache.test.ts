import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Handle } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { FileCache } from './file-cache.js';
import { TEST_KDF } from './keys.js';
import { Repository } from './repository.js';

const root = mkdtempSync(join(tmpdir(), 'stowage-file-cache-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A memory backend named like an S3 location (file-cache.ts keeps nothing for local ones), counting the loads of each file type. */
function remote(): { backend: Backend; loads: Record<string, number> } {
  const mem = new MemoryBackend();
  const loads: Record<string, number> = {};
  const backend = Object.assign(Object.create(mem) as Backend, {
    info: { ...mem.info, location: `s3:http://127.0.0.1:9/${mem.info.location.slice(7)}` },
    load: (h: Handle, ...rest: unknown[]) => {
      loads[h.type] = (loads[h.type] ?? 0) + 1;
      return (mem.load as (...a: unknown[]) => Promise<Uint8Array>)(h, ...rest);
    },
  });
  return { backend, loads };
}

describe('FileCache', () => {
  it('gives back what was put under its hash name; a damaged copy is removed and not given; keepOnly drops the names not listed', () => {
    const cache = new FileCache(join(root, 'unit', 'snapshots'));
    const a = Buffer.from('file a');
    const b = Buffer.from('file b');
    const [na, nb] = [blake3Hex(a), blake3Hex(b)];
    expect(cache.get(na)).toBeUndefined();
    cache.put(na, a);
    cache.put(nb, b);
    expect(cache.get(na)).toEqual(a);
    writeFileSync(join(cache.dir, nb), 'changed');
    expect(cache.get(nb)).toBeUndefined();
    expect(existsSync(join(cache.dir, nb))).toBe(false);
    cache.put('../escape', a); // not a file name of the repository: ignored
    expect(readdirSync(cache.dir)).toEqual([na]);
    cache.keepOnly([nb]);
    expect(readdirSync(cache.dir)).toEqual([]);
    new FileCache(join(root, 'missing')).keepOnly([]); // no directory yet: nothing to do
  });
});

describe('Repository: snapshot files of a remote repository in the local cache', () => {
  it('a saved or loaded snapshot file is loaded again without a request, fresh reads the stored file, and a forgotten one leaves the cache at the next listing', async () => {
    const { backend, loads } = remote();
    const cacheRoot = join(root, 'repo');
    const repo = await Repository.init(backend, { cacheRoot, password: 'pw', kdf: TEST_KDF });
    const saved = await repo.saveFile('snapshot', Buffer.from('{"a":1}'));
    expect((await repo.loadFile('snapshot', saved)).toString()).toBe('{"a":1}');
    expect(loads.snapshot ?? 0).toBe(0);
    // another process's snapshot: loaded once, then from the cache (by a new Repository too)
    const other = await Repository.open(backend, { cacheRoot: join(root, 'other'), password: 'pw' });
    const theirs = await other.saveFile('snapshot', Buffer.from('{"b":2}'));
    expect((await repo.loadFile('snapshot', theirs)).toString()).toBe('{"b":2}');
    expect(loads.snapshot).toBe(1);
    const again = await Repository.open(backend, { cacheRoot, password: 'pw' });
    expect((await again.loadFile('snapshot', theirs)).toString()).toBe('{"b":2}');
    expect(loads.snapshot).toBe(1);
    // fresh: the stored file, whatever the cache holds
    expect((await again.loadFile('snapshot', theirs, { fresh: true })).toString()).toBe('{"b":2}');
    expect(loads.snapshot).toBe(2);
    // other file types are never cached
    const idx = await repo.saveFile('index', Buffer.from('x'));
    await repo.loadFile('index', idx);
    await repo.loadFile('index', idx);
    expect(loads.index).toBe(2);
    // a forgotten snapshot: the next listing drops its copy, and loading it is NOT_FOUND as before
    const dir = join(repo.cacheDir, 'snapshots');
    expect(readdirSync(dir).sort()).toEqual([saved, theirs].sort());
    await backend.remove({ type: 'snapshot', name: theirs });
    expect(await again.listNames('snapshot')).toEqual([saved]);
    expect(readdirSync(dir)).toEqual([saved]);
    await expect(again.loadFile('snapshot', theirs)).rejects.toSatisfy((e: unknown) => isStowageError(e, 'NOT_FOUND'));
    await Promise.all([repo.close(), other.close(), again.close()]);
  });

  it('keeps nothing for a local repository', async () => {
    const backend = new MemoryBackend();
    const repo = await Repository.init(backend, { cacheRoot: join(root, 'local'), password: 'pw', kdf: TEST_KDF });
    const name = await repo.saveFile('snapshot', Buffer.from('{}'));
    await repo.loadFile('snapshot', name);
    expect(existsSync(join(repo.cacheDir, 'snapshots'))).toBe(false);
    await repo.close();
  });
});
