import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { agentRequest, keyAgentCache, type KekCache } from './key-agent.js';
import { startKeyAgent } from './key-agent-server.js';
import { TEST_KDF } from './keys.js';
import { Repository } from './repository.js';

const dir = mkdtempSync(join(tmpdir(), 'stowage-agent-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sockPath = (): string => join(dir, `a${n++}.sock`);

/** A KekCache that counts its calls. */
function counting(cache: KekCache): KekCache & { gets: number; puts: number } {
  const c = {
    gets: 0,
    puts: 0,
    get: (names: readonly string[]) => (c.gets++, cache.get(names)),
    put: (name: string, kek: Buffer) => (c.puts++, cache.put(name, kek)),
  };
  return c;
}

const noPassword = (): never => {
  throw new Error('the password was asked for');
};

describe('key agent', () => {
  it('listens on a 0600 socket, keeps the KEK from init, and opens the repository without the password', async () => {
    const agent = await startKeyAgent({ socketPath: sockPath(), ttlMs: 60_000 });
    try {
      expect(statSync(agent.socketPath).mode & 0o777).toBe(0o600);
      const backend = new MemoryBackend();
      const cache = counting(keyAgentCache(agent.socketPath));
      const repo = await Repository.init(backend, { cacheRoot: dir, kdf: TEST_KDF, password: 'pw', kekCache: cache });
      const keyName = repo.keyName!;
      await repo.close();
      expect(cache.puts).toBe(1);
      const listed = await agentRequest(agent.socketPath, { op: 'list' });
      expect((listed.entries as { name: string }[]).map((e) => e.name)).toEqual([keyName]);

      const again = await Repository.open(backend, { cacheRoot: dir, password: noPassword, kekCache: cache });
      expect(again.keyName).toBe(keyName);
      expect(again.encrypted).toBe(true);
      await again.close();
      // without the agent the password is needed as before
      await expect(Repository.open(backend, { cacheRoot: dir })).rejects.toSatisfy((e) => isStowageError(e, 'PASSWORD_REQUIRED'));
    } finally {
      await agent.close();
    }
    expect(existsSync(agent.socketPath)).toBe(false);
  });

  it('a wrong KEK from the agent falls back to the password, which then replaces it; a wrong password stays WRONG_PASSWORD', async () => {
    const agent = await startKeyAgent({ socketPath: sockPath(), ttlMs: 60_000 });
    try {
      const backend = new MemoryBackend();
      const repo = await Repository.init(backend, { cacheRoot: dir, kdf: TEST_KDF, password: 'pw' });
      const keyName = repo.keyName!;
      await repo.close();
      const cache = counting(keyAgentCache(agent.socketPath));
      // nothing cached: a wrong password is refused and nothing is put
      await expect(Repository.open(backend, { cacheRoot: dir, password: 'nope', kekCache: cache })).rejects.toSatisfy((e) => isStowageError(e, 'WRONG_PASSWORD'));
      expect(cache.puts).toBe(0);
      // a poisoned entry does not open the key file: the password path runs and puts the right KEK
      await agentRequest(agent.socketPath, { op: 'put', name: keyName, kek: randomBytes(32).toString('base64') });
      const r = await Repository.open(backend, { cacheRoot: dir, password: 'pw', kekCache: cache });
      await r.close();
      expect(cache.puts).toBe(1);
      const r2 = await Repository.open(backend, { cacheRoot: dir, password: noPassword, kekCache: cache });
      expect(r2.keyName).toBe(keyName);
      await r2.close();
    } finally {
      await agent.close();
    }
  });

  it('forgets keys after the TTL, on clear, and closes on stop; an unreachable agent is skipped', async () => {
    const agent = await startKeyAgent({ socketPath: sockPath(), ttlMs: 1000 });
    const name = 'a'.repeat(64);
    const kek = randomBytes(32);
    const cache = keyAgentCache(agent.socketPath);
    await cache.put(name, kek);
    expect((await cache.get([name]))?.kek.equals(kek)).toBe(true);
    expect(await cache.get(['b'.repeat(64)])).toBeUndefined();
    await new Promise((r) => setTimeout(r, 600));
    expect((await cache.get([name]))?.kek.equals(kek)).toBe(true); // a request keeps the agent up, not the key
    await new Promise((r) => setTimeout(r, 600));
    expect(await cache.get([name])).toBeUndefined();
    await cache.put(name, kek);
    expect(await agentRequest(agent.socketPath, { op: 'clear' })).toEqual({ ok: true, removed: 1 });
    expect(await cache.get([name])).toBeUndefined();
    // bad requests are answered with an error and store nothing
    expect((await agentRequest(agent.socketPath, { op: 'put', name: 'x', kek: 'y' })).error).toBeTruthy();
    expect(await agentRequest(agent.socketPath, { op: 'stop' })).toEqual({ ok: true });
    await agent.closed;
    expect(existsSync(agent.socketPath)).toBe(false);
    const errors: Error[] = [];
    expect(await keyAgentCache(agent.socketPath, (e) => errors.push(e)).get([name])).toBeUndefined();
    expect(errors.length).toBe(1);
  });

  it('refuses a second agent on a live socket, replaces a stale one, and refuses a path that is not a socket', async () => {
    const path = sockPath();
    const a = await startKeyAgent({ socketPath: path, ttlMs: 60_000 });
    await expect(startKeyAgent({ socketPath: path, ttlMs: 60_000 })).rejects.toSatisfy((e) => isStowageError(e, 'INVALID_ARGUMENT'));
    await a.close();
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await expect(startKeyAgent({ socketPath: file, ttlMs: 60_000 })).rejects.toSatisfy((e) => isStowageError(e, 'INVALID_ARGUMENT'));
    const b = await startKeyAgent({ socketPath: path, ttlMs: 60_000 });
    await b.close();
  });

  it('closes by itself when it has held nothing and heard nothing for the TTL', async () => {
    const agent = await startKeyAgent({ socketPath: sockPath(), ttlMs: 200 });
    await agent.closed;
    expect(existsSync(agent.socketPath)).toBe(false);
  });
});
