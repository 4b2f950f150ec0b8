/**
 * The one chunk-list walker (chunk-list.ts forEachChunk / walkChunkList): entries visited in
 * order and in place, whichever source loads the list (the index cache, or gc's and check's
 * index table through table-lists.ts); a malformed or damaged list is CORRUPT, nothing visited.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IndexTable } from '../blob-index/index-table.js';
import type { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import type { BlobSource } from '../repository/blob-store.js';
import { LISTS_AHEAD, LIST_ENTRY_BYTES, decodeChunkList, forEachChunk, readChunkLists, repoListLoader, walkChunkList, type ListLoader } from './chunk-list.js';
import { tableListLoader } from './table-lists.js';

const cacheRoot = tempCacheRoot();
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

function list(entries: [number, number, number][]): Buffer {
  const b = Buffer.alloc(entries.length * LIST_ENTRY_BYTES);
  entries.forEach(([fill, offset, length], i) => {
    b.fill(fill, i * LIST_ENTRY_BYTES, i * LIST_ENTRY_BYTES + 32);
    b.writeUInt32LE(offset, i * LIST_ENTRY_BYTES + 32);
    b.writeUInt32LE(length, i * LIST_ENTRY_BYTES + 36);
  });
  return b;
}

async function visits(hex: string, load: ListLoader): Promise<string[]> {
  const out: string[] = [];
  await walkChunkList(hex, load, (l, at, offset, length) => out.push(`${l.toString('hex', at, at + 32)}:${offset}:${length}`));
  return out;
}

describe('the chunk-list walker', () => {
  it('visits every entry in order, in place (the id is a view of the list)', () => {
    const plain = list([
      [1, 0, 100],
      [2, 7, 3],
      [3, 0, 0xffffffff],
    ]);
    const seen: [number, number, number, boolean][] = [];
    forEachChunk(plain, 'x', (l, at, offset, length) => seen.push([l[at]!, offset, length, l === plain]));
    expect(seen).toEqual([
      [1, 0, 100, true],
      [2, 7, 3, true],
      [3, 0, 0xffffffff, true],
    ]);
    expect(decodeChunkList(plain, 'x').map((r) => [r.id[31], r.offset, r.length])).toEqual([
      [1, 0, 100],
      [2, 7, 3],
      [3, 0, 0xffffffff],
    ]);
    let n = 0;
    forEachChunk(Buffer.alloc(0), 'empty', () => n++);
    expect(n).toBe(0);
  });

  it('a list that is not a whole number of entries is CORRUPT, and nothing is visited', () => {
    let n = 0;
    const err = (() => {
      try {
        forEachChunk(list([[1, 0, 1]]).subarray(0, 39), 'chunk list ab', () => n++);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toBe('chunk list ab: chunk list length 39 is not a multiple of 40');
    expect(n).toBe(0);
  });

  it("walks a snapshot's lists the same through the index cache and through the index table", async () => {
    const { repo } = await testRepo(cacheRoot, { packSize: 1 << 20 });
    const data = seeded('walker', 3 << 20);
    const snap = await snapshotBytes(repo, data, 'w', { format: 'raw' });
    const table = await IndexTable.load(repo);
    const byTable = tableListLoader(repo, table);
    const byCache = repoListLoader(repo);
    let total = 0;
    const fromReader: string[] = [];
    for await (const refs of readChunkLists(repo, snap.content.lists)) for (const r of refs) fromReader.push(`${r.id.toString('hex')}:${r.offset}:${r.length}`);
    const fromWalker: string[] = [];
    for (const hex of snap.content.lists) {
      const a = await visits(hex, byTable);
      expect(a).toEqual(await visits(hex, byCache));
      fromWalker.push(...a);
      for (const v of a) total += Number(v.split(':')[2]);
    }
    expect(fromWalker).toEqual(fromReader);
    expect(total).toBe(data.length); // the extents cover the input
    await repo.close();
  });

  it('through the table: a damaged list blob and an unknown one are CORRUPT', async () => {
    const { backend, repo } = await testRepo(cacheRoot);
    const snap = await snapshotBytes(repo, seeded('walker-damage', 200_000), 'd', { format: 'raw' });
    const table = await IndexTable.load(repo);
    const hex = snap.content.lists[0]!;
    const e = table.find(Buffer.from(hex, 'hex'));
    const pack = table.packAt(table.pack(e)).id;
    const bytes = (backend as MemoryBackend).files.get(`data/${pack.slice(0, 2)}/${pack}`)!;
    bytes[table.offset(e) + Math.floor(table.length(e) / 2)]! ^= 0x40;
    const load = tableListLoader(repo, table);
    await expect(visits(hex, load)).rejects.toMatchObject({ code: 'CORRUPT', message: expect.stringContaining(`pack ${pack}`) });
    await expect(visits('ab'.repeat(32), load)).rejects.toMatchObject({ code: 'CORRUPT', message: `chunk list ${'ab'.repeat(32)} is not in the index` });
    await repo.close();
  });
});

/**
 * A blob source of list blobs only (hex id -> plaintext) whose loads each take a turn of the
 * event loop or two; counts the loads in flight. `fail` names a list whose load fails.
 */
