import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import type { AnyIndexedPack } from '../blob-index/types.js';
import { ENTRY_BYTES } from '../pack/entry.js';
import { ENCODE_SLOT_BYTES, WriteSession } from './write-session.js';
import { LocalBackend } from '../backend/local.js';
import type { MemoryBackend } from '../backend/memory.js';
import { blake3Hex } from '../hash/blake3.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

describe('WriteSession', () => {
  it('writes an index file whenever the uploaded packs hold indexEveryBlobs blobs, and dedups across them', async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 0, indexEveryBlobs: 50, frames: false });
    // what the session keeps of its uploaded packs until the index file: raw slots, no object per blob
    const index = await repo.index();
    const absorbed: AnyIndexedPack[][] = [];
    const absorb = index.absorb.bind(index);
    index.absorb = (name, packs) => (absorbed.push([...packs]), absorb(name, packs));
    const data = seeded('ws-index-every', 400 * 2048);
    const lengths = Array<number>(400).fill(2048);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
    let stored = 0;
    for (let i = 0; i < 400; i += 40) stored += (await session.saveBatch('data', data.subarray(i * 2048, (i + 40) * 2048), lengths.slice(i, i + 40), ids.slice(i, i + 40))).newBlobs;
    // the same blobs again, some already in index files and some not yet: none is new
    for (let i = 0; i < 400; i += 100) stored += (await session.saveBatch('data', data.subarray(i * 2048, (i + 100) * 2048), lengths.slice(i, i + 100), ids.slice(i, i + 100))).newBlobs;
    await session.flush();
    expect(stored).toBe(400);
    // 64 KiB packs of 2 KiB blobs hold about 31 blobs: an index file about every second pack
    expect(session.stats.packs).toBeGreaterThanOrEqual(12);
    expect(session.stats.indexFiles).toBeGreaterThan(session.stats.packs / 3);
    expect(session.stats.indexFiles).toBeLessThan(session.stats.packs);
    expect(absorbed).toHaveLength(session.stats.indexFiles);
    const packs = absorbed.flat();
    expect(packs.every((p) => 'slots' in p && !('entries' in p))).toBe(true);
    expect(packs.reduce((n, p) => n + ('slots' in p ? p.slots.length / ENTRY_BYTES : 0), 0)).toBe(400);
    const found = await repo.lookup(ids);
    expect(found.every((l) => l !== undefined)).toBe(true);
    const [first] = await repo.loadBlobs([ids[123]!]);
    expect(first!.equals(data.subarray(123 * 2048, 124 * 2048))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession.flush with a check beside', () => {
  it('runs the check once every pack is saved, beside the last index file; its failure fails the flush', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const files = async (type: 'pack' | 'index') => {
      const out: string[] = [];
      for await (const f of backend.list(type)) out.push(f.name);
      return out;
    };
    const data = seeded('ws-beside', 100 * 2048);
    const lengths = Array<number>(100).fill(2048);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
    const session = new WriteSession(repo, { workers: 0, frames: false });
    await session.saveBatch('data', data, lengths, ids);
    let seen: { packs: number; index: number } | undefined;
    await session.flush(async () => {
      seen = { packs: (await files('pack')).length, index: (await files('index')).length };
    });
    expect(seen?.packs).toBe(session.stats.packs); // every pack saved before the check
    expect(session.stats.packs).toBeGreaterThan(1);
    expect(await files('index')).toHaveLength(1);
    // a failing check fails the flush (the index file may be written: it only names saved packs)
    const again = new WriteSession(repo, { workers: 0, frames: false });
    const more = seeded('ws-beside-2', 10 * 2048);
    await again.saveBatch(
      'data',
      more,
      Array<number>(10).fill(2048),
      Array.from({ length: 10 }, (_, i) => repo.codec.id(more.subarray(i * 2048, (i + 1) * 2048))),
    );
    const lost = new Error('lock lost');
    await expect(again.flush(() => Promise.reject(lost))).rejects.toBe(lost);
    await repo.close();
  });

  it('runs the commit once the index file is stored and the check passed, beside the absorption; returns its result, fails with it', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const index = await repo.index();
    const absorb = index.absorb.bind(index);
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    index.absorb = async (name, packs) => {
      order.push('absorb started');
      await held; // the commit runs meanwhile
      order.push('absorb done');
      return absorb(name, packs);
    };
    const save = async (session: WriteSession, seed: string) => {
      const data = seeded(seed, 10 * 2048);
      const ids = Array.from({ length: 10 }, (_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
      await session.saveBatch('data', data, Array<number>(10).fill(2048), ids);
      return ids;
    };
    const session = new WriteSession(repo, { workers: 0, frames: false });
    const ids = await save(session, 'ws-commit');
    const result = await session.flush(
      async () => void order.push('check'),
      async () => {
        let n = 0;
        for await (const _ of backend.list('index')) n++;
        order.push(`commit (${n} index file)`);
        release();
        return 'snapshot id';
      },
    );
    expect(result).toBe('snapshot id');
    expect(order).toEqual(['check', 'absorb started', 'commit (1 index file)', 'absorb done']);
    expect((await repo.lookup(ids)).every((l) => l !== undefined)).toBe(true);
    // a failing commit fails the flush once the absorption is done; a failing check means no commit
    const failed = new Error('snapshot file not written');
    await expect(new WriteSession(repo, { workers: 0, frames: false }).flush(undefined, () => Promise.reject(failed))).rejects.toBe(failed);
    const other = new WriteSession(repo, { workers: 0, frames: false });
    await save(other, 'ws-commit-2');
    let committed = false;
    const lost = new Error('lock lost');
    await expect(
      other.flush(
        () => Promise.reject(lost),
        async () => void (committed = true),
      ),
    ).rejects.toBe(lost);
    expect(committed).toBe(false);
    await repo.close();
  });
});

