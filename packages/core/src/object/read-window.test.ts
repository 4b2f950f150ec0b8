/**
 * A window's reads decoded gathered (buildPlannedWindow's `gather`, the tree restore's): the
 * reads of a window that spans many packs are decoded once all are in, in at most one job per
 * codec worker instead of one per pack range, and give the same bytes; a damaged byte still
 * fails the window with CORRUPT naming the blob and its pack.
 *
 * A window planned with a stash (delta bases read with its blobs) that does not fit its
 * slots (fresh memory) decodes the reads holding bases twice, the bases first: the bytes
 * and the codec pool survive it (an S3 restore that never exited, 2026-11-30: the first job
 * took the stored bytes over and the second could not be sent, leaving close() waiting).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { CodecPool } from '../repository/codec-pool.js';
import type { BlobSource } from '../repository/blob-store.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { seeded, snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { SlotRing } from '../util/slot-ring.js';
import { decodeChunkList, readChunkLists, type ChunkRef } from './chunk-list.js';
import { extentWindows } from './extents.js';
import { buildPlannedWindow, windowRings, type WindowRings } from './read-window.js';
import { WindowPlanner } from './window-plan.js';
import { ObjectWriter } from './writer.js';

const WINDOW = 256 * 1024;

describe('windowRings', () => {
  it('gives 3 output slots by default and as many as asked for (S3 restores: REMOTE_OUT_SLOTS), each a window and its placement slack', () => {
    const three = windowRings(4 << 20, 1 << 20);
    const four = windowRings(4 << 20, 1 << 20, 4096, 4);
    expect([three.out.count, three.read.count, three.base.count]).toEqual([3, 3, 2]);
    expect([four.out.count, four.read.count, four.base.count]).toEqual([4, 3, 2]);
    expect(four.out.size).toBe(three.out.size + 4096);
  });
});

describe('gathered window decodes', () => {
  let cacheRoot: string;
  let repo: Repository;
  let refs: ChunkRef[];
  let data: Buffer;

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot, { packSize: 64 * 1024 })); // a window spans many packs
    // small text files (framed together) and a large file (whole chunks)
    const files = Array.from({ length: 400 }, (_, i) => ({ name: `f/${i}`, data: Buffer.from(`file ${i}: ${'some compressible text '.repeat(20 + (i % 30))}`) }));
    data = tarOf([...files, { name: 'big', data: seeded('big', 800_000) }]);
    const session = new WriteSession(repo, { workers: 2 });
    const w = new ObjectWriter(repo, session, { workers: 2 });
    await w.write(data);
    await w.end();
    const { lists } = await w.finish();
    await session.flush();
    refs = [];
    for (const b of await repo.loadBlobs(lists.map((h) => Buffer.from(h, 'hex')))) refs.push(...decodeChunkList(Buffer.from(b), 'chunk list'));
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  /** Reads the object window by window (2 workers, shared slots); `jobs`: decode-into jobs per window. */
  async function read(gather: boolean, damage?: { pack: string; offset: number }): Promise<{ bytes: Buffer; jobs: number[]; reads: { pack: string; offset: number; length: number }[] }> {
    const pool = new CodecPool(repo.codecSpec, 2);
    let calls = 0;
    const decodeInto = pool.decodeInto.bind(pool);
    pool.decodeInto = (...args) => {
      calls++;
      return decodeInto(...args);
    };
    const reads: { pack: string; offset: number; length: number }[] = [];
    const source: BlobSource = {
      config: repo.config,
      codecs: () => pool,
      lookup: (ids) => repo.lookup(ids),
      lookupBases: (bases) => repo.lookupBases(bases),
      loadBlobs: (ids) => repo.loadBlobs(ids),
      loadWholeBlobs: (locs, p) => repo.loadWholeBlobs(locs, p),
      readPackRange: (pack, offset, length) => repo.readPackRange(pack, offset, length),
      readPackRangeInto: async (pack, offset, length, target) => {
        reads.push({ pack, offset, length });
        await repo.readPackRangeInto(pack, offset, length, target);
        if (damage && damage.pack === pack && damage.offset >= offset && damage.offset < offset + length) target[damage.offset - offset]! ^= 0x40;
      },
    };
    const rings = windowRings(WINDOW, repo.config.chunker.maxSize);
    const parts: Buffer[] = [];
    const jobs: number[] = [];
    try {
      for (let at = 0; at < refs.length;) {
        const w: ChunkRef[] = [];
        let n = 0;
        while (at < refs.length && (w.length === 0 || n + refs[at]!.length <= WINDOW)) {
          n += refs[at]!.length;
          w.push(refs[at++]!);
        }
        const planner = new WindowPlanner(source, undefined);
        planner.add(w);
        const before = calls;
        const built = await buildPlannedWindow(source, pool, planner.next(), rings, undefined, 0, gather);
        jobs.push(calls - before);
        parts.push(Buffer.concat(built.pieces.map((p) => Buffer.from(p))));
        built.release();
      }
      return { bytes: Buffer.concat(parts), jobs, reads };
    } finally {
      await pool.close();
    }
  }

  it('decodes a window in at most one job per worker, with the same bytes as one job per pack range', async () => {
    const apart = await read(false);
    const gathered = await read(true);
    expect(apart.bytes.equals(data)).toBe(true);
    expect(gathered.bytes.equals(data)).toBe(true);
    expect(Math.max(...apart.jobs)).toBeGreaterThan(2); // windows that span several packs
    expect(Math.max(...gathered.jobs)).toBeLessThanOrEqual(2);
    expect(gathered.jobs.reduce((a, b) => a + b, 0)).toBeLessThan(apart.jobs.reduce((a, b) => a + b, 0));
  });

  it('a damaged byte fails the window with CORRUPT naming the blob and its pack', async () => {
    const { reads } = await read(true);
    // a read in the middle of a window of several reads
    const rd = reads[Math.floor(reads.length / 2)]!;
    const err = await read(true, { pack: rd.pack, offset: rd.offset + Math.floor(rd.length / 2) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStowageError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`blob [0-9a-f]{64} in pack ${rd.pack}: `));
  });
});

