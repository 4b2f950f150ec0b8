import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../backend/local.js';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { restoreToStream } from '../restore/restore.js';
import { readChunkLists } from '../object/chunk-list.js';
import { snapshotStream } from '../snapshot/create.js';
import { listSnapshots } from '../snapshot/find.js';
import { prefetchUnlock } from '../prefetch.js';
import { deriveKek, prefetchKek } from './kek.js';
import { DEFAULT_KDF, TEST_KDF, chunkerSeedFor } from './keys.js';
import { Repository } from './repository.js';

const cacheRoot = mkdtempSync(join(tmpdir(), 'stowage-keys-test-'));
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

const opts = { cacheRoot, kdf: TEST_KDF };

async function init(password = 'pw', extra = {}): Promise<{ backend: MemoryBackend; repo: Repository }> {
  const backend = new MemoryBackend();
  const repo = await Repository.init(backend, { ...opts, password, ...extra });
  return { backend, repo };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isStowageError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

function keyFiles(b: MemoryBackend): string[] {
  return [...b.files.keys()].filter((k) => k.startsWith('keys/'));
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function restore(repo: Repository, id: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  await restoreToStream(repo, id, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(Buffer.from(c)), cb()) }), { workers: 0 });
  return Buffer.concat(parts);
}

describe('encrypted repositories: keys', () => {
  it('init with a password: encrypted config, one key file, no secrets in the config', async () => {
    const { backend, repo } = await init('pw');
    expect(repo.encrypted).toBe(true);
    expect(repo.config.encryption).toEqual({ algorithm: 'aes-256-gcm', kdf: 'scrypt' });
    expect(repo.config.hash).toBe('blake3-keyed');
    expect(repo.config.chunker.seed).toBe('0');
    expect(keyFiles(backend)).toEqual([`keys/${repo.keyName}`]);
    expect(repo.codecSpec.idKey).toHaveLength(32);
    expect(repo.cipher.name).toBe('aes-256-gcm');
    const config = Buffer.from(backend.files.get('config')!).toString();
    expect(Object.keys(JSON.parse(config)).sort()).toEqual(['chunker', 'compression', 'encryption', 'hash', 'id', 'packSize', 'version']);
    for (const secret of [Buffer.from(repo.codecSpec.idKey!), Buffer.from((repo.cipherSpec as { key: Uint8Array }).key)]) {
      for (const f of backend.files.values()) {
        expect(Buffer.from(f).includes(secret)).toBe(false);
        expect(Buffer.from(f).toString('latin1')).not.toContain(secret.toString('base64'));
        expect(Buffer.from(f).toString('latin1')).not.toContain(secret.toString('hex'));
      }
    }
    const keyFile = Buffer.from(backend.files.get(`keys/${repo.keyName}`)!);
    expect(blake3(keyFile).toString('hex')).toBe(repo.keyName);
    expect(JSON.parse(keyFile.toString()).kdf).toMatchObject({ algorithm: 'scrypt', N: 1024, r: 8, p: 1 });
    await repo.close();
  });

  it('without a password a repository is plaintext (the CLI asks for --insecure-no-encryption)', async () => {
    const repo = await Repository.init(new MemoryBackend(), { cacheRoot });
    expect(repo.encrypted).toBe(false);
    expect(repo.config.encryption).toEqual({ algorithm: 'none' });
    expect(repo.config.hash).toBe('blake3');
    expect(repo.codecSpec.idKey).toBeUndefined();
    await expect(code(repo.addKey('x'))).resolves.toMatch(/^INVALID_ARGUMENT: .*not encrypted/);
    await expect(code(Repository.init(new MemoryBackend(), { cacheRoot, encryption: 'aes-256-gcm' }))).resolves.toMatch(/^PASSWORD_REQUIRED/);
    await expect(code(Repository.init(new MemoryBackend(), { cacheRoot, password: '' }))).resolves.toMatch(/^INVALID_ARGUMENT: .*empty password/);
  });

  it('opens with the password; WRONG_PASSWORD with another; PASSWORD_REQUIRED without; the getter is asked only when encrypted', async () => {
    const { backend } = await init('right');
    const repo = await Repository.open(backend, { cacheRoot, password: () => 'right' });
    expect(repo.encrypted).toBe(true);
    await expect(code(Repository.open(backend, { cacheRoot, password: 'wrong' }))).resolves.toMatch(/^WRONG_PASSWORD: wrong password/);
    await expect(code(Repository.open(backend, { cacheRoot }))).resolves.toMatch(/^PASSWORD_REQUIRED/);
    await expect(code(Repository.open(backend, { cacheRoot, password: async () => undefined }))).resolves.toMatch(/^PASSWORD_REQUIRED/);
    const plain = new MemoryBackend();
    await Repository.init(plain, { cacheRoot });
    let asked = 0;
    await Repository.open(plain, { cacheRoot, password: () => (asked++, 'x') });
    expect(asked).toBe(0);
  });

  it('a wrong password answers fast with the default (strong) KDF', async () => {
    const { backend } = await init('right', { kdf: DEFAULT_KDF });
    // 1.5 s on an idle machine (one derivation takes about 0.2 s); under load, as long as 4 derivations timed beside it
    const t1 = performance.now();
    await deriveKek('other', randomBytes(16), DEFAULT_KDF);
    const one = performance.now() - t1;
    const t0 = performance.now();
    await expect(code(Repository.open(backend, { cacheRoot, password: 'wrong' }))).resolves.toMatch(/^WRONG_PASSWORD/);
    expect(performance.now() - t0).toBeLessThan(Math.max(1500, 4 * one));
  });

  it('a flipped bit anywhere in a key file is CORRUPT naming it, for right and wrong passwords', async () => {
    const { backend, repo } = await init('pw');
    const path = `keys/${repo.keyName}`;
    const good = backend.files.get(path)!;
    for (const at of [0, 10, Math.floor(good.length / 2), good.length - 3]) {
      const bad = Uint8Array.from(good);
      bad[at]! ^= 0x04;
      backend.files.set(path, bad);
      for (const pw of ['pw', 'nope']) {
        await expect(code(Repository.open(backend, { cacheRoot, password: pw }))).resolves.toMatch(new RegExp(`^CORRUPT: key file ${repo.keyName}: content does not match its name`));
      }
    }
    backend.files.set(path, good);
  });

  it('a key file rewritten under its new hash (sealed data changed): the AEAD refuses it', async () => {
    const { backend, repo } = await init('pw');
    const path = `keys/${repo.keyName}`;
    const j = JSON.parse(Buffer.from(backend.files.get(path)!).toString());
    const data = Buffer.from(j.data, 'base64');
    data[20]! ^= 1;
    j.data = data.toString('base64');
    const bytes = Buffer.from(JSON.stringify(j));
    backend.files.delete(path);
    backend.files.set(`keys/${blake3(bytes).toString('hex')}`, bytes);
    // an intact-looking key that no password opens: indistinguishable from another password's key
    await expect(code(Repository.open(backend, { cacheRoot, password: 'pw' }))).resolves.toMatch(/^WRONG_PASSWORD/);
  });

  it('a changed config is CORRUPT (the keys authenticate it); a downgrade to "none" is refused', async () => {
    const { backend } = await init('pw');
    const config = Buffer.from(backend.files.get('config')!).toString();
    backend.files.set('config', Buffer.from(config.replace('"level": 3', '"level": 19')));
    await expect(code(Repository.open(backend, { cacheRoot, password: 'pw' }))).resolves.toMatch(/^CORRUPT: the repository config does not match key file/);
    const none = JSON.parse(config);
    none.encryption = { algorithm: 'none' };
    none.hash = 'blake3';
    backend.files.set('config', Buffer.from(JSON.stringify(none)));
    await expect(code(Repository.open(backend, { cacheRoot, password: 'pw' }))).resolves.toMatch(/^CORRUPT: .*says "no encryption", but the repository has key files/);
  });

  it('rotation: add a key, remove the old one; the old password opens nothing', async () => {
    const { backend, repo } = await init('old');
    const oldKey = repo.keyName!;
    const added = await repo.addKey('new', { kdf: TEST_KDF, hostname: 'h2', username: 'u2' });
    expect(added).toMatchObject({ hostname: 'h2', username: 'u2' });
    expect(keyFiles(backend)).toHaveLength(2);
    // the key in use is not removed
    await expect(code(repo.removeKey(oldKey.slice(0, 8)))).resolves.toMatch(/^INVALID_ARGUMENT: .*key in use/);
    const viaNew = await Repository.open(backend, { cacheRoot, password: 'new' });
    expect(viaNew.keyName).toBe(added.name);
    expect(viaNew.codecSpec.idKey).toEqual(repo.codecSpec.idKey);
    await expect(code(viaNew.removeKey('zz'))).resolves.toMatch(/^INVALID_ARGUMENT/);
    await expect(code(viaNew.removeKey('ffff'))).resolves.toMatch(/^(NOT_FOUND|AMBIGUOUS_ID)/);
    expect(await viaNew.removeKey(oldKey.slice(0, 6))).toBe(oldKey);
    expect(keyFiles(backend)).toEqual([`keys/${added.name}`]);
    await expect(code(Repository.open(backend, { cacheRoot, password: 'old' }))).resolves.toMatch(/^WRONG_PASSWORD/);
    // the last key is never removed
    await expect(code(viaNew.removeKey(added.name))).resolves.toMatch(/^INVALID_ARGUMENT/);
    await viaNew.close();
    await repo.close();
  });

  it('changePassword replaces the key in use', async () => {
    const { backend, repo } = await init('one');
    const old = repo.keyName!;
    const k = await repo.changePassword('two', { kdf: TEST_KDF });
    expect(repo.keyName).toBe(k.name);
    expect(keyFiles(backend)).toEqual([`keys/${k.name}`]);
    expect(old).not.toBe(k.name);
    await expect(code(Repository.open(backend, { cacheRoot, password: 'one' }))).resolves.toMatch(/^WRONG_PASSWORD/);
    expect((await Repository.open(backend, { cacheRoot, password: 'two' })).keyName).toBe(k.name);
  });

  it('several keys: each password opens its own; a hint goes first; a damaged key does not hide an intact one', async () => {
    const { backend, repo } = await init('a');
    const b = await repo.addKey('b', { kdf: TEST_KDF });
    const c = await repo.addKey('c', { kdf: TEST_KDF });
    expect((await Repository.open(backend, { cacheRoot, password: 'c' })).keyName).toBe(c.name);
    expect((await Repository.open(backend, { cacheRoot, password: 'b', keyHint: b.name.slice(0, 8) })).keyName).toBe(b.name);
    expect((await Repository.open(backend, { cacheRoot, password: 'b', keyHint: c.name.slice(0, 8) })).keyName).toBe(b.name);
    const path = `keys/${repo.keyName}`;
    const bad = Uint8Array.from(backend.files.get(path)!);
    bad[5]! ^= 1;
    backend.files.set(path, bad);
    expect((await Repository.open(backend, { cacheRoot, password: 'c' })).keyName).toBe(c.name);
    await expect(code(Repository.open(backend, { cacheRoot, password: 'a' }))).resolves.toMatch(
      new RegExp(`^CORRUPT: key file ${repo.keyName}: content does not match its name.*none of the other 2 keys`),
    );
    const list = await repo.listKeys();
    expect(list.filter((k) => k.error !== undefined).map((k) => k.name)).toEqual([repo.keyName]);
  });

  it('ids are keyed and chunker seeds differ: the same content gets other ids and cuts in another repository', async () => {
    const one = (await init('same')).repo;
    const two = (await init('same')).repo;
    const data = randomBytes(4 << 20);
    expect(one.codec.id(data).equals(two.codec.id(data))).toBe(false);
    expect(one.codec.id(data).equals(blake3(data))).toBe(false);
    expect(chunkerSeedFor({ encrypt: Buffer.alloc(32), id: Buffer.alloc(32, 1) })).toBe(chunkerSeedFor({ encrypt: Buffer.alloc(32, 7), id: Buffer.alloc(32, 1) }));
    const cuts = (r: Repository) => Array.from(r.cutter().cuts(data, true).lengths);
    const a = cuts(one);
    const b = cuts(two);
    expect(a.reduce((x, y) => x + y, 0)).toBe(data.length);
    expect(a).not.toEqual(b);
    expect(one.cutter().params.seed).not.toBe(0n);
  });

  it('snapshot and restore through an encrypted repository, reopened with the password', async () => {
    const { backend, repo } = await init('pw', { chunkAvg: 16384, packSize: 64 * 1024 });
    const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(200_000, 'MARKER-'), randomBytes(100_000)]);
    const snap = await snapshotStream(repo, once(data), { kind: 'stdin', path: '-' }, { workers: 0 });
    await repo.close();
    for (const [k, v] of backend.files) expect(Buffer.from(v).includes(Buffer.from('MARKER-MARKER')), k).toBe(false);
    const again = await Repository.open(backend, { cacheRoot, password: 'pw' });
    expect((await listSnapshots(again)).map((s) => s.id)).toEqual([snap.id]);
    expect((await restore(again, snap.id)).equals(data)).toBe(true);
    for await (const list of readChunkLists(again, snap.content.lists)) {
      for (const r of list) expect(r.id.equals(blake3(data.subarray(0, r.length)))).toBe(false);
    }
    await again.close();
  });

  it('a prefetched key-encryption key is used once, and only for the same password, salt and parameters', async () => {
    const salt = randomBytes(32);
    prefetchKek('pw', salt, TEST_KDF);
    const a = await deriveKek('pw', salt, TEST_KDF);
    expect(a.equals(await deriveKek('pw', salt, TEST_KDF))).toBe(true);
    prefetchKek('other', salt, TEST_KDF);
    expect((await deriveKek('pw', salt, TEST_KDF)).equals(a)).toBe(true);
    prefetchKek('pw', salt, { ...TEST_KDF, N: 2048 });
    expect((await deriveKek('pw', salt, TEST_KDF)).equals(a)).toBe(true);
  });

  it('prefetchUnlock (a wrong guess, a right one, a plaintext or missing repository) never changes what open decides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stowage-prefetch-'));
    try {
      const backend = new LocalBackend(join(dir, 'repo'));
      const repo = await Repository.init(backend, { ...opts, password: 'pw' });
      prefetchUnlock(join(dir, 'repo'), 'guess');
      expect((await Repository.open(backend, { cacheRoot, password: 'pw' })).keyName).toBe(repo.keyName);
      prefetchUnlock(join(dir, 'repo'), 'pw');
      await new Promise((r) => setTimeout(r, 50));
      expect((await Repository.open(backend, { cacheRoot, password: 'pw' })).keyName).toBe(repo.keyName);
      prefetchUnlock(join(dir, 'repo'), 'pw');
      await expect(code(Repository.open(backend, { cacheRoot, password: 'nope' }))).resolves.toMatch(/^WRONG_PASSWORD/);
      prefetchUnlock(join(dir, 'missing'), 'pw');
      const plain = new LocalBackend(join(dir, 'plain'));
      await Repository.init(plain, { cacheRoot });
      prefetchUnlock(join(dir, 'plain'), 'pw');
      expect((await Repository.open(plain, { cacheRoot })).encrypted).toBe(false);
      await repo.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