function listSource(lists: Map<string, Buffer>, fail?: string) {
  let running = 0;
  let peak = 0;
  let started = 0;
  const source = {
    loadBlobs: async (ids: readonly Buffer[]) => {
      started++;
      running++;
      peak = Math.max(peak, running);
      try {
        await new Promise((r) => setTimeout(r, 1 + (started % 3)));
        return ids.map((id) => {
          const hex = id.toString('hex');
          if (hex === fail) throw Object.assign(new Error(`blob ${hex} is not in the index`), { code: 'NOT_FOUND' });
          return Buffer.from(lists.get(hex)!);
        });
      } finally {
        running--;
      }
    },
  } as unknown as BlobSource;
  return { source, peak: () => peak, running: () => running, started: () => started };
}

describe('readChunkLists: list blobs loaded ahead', () => {
  const lists = new Map<string, Buffer>();
  const order: string[] = [];
  for (let i = 0; i < 20; i++) {
    const hex = (i + 16).toString(16).repeat(32);
    order.push(hex);
    lists.set(hex, list(Array.from({ length: 1 + (i % 4) }, (_, j): [number, number, number] => [i, j, 100 + j])));
  }
  const expected = order.flatMap((hex) => decodeChunkList(lists.get(hex)!, hex).map((r) => `${r.id.toString('hex')}:${r.offset}:${r.length}`));
  const refsOf = async (it: AsyncIterable<{ id: Buffer; offset: number; length: number }[]>) => {
    const out: string[] = [];
    for await (const refs of it) for (const r of refs) out.push(`${r.id.toString('hex')}:${r.offset}:${r.length}`);
    return out;
  };

  it('yields every list in order with up to `ahead` loads in flight (default 1: one at a time)', async () => {
    for (const ahead of [undefined, 1, 3, LISTS_AHEAD]) {
      const src = listSource(lists);
      expect(await refsOf(readChunkLists(src.source, order, ahead))).toEqual(expected);
      expect(src.peak()).toBe(ahead ?? 1);
      expect(src.started()).toBe(order.length);
    }
    expect(LISTS_AHEAD).toBeGreaterThan(1);
    await expect(refsOf(readChunkLists(listSource(lists).source, order, 0))).rejects.toThrow(TypeError);
  });

  it('a list that fails to load fails the read at its turn, after the lists before it; no load outlives the iteration', async () => {
    const src = listSource(lists, order[5]);
    const seen: string[] = [];
    let failure: unknown;
    try {
      for await (const refs of readChunkLists(src.source, order, LISTS_AHEAD)) seen.push(...refs.map((r) => `${r.id.toString('hex')}:${r.offset}:${r.length}`));
    } catch (err) {
      failure = err;
    }
    expect((failure as { code?: string }).code).toBe('NOT_FOUND');
    expect(seen).toEqual(order.slice(0, 5).flatMap((hex) => decodeChunkList(lists.get(hex)!, hex).map((r) => `${r.id.toString('hex')}:${r.offset}:${r.length}`)));
    expect(src.running()).toBe(0);
    // a caller that stops early: the loads started ahead have settled when the loop ends
    const early = listSource(lists);
    for await (const refs of readChunkLists(early.source, order, LISTS_AHEAD)) {
      expect(refs.length).toBeGreaterThan(0);
      break;
    }
    expect(early.started()).toBeGreaterThan(1);
    expect(early.running()).toBe(0);
  });
});