describe('WriteSession encode slots', () => {
  it('a batch larger than an encode slot is split and encoded in slots (no fresh batch memory); every blob reads back', async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 1, frames: false });
    const n = Math.ceil((ENCODE_SLOT_BYTES * 2.5) / (256 * 1024)); // two and a half slots of 256 KiB blobs in one call
    const data = seeded('ws-split', n * 256 * 1024);
    const lengths = Array<number>(n).fill(256 * 1024);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024)));
    expect((await session.saveBatch('data', data, lengths, ids)).newBlobs).toBe(n);
    await session.flush();
    expect(session.slotless).toBe(0);
    expect(session.stats.newBlobs).toBe(n);
    const back = await repo.loadBlobs([ids[0]!, ids[n - 1]!]);
    expect(back[0]!.equals(data.subarray(0, 256 * 1024))).toBe(true);
    expect(back[1]!.equals(data.subarray((n - 1) * 256 * 1024))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession delta bases', () => {
  /** A blob `a` stored, and `b` (a few bytes of `a` changed) with `a` as its delta hint, by a session with a codec worker. */
  async function baseThenChanged(damage: boolean) {
    const { backend, repo } = await testRepo(cacheRoot);
    const a = seeded('ws-base', 200_000);
    const b = Buffer.from(a);
    for (let i = 0; i < 16; i++) b[i * 12_007]! ^= 0x5a;
    const idA = repo.codec.id(a);
    const idB = repo.codec.id(b);
    const first = new WriteSession(repo, { workers: 1, frames: false });
    await first.saveChunks('data', [a], [idA]);
    await first.flush();
    if (damage) {
      // one byte of a's stored bytes flipped: its decode (on the worker, in b's encode job) is CORRUPT
      const [loc] = await repo.lookup([idA]);
      const mem = backend as MemoryBackend;
      const key = [...mem.files.keys()].find((k) => k.endsWith(loc!.pack))!;
      const bytes = Buffer.from(mem.files.get(key)!);
      bytes[loc!.offset + Math.floor(loc!.length / 2)]! ^= 0xff;
      mem.files.set(key, bytes);
    }
    const second = new WriteSession(repo, { workers: 1, frames: false });
    const decodes = vi.spyOn(repo.codecs(1), 'decodeInto');
    const r = await second.saveChunks('data', [b], [idB], [idA]);
    await second.flush();
    expect(r.deltaCandidates).toBe(1);
    // the base's stored bytes were read into the job's slot and decoded by the encode job itself (no decode job)
    expect(second.slotless).toBe(0);
    expect(decodes).not.toHaveBeenCalled();
    decodes.mockRestore();
    const [back] = await repo.loadBlobs([idB]);
    expect(back!.equals(b)).toBe(true);
    return { repo, second, loc: (await repo.lookup([idB]))[0]! };
  }

  it('a changed blob is stored as a delta against its base, decoded by the encode job on the worker; it reads back', async () => {
    const { repo, second, loc } = await baseThenChanged(false);
    expect(second.stats.deltaBlobs).toBe(1);
    expect(loc.base).toBeDefined();
    expect(loc.length).toBeLessThan(100_000); // stored whole: about 200,000 (random bytes)
    await repo.close();
  });

  it('a base whose stored bytes are damaged only costs the delta: the blob is stored whole and reads back', async () => {
    const { repo, second, loc } = await baseThenChanged(true);
    expect(second.stats.deltaBlobs).toBe(0);
    expect(loc.base).toBeUndefined();
    await repo.close();
  });
});

describe('WriteSession output buffers', () => {
  it("hands every encoded batch's output back once the packs holding it are saved (a batch spanning two packs after both); the packs read back", async () => {
    const { repo } = await testRepo(cacheRoot);
    const session = new WriteSession(repo, { workers: 0, frames: false });
    const n = 400;
    const data = seeded('ws-release', n * 2048);
    const lengths = Array<number>(n).fill(2048);
    const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 2048, (i + 1) * 2048)));
    for (let i = 0; i < n; i += 20) await session.saveBatch('data', data.subarray(i * 2048, (i + 20) * 2048), lengths.slice(i, i + 20), ids.slice(i, i + 20));
    await session.flush();
    expect(session.stats.packs).toBeGreaterThanOrEqual(10); // 64 KiB packs: batches of 40 KiB span two
    expect(session.releasedBuffers).toBe(n / 20);
    const back = await repo.loadBlobs([ids[0]!, ids[199]!, ids[n - 1]!]);
    expect(back[0]!.equals(data.subarray(0, 2048))).toBe(true);
    expect(back[1]!.equals(data.subarray(199 * 2048, 200 * 2048))).toBe(true);
    expect(back[2]!.equals(data.subarray((n - 1) * 2048))).toBe(true);
    await repo.close();
  });
});

