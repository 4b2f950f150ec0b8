import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { prefetchUnlockRemote } from '../prefetch.js';
import { kdfHintFile, readKdfHint } from './kdf-hint.js';
import { TEST_KDF } from './keys.js';
import { Repository } from './repository.js';

const cacheRoot = mkdtempSync(join(tmpdir(), 'stowage-kdf-hint-test-'));
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

const LOCATION = 's3:http://127.0.0.1:9/bucket/prefix';
/** A memory backend that names itself like an S3 location (the hint is keyed by backend.info.location). */
function remote(b = new MemoryBackend()): Backend {
  return Object.assign(Object.create(b) as Backend, { info: { ...b.info, location: LOCATION } });
}
const prefetched = () => (globalThis as Record<symbol, Map<string, unknown> | undefined>)[Symbol.for('@stowage/core/kek-prefetch')]?.size ?? 0;

describe('KDF hints for remote repositories', () => {
  it('open over a remote location remembers the public KDF parameters of the key that opened it; a local one remembers nothing', async () => {
    const backend = remote();
    const repo = await Repository.init(backend, { cacheRoot, password: 'pw', kdf: TEST_KDF });
    await Repository.open(backend, { cacheRoot, password: 'pw' });
    const hint = readKdfHint(cacheRoot, LOCATION);
    expect(hint?.name).toBe(repo.keyName);
    expect(hint?.kdf).toEqual(TEST_KDF);
    expect(Buffer.from(hint!.salt, 'base64').length).toBe(32);
    const local = new MemoryBackend();
    await Repository.init(local, { cacheRoot, password: 'pw', kdf: TEST_KDF });
    await Repository.open(local, { cacheRoot, password: 'pw' });
    expect(readdirSync(join(cacheRoot, 'kdf-hints'))).toEqual([kdfHintFile(cacheRoot, LOCATION).split('/').pop()]);
  });

  it('init over a remote location remembers its first key at once, so the first command after init derives while it loads', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stowage-kdf-hint-init-'));
    try {
      const backend = remote();
      const repo = await Repository.init(backend, { cacheRoot: root, password: 'pw', kdf: TEST_KDF });
      const hint = readKdfHint(root, LOCATION);
      expect(hint?.name).toBe(repo.keyName);
      expect(hint?.kdf).toEqual(TEST_KDF);
      const before = prefetched();
      prefetchUnlockRemote(LOCATION, 'pw', { cacheRoot: root });
      expect(prefetched()).toBe(before + 1);
      expect((await Repository.open(backend, { cacheRoot: root, password: 'pw' })).keyName).toBe(repo.keyName);
      expect(prefetched()).toBe(before); // the derivation started from the init's hint was the one open used
      await Repository.init(new MemoryBackend(), { cacheRoot: root, password: 'pw', kdf: TEST_KDF }); // local: no hint
      await Repository.init(remote(), { cacheRoot: root }); // plaintext: no key, no hint (the encrypted one's stays)
      expect(readdirSync(join(root, 'kdf-hints'))).toEqual([kdfHintFile(root, LOCATION).split('/').pop()]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('prefetchUnlockRemote starts the derivation from the hint; open takes it, and a wrong guess changes nothing', async () => {
    const backend = remote();
    const repo = await Repository.init(backend, { cacheRoot, password: 'pw', kdf: TEST_KDF });
    await Repository.open(backend, { cacheRoot, password: 'pw' }); // remembers this key
    const before = prefetched();
    prefetchUnlockRemote(LOCATION, 'pw', { cacheRoot });
    expect(prefetched()).toBe(before + 1);
    expect((await Repository.open(backend, { cacheRoot, password: 'pw' })).keyName).toBe(repo.keyName);
    expect(prefetched()).toBe(before); // taken by open
    prefetchUnlockRemote(LOCATION, 'guess', { cacheRoot });
    await expect(Repository.open(backend, { cacheRoot, password: 'nope' })).rejects.toSatisfy((e: unknown) => isStowageError(e, 'WRONG_PASSWORD'));
    prefetchUnlockRemote(LOCATION, 'pw', { cacheRoot, hint: 'ffffffff' }); // another key asked for: nothing
    prefetchUnlockRemote('s3:http://127.0.0.1:9/other', 'pw', { cacheRoot }); // no hint for that location
    prefetchUnlockRemote('/some/local/path', 'pw', { cacheRoot });
    expect(prefetched()).toBe(before); // the wrong guess was dropped by open (another password); the rest started nothing
    expect(existsSync(kdfHintFile(cacheRoot, 's3:http://127.0.0.1:9/other'))).toBe(false);
  });
});
