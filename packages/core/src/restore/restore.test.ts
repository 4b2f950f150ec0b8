/**
 * Restore plans its windows together on a store with per-request costs (a backend that
 * wants several uploads at once: S3), and window by window elsewhere: the same snapshot
 * restores byte for byte both ways, with fewer pack reads on the former. A file target gets
 * its windows placed for O_DIRECT writes (each at its file offset modulo 4 KiB, in
 * page-aligned memory), both ways.
 */
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BackendInfo } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { Repository } from '../repository/repository.js';
import { snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { stopWarmWorkers, warmCodecWorkers } from '../repository/codec-warm.js';
import { TEST_KDF } from '../repository/keys.js';
import { DirectWriter } from './direct-writer.js';
import { restoreToFile, restoreToStream } from './restore.js';

/** A memory backend that says what an S3 backend says of itself when `remote` is set. */
class SwitchableBackend extends MemoryBackend {
  remote = false;
  constructor() {
    super();
    // MemoryBackend's info is an own field: replace it with one that follows `remote`
    Object.defineProperty(this, 'info', { get: (): BackendInfo => ({ location: 'memory:switchable', connections: 8, ...(this.remote && { uploads: 3 }) }) });
  }
}

describe('restore on a store with per-request costs', () => {
  let cacheRoot: string;
  let repo: Repository;
  let backend: SwitchableBackend;
  let data: Buffer;
  let id: string;

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    backend = new SwitchableBackend();
    ({ repo } = await testRepo(cacheRoot, { backend, packSize: 1 << 20 }));
    // 1,500 small text files (framed together), then the same files in another order: more than 4 MiB, so the restore uses workers and shared memory
    const text = (i: number) => Buffer.from(`file ${i}: ${`line ${i} of some compressible text `.repeat(80 + (i % 50))}`);
    const files = Array.from({ length: 1500 }, (_, i) => ({ name: `f/${i}`, data: text(i) }));
    await snapshotBytes(repo, tarOf(files), 'first', { format: 'tar' });
    data = tarOf(files.map((_, i) => files[(i * 7919) % files.length]!));
    expect(data.length).toBeGreaterThan(4 * 1024 * 1024);
    id = (await snapshotBytes(repo, data, 'second', { format: 'tar' })).id;
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  async function restoreCounting(remote: boolean): Promise<{ bytes: Buffer; reads: number }> {
    backend.remote = remote;
    const spy = vi.spyOn(repo, 'readPackRangeInto');
    try {
      const parts: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          parts.push(Buffer.from(chunk));
          cb();
        },
      });
      const r = await restoreToStream(repo, id, sink, { windowBytes: 64 * 1024 });
      expect(r.sha256).toBeDefined();
      return { bytes: Buffer.concat(parts), reads: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  it('plans windows together there (fewer pack reads), window by window elsewhere; the bytes the same', async () => {
    const local = await restoreCounting(false);
    const remote = await restoreCounting(true);
    expect(local.bytes.equals(data)).toBe(true);
    expect(remote.bytes.equals(data)).toBe(true);
    expect(local.reads).toBeGreaterThan(0);
    expect(remote.reads).toBeLessThan(local.reads / 2); // 33 against 200 when written
  });

  it('a file target gets every shared-memory window placed for O_DIRECT writes (room in front); the file holds the bytes, both ways', async () => {
    const dir = fs.mkdtempSync(`${cacheRoot}/out-`);
    const spy = vi.spyOn(DirectWriter.prototype, 'write');
    try {
      for (const remote of [false, true]) {
        backend.remote = remote;
        spy.mockClear();
        const target = `${dir}/restored-${remote}`;
        const r = await restoreToFile(repo, id, target, { windowBytes: 64 * 1024 });
        expect(r.bytes).toBe(data.length);
        expect(fs.readFileSync(target).equals(data)).toBe(true);
        const rooms = spy.mock.calls.map((c) => c[1]);
        expect(rooms.length).toBeGreaterThan(10);
        expect(rooms.every((room) => room !== undefined)).toBe(true);
        expect(rooms.some((room) => room! > 0)).toBe(true);
      }
    } finally {
      spy.mockRestore();
      backend.remote = false;
    }
  });

  it('an encrypted repository opened with prestartWorkers and openIndexEarly starts its codec workers and opens its index cache before the key is derived; the restore takes them; a wrong password closes the cache again', async () => {
    const root = tempCacheRoot();
    const mem = new MemoryBackend();
    try {
      const made = await Repository.init(mem, { cacheRoot: root, password: 'pw', kdf: TEST_KDF, packSize: 1 << 20 });
      const big = Buffer.concat([data, data.subarray(0, 100_000)]);
      const snap = await snapshotBytes(made, big, 'enc', { format: 'tar' });
      const cacheDir = made.cacheDir;
      await made.close();
      await stopWarmWorkers();
      fs.rmSync(cacheDir, { recursive: true, force: true }); // the index cache is built again on the next open
      await expect(Repository.open(mem, { cacheRoot: root, openIndexEarly: true, password: 'wrong' })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
      expect(fs.readdirSync(cacheDir)).toEqual(['index-0']); // opened before the password failed, and closed: the next open takes the same slot
      let startedBeforeKey = -1;
      const opened = await Repository.open(mem, {
        cacheRoot: root,
        prestartWorkers: 2,
        openIndexEarly: true,
        password: () => {
          startedBeforeKey = warmCodecWorkers(); // asked for only once the config said "encrypted", before any key derivation
          return 'pw';
        },
      });
      try {
        expect(startedBeforeKey).toBe(2);
        const parts: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _enc, cb) {
            parts.push(Buffer.from(chunk));
            cb();
          },
        });
        await restoreToStream(opened, snap.id, sink);
        expect(Buffer.concat(parts).equals(big)).toBe(true);
        expect(warmCodecWorkers()).toBe(0); // the restore's pool took both
        expect(opened.codecs().size).toBe(2);
        expect(fs.readdirSync(cacheDir)).toEqual(['index-0']);
      } finally {
        await opened.close();
      }
    } finally {
      await stopWarmWorkers();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