describe('WriteSession uploads (pack/upload.ts)', () => {
  it('a backend that reads a pack trailer back different breaks the session loudly; no index file names the pack', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const load = backend.load.bind(backend);
    backend.load = async (h, range, o) => {
      const b = Buffer.from(await load(h, range, o));
      if (h.type === 'pack' && range) b[b.length - 1]! ^= 1;
      return b;
    };
    const session = new WriteSession(repo, { workers: 0 });
    const data = seeded('ws-read-back', 64 * 1024);
    await session.saveBatch('data', data, [data.length], [repo.codec.id(data)]);
    const err = await session.flush().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/trailer read back from .* differs from what was written/) });
    await expect(session.flush()).rejects.toBe(err); // broken from now on
    expect(await repo.listNames('index')).toEqual([]);
    backend.load = load;
    await repo.close();
  });

  it('on a local directory writes each pack to its temporary file while it is built: the same repository, nothing left behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-ws-'));
    try {
      const backend = new LocalBackend(path.join(dir, 'repo'));
      const { repo } = await testRepo(cacheRoot, { backend });
      const session = new WriteSession(repo, { workers: 1, frames: false });
      const data = seeded('ws-stream', 300 * 4096);
      const lengths = Array<number>(300).fill(4096);
      const ids = lengths.map((_, i) => repo.codec.id(data.subarray(i * 4096, (i + 1) * 4096)));
      for (let i = 0; i < 300; i += 30) await session.saveBatch('data', data.subarray(i * 4096, (i + 30) * 4096), lengths.slice(i, i + 30), ids.slice(i, i + 30));
      await session.flush();
      // 64 KiB packs: several, each written batch by batch before its commit
      expect(session.stats.packs).toBeGreaterThan(3);
      expect(session.streamedBytes).toBeGreaterThan(0);
      expect(session.streamedBytes).toBeLessThanOrEqual(session.stats.storedBytes);
      expect(session.releasedBuffers).toBeGreaterThan(0);
      const loaded = await repo.loadBlobs(ids);
      loaded.forEach((b, i) => expect(b.equals(data.subarray(i * 4096, (i + 1) * 4096))).toBe(true));
      const leftovers = fs.readdirSync(path.join(dir, 'repo', 'data')).filter((f) => f.startsWith('.'));
      expect(leftovers).toEqual([]);
      await repo.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A tree snapshot saves tree blobs while file contents are saved. Before: with a 64 KiB queue
  // two drains streamed at once, their appends both wrote at the same offset, and the
  // trailer's read-back found the pack short (CORRUPT "short read, wanted 1019 bytes at offset
  // 63000, file ends after 0", as the 1,000,000-file tree snapshot did); with an 8 KiB queue a
  // second caller drained a queue the first had emptied (TypeError).
  it.each([64 * 1024, 8 * 1024])('saves running at once (queue %i bytes) drain one at a time: every streamed pack has all its bytes, every blob reads back', async (maxEncodeBytes) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-ws-'));
    try {
      const backend = new LocalBackend(path.join(dir, 'repo'));
      const { repo } = await testRepo(cacheRoot, { backend });
      const session = new WriteSession(repo, { workers: 2, frames: false, maxEncodeBytes });
      const n = 600;
      const size = 3000;
      const data = seeded('ws-stream-concurrent', n * size);
      const ids = Array.from({ length: n }, (_, i) => repo.codec.id(data.subarray(i * size, (i + 1) * size)));
      // four writers at once, each saving small batches (1-3 blobs), as content, tree and list writers do
      const writer = async (w: number): Promise<void> => {
        for (let i = w * 150; i < (w + 1) * 150;) {
          const k = Math.min(1 + (i % 3), (w + 1) * 150 - i);
          await session.saveBatch('data', data.subarray(i * size, (i + k) * size), Array<number>(k).fill(size), ids.slice(i, i + k));
          i += k;
        }
      };
      await Promise.all([0, 1, 2, 3].map(writer));
      await session.flush();
      expect(session.stats.packs).toBeGreaterThan(10);
      expect(session.streamedBytes).toBeGreaterThan(0);
      // every pack file is whole: its name is the BLAKE3 of its bytes
      let packs = 0;
      for await (const f of backend.list('pack')) {
        const bytes = await backend.load({ type: 'pack', name: f.name });
        expect(blake3Hex(bytes)).toBe(f.name);
        packs++;
      }
      expect(packs).toBe(session.stats.packs);
      const loaded = await repo.loadBlobs(ids);
      loaded.forEach((b, i) => expect(b.equals(data.subarray(i * size, (i + 1) * size))).toBe(true));
      expect(fs.readdirSync(path.join(dir, 'repo', 'data')).filter((f) => f.startsWith('.'))).toEqual([]);
      await repo.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