describe('windows with delta bases in fresh memory', () => {
  let cacheRoot: string;
  let repo: Repository;
  let lists: readonly string[];
  let v2: Buffer;
  // v2 changes every third file (a delta against v1's, in v1's frames beside files v2 keeps as they were)
  const conf = (i: number, v: number) => Buffer.from(`# config ${i}\n${`option_${i} = value ${i % 7}\n`.repeat(150 + i)}${v === 2 && i % 3 === 0 ? `changed ${i}\n` : ''}`);
  const tar = (v: number) => tarOf(Array.from({ length: 60 }, (_, i) => ({ name: `etc/c${i}.conf`, data: conf(i, v) })));

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot, { packSize: 1 << 20 }));
    await snapshotBytes(repo, tar(1), 'img', { format: 'tar' });
    v2 = tar(2);
    lists = (await snapshotBytes(repo, v2, 'img', { format: 'tar' })).content.lists;
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  it.each([
    ['with a base slot', 1 << 20],
    ['bases too large for the base slot', 16],
  ])('a read holding bases and blobs of the window is decoded twice from its own bytes (%s); the pool closes', async (_, baseSlot) => {
    const pool = new CodecPool(repo.codecSpec, 2);
    let copies = 0;
    const decode = pool.decode.bind(pool);
    pool.decode = (data, items, what) => {
      if (data.buffer instanceof ArrayBuffer && data.byteLength === data.buffer.byteLength) copies++;
      return decode(data, items, what);
    };
    // read slots too small for any window: every window falls back to fresh memory
    const rings: WindowRings = { read: new SlotRing(3, 16), out: new SlotRing(3, 1 << 20), base: new SlotRing(2, baseSlot) };
    const planner = new WindowPlanner(repo, { horizon: 8, budget: 256 * 1024, lookahead: 10_000, stash: 8 << 20 });
    for await (const w of extentWindows(readChunkLists(repo, lists), 8 * 1024)) planner.add(w);
    const parts: Buffer[] = [];
    let failure: unknown;
    try {
      while (planner.queued > 0) {
        const built = await buildPlannedWindow(repo, pool, planner.next(), rings);
        parts.push(...built.pieces.map((p) => Buffer.from(p)));
        built.release();
      }
    } catch (err) {
      failure = err;
    }
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([pool.close().then(() => 'closed'), new Promise((r) => (timer = setTimeout(r, 5000, 'still open')))]);
    clearTimeout(timer);
    expect(failure).toBeUndefined();
    expect(closed).toBe('closed');
    expect(Buffer.concat(parts).equals(v2)).toBe(true);
    expect(copies).toBeGreaterThan(0); // the windows did decode in fresh memory
  });
});
