/**
 * Windows planned together (window-plan.ts): an object whose windows need members of the
 * same frames (files of an older object in another order) and one small blob in every
 * window. Planned with a long enough horizon, each frame is decoded by one job and no pack
 * byte is read twice; with the default horizon, fewer frames are decoded than window by
 * window; whatever the arena's size, the bytes and SHA-256 are those written; and a damaged
 * frame whose members are kept for later windows still fails the read (CORRUPT).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { CodecPool } from '../repository/codec-pool.js';
import type { BlobSource } from '../repository/blob-store.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { ObjectReader } from './reader.js';
import { readChunkLists, type ChunkRef } from './chunk-list.js';
import { extentWindows } from './extents.js';
import { WindowPlanner, type CarryOptions } from './window-plan.js';
import { ObjectWriter } from './writer.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Deterministic shuffle. */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  let s = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Counted {
  readonly source: BlobSource;
  /** Every pack read (pack, offset, length). */
  readonly reads: { pack: string; offset: number; length: number }[];
  /** Per decode job, the frames its items name. */
  readonly jobs: Set<string>[];
  /** Delta bases looked up. */
  bases: number;
}

/** `repo` as a blob source whose reads and decode jobs are counted; `damage` flips a byte at (pack, offset) in what is read. */
function counted(repo: Repository, pool: CodecPool, damage?: { pack: string; offset: number }): Counted {
  const reads: Counted['reads'] = [];
  const jobs: Set<string>[] = [];
  const flip = (pack: string, offset: number, bytes: Uint8Array): void => {
    if (damage && damage.pack === pack && damage.offset >= offset && damage.offset < offset + bytes.length) bytes[damage.offset - offset]! ^= 0x40;
  };
  const decodeInto = pool.decodeInto.bind(pool);
  pool.decodeInto = (data, items, out, what, aside) => {
    jobs.push(new Set(items.flatMap((it) => (it.frameKey ? [it.frameKey] : []))));
    return decodeInto(data, items, out, what, aside);
  };
  const counts = { bases: 0 };
  const source: BlobSource = {
    config: repo.config,
    codecs: () => pool,
    lookup: (ids) => repo.lookup(ids),
    lookupBases: (bases) => {
      counts.bases += bases.length;
      return repo.lookupBases(bases);
    },
    loadBlobs: (ids) => repo.loadBlobs(ids),
    loadWholeBlobs: (locs, p) => repo.loadWholeBlobs(locs, p),
    readPackRange: async (pack, offset, length) => {
      reads.push({ pack, offset, length });
      const b = await repo.readPackRange(pack, offset, length);
      flip(pack, offset, b);
      return b;
    },
    readPackRangeInto: async (pack, offset, length, target) => {
      reads.push({ pack, offset, length });
      await repo.readPackRangeInto(pack, offset, length, target);
      flip(pack, offset, target.subarray(0, length));
    },
  };
  return {
    source,
    reads,
    jobs,
    get bases() {
      return counts.bases;
    },
  };
}

/** Bytes read twice: the overlaps between reads of one pack. */
function rereadBytes(reads: Counted['reads']): number {
  let twice = 0;
  const byPack = new Map<string, [number, number][]>();
  for (const r of reads) {
    let l = byPack.get(r.pack);
    if (!l) byPack.set(r.pack, (l = []));
    l.push([r.offset, r.offset + r.length]);
  }
  for (const l of byPack.values()) {
    l.sort((a, b) => a[0] - b[0]);
    let end = -1;
    for (const [a, b] of l) {
      if (a < end) twice += Math.min(b, end) - a;
      end = Math.max(end, b);
    }
  }
  return twice;
}

/** Reads the object of `lists` in 8 KiB windows (shared memory, 2 workers, `carry`), counting its reads and decode jobs. */
async function readObject(repo: Repository, lists: readonly string[], carry: CarryOptions, damage?: { pack: string; offset: number }): Promise<{ bytes: Buffer; sha256?: string; counts: Counted }> {
  const pool = new CodecPool(repo.codecSpec, 2);
  try {
    const counts = counted(repo, pool, damage);
    const reader = new ObjectReader(counts.source, lists, { workers: 2, windowBytes: 8 * 1024, ahead: 3, sharedMemory: true, sha256: true, carry });
    const parts: Buffer[] = [];
    for await (const win of reader) {
      for (const p of win.pieces) parts.push(Buffer.from(p));
      win.done();
    }
    return { bytes: Buffer.concat(parts), sha256: (await reader.digests()).sha256, counts };
  } finally {
    await pool.close();
  }
}

const readBytes = (c: Counted): number => c.reads.reduce((n, r) => n + r.length, 0);

describe('windows planned together', () => {
  let cacheRoot: string;
  let repo: Repository;
  let lists: readonly string[];
  let data: Buffer;

  // 300 small text files (framed together in the first object), read back in another order,
  // with one small file repeated between every few files (a blob in every window)
  const text = (i: number) => Buffer.from(`file ${i}: ${`line ${i} of some compressible text `.repeat(60 + (i % 40))}`);
  const files = Array.from({ length: 300 }, (_, i) => ({ name: `f/${i}`, data: text(i) }));
  const common = Buffer.from('the same small file, again and again: '.repeat(40));

  async function write(tar: Buffer): Promise<readonly string[]> {
    const session = new WriteSession(repo, { workers: 2 });
    const w = new ObjectWriter(repo, session, { workers: 2 });
    await w.write(tar);
    await w.end();
    const written = await w.finish();
    await session.flush();
    return written.lists;
  }

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot, { packSize: 1 << 20 }));
    await write(tarOf(files));
    data = tarOf(shuffled(files).flatMap((f, i) => (i % 4 === 0 ? [f, { name: `common/${i}`, data: common }] : [f])));
    lists = await write(data);
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  const readAll = (carry: CarryOptions, damage?: { pack: string; offset: number }) => readObject(repo, lists, carry, damage);

  const frameDecodes = (c: Counted): number => c.jobs.reduce((n, j) => n + j.size, 0);

  it('with a horizon over the whole object, each frame is decoded by one job and no pack byte is read twice', async () => {
    const alone = await readAll({ horizon: 0, budget: 0 });
    const all = await readAll({ horizon: 10_000, budget: 8 << 20 });
    for (const r of [alone, all]) {
      expect(r.bytes.equals(data)).toBe(true);
      expect(r.sha256).toBe(sha(data));
    }
    const distinct = new Set(all.counts.jobs.flatMap((j) => [...j]));
    expect(distinct.size).toBeGreaterThan(1);
    expect(frameDecodes(all.counts)).toBe(distinct.size);
    expect(rereadBytes(all.counts.reads)).toBe(0);
    // window by window, the frames were decoded many times over and pack bytes read again
    expect(frameDecodes(alone.counts)).toBeGreaterThan(3 * distinct.size);
    expect(rereadBytes(alone.counts.reads)).toBeGreaterThan(0);
  });

  it('the default horizon decodes fewer frames and reads fewer bytes than window by window; a tiny arena wraps around; bytes and SHA-256 as written', async () => {
    const alone = await readAll({ horizon: 0, budget: 0 });
    const def = await readAll({ horizon: 8, budget: 256 * 1024 });
    const tiny = await readAll({ horizon: 8, budget: 6 * 1024 });
    for (const r of [def, tiny]) {
      expect(r.bytes.equals(data)).toBe(true);
      expect(r.sha256).toBe(sha(data));
    }
    expect(frameDecodes(def.counts)).toBeLessThan(frameDecodes(alone.counts));
    expect(readBytes(def.counts)).toBeLessThan(readBytes(alone.counts));
    expect(frameDecodes(tiny.counts)).toBeLessThan(frameDecodes(alone.counts));
  });

  it('a damaged frame whose members are kept for later windows fails the read (CORRUPT)', async () => {
    const all = await readAll({ horizon: 10_000, budget: 8 << 20 });
    // every frame's members are kept for later windows here: damage a byte of the first one's stored bytes
    const frame = [...new Set(all.counts.jobs.flatMap((j) => [...j]))][0]!;
    const [pack, at] = frame.split('@') as [string, string];
    let failure: unknown;
    try {
      await readAll({ horizon: 10_000, budget: 8 << 20 }, { pack, offset: Number(at) + 20 });
    } catch (err) {
      failure = err;
    }
    expect(isStowageError(failure, 'CORRUPT')).toBe(true);
  });

  it('with a stash over the whole object, no pack byte is read twice however small the decoded arena; a small stash still gives the bytes as written', async () => {
    const alone = await readAll({ horizon: 0, budget: 0 });
    const stashed = await readAll({ horizon: 2, budget: 4 * 1024, lookahead: 10_000, stash: 8 << 20 });
    const small = await readAll({ horizon: 2, budget: 4 * 1024, lookahead: 10_000, stash: 3 * 1024 });
    for (const r of [stashed, small]) {
      expect(r.bytes.equals(data)).toBe(true);
      expect(r.sha256).toBe(sha(data));
    }
    expect(rereadBytes(stashed.counts.reads)).toBe(0);
    expect(rereadBytes(small.counts.reads)).toBeGreaterThan(0); // a stash that fills up drops the ranges needed last: they are read again
    expect(readBytes(small.counts)).toBeLessThan(readBytes(alone.counts));
  });

  it('with startAfter, the first window is planned once that many windows are queued behind it and each later one after one more, up to the lookahead; the bytes are those written', async () => {
    const windows: ChunkRef[][] = [];
    for await (const w of extentWindows(readChunkLists(repo, lists), 8 * 1024)) windows.push(w);
    expect(windows.length).toBeGreaterThan(20);
    /** The number of windows added before each plan became ready, for a planner of `carry` (plans asked for as soon as ready). */
    const readyAt = async (carry: CarryOptions): Promise<number[]> => {
      const planner = new WindowPlanner(repo, carry);
      const at: number[] = [];
      const plans = [];
      for (const [i, w] of windows.entries()) {
        planner.add(w);
        while (planner.ready) {
          at.push(i + 1);
          plans.push(planner.next());
        }
      }
      for (const p of await Promise.all(plans)) {
        p.settle(new Error('not read'));
        p.releaseCarried();
      }
      return at.slice(0, 6);
    };
    const carry = { horizon: 2, budget: 64 * 1024, lookahead: 6, stash: 1 << 20 };
    expect(await readyAt(carry)).toEqual([7, 8, 9, 10, 11, 12]);
    // 2 behind the first, 3 behind the second, ... 6 from the fifth on
    expect(await readyAt({ ...carry, startAfter: 2 })).toEqual([3, 5, 7, 9, 11, 12]);
    const alone = await readAll({ horizon: 0, budget: 0 });
    const started = await readAll({ ...carry, startAfter: 2 });
    expect(started.bytes.equals(data)).toBe(true);
    expect(started.sha256).toBe(sha(data));
    expect(readBytes(started.counts)).toBeLessThan(readBytes(alone.counts));
  });

  it('damaged stored bytes kept in the stash fail the windows that decode them (CORRUPT)', async () => {
    const carry = { horizon: 0, budget: 1, lookahead: 10_000, stash: 8 << 20 };
    const all = await readAll(carry);
    expect(rereadBytes(all.counts.reads)).toBe(0);
    const frame = [...new Set(all.counts.jobs.flatMap((j) => [...j]))][0]!;
    const [pack, at] = frame.split('@') as [string, string];
    let failure: unknown;
    try {
      await readAll(carry, { pack, offset: Number(at) + 20 });
    } catch (err) {
      failure = err;
    }
    expect(isStowageError(failure, 'CORRUPT')).toBe(true);
  });
});

describe('delta bases planned with the windows (a stash)', () => {
  let cacheRoot: string;
  let repo: Repository;
  let v2: Buffer;
  let lists: readonly string[];
  let lists1: readonly string[];

  // two versions of 60 small config files: v2 changes each a little (stored as deltas against v1's, which are framed)
  const conf = (i: number, v: number) => Buffer.from(`# config ${i}\n${`option_${i} = value ${i % 7}\n`.repeat(150 + i)}${v === 2 ? `changed ${i}\n` : ''}`);
  const tar = (v: number) => tarOf(Array.from({ length: 60 }, (_, i) => ({ name: `etc/c${i}.conf`, data: conf(i, v) })));

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot, { packSize: 1 << 20 }));
    lists1 = (await snapshotBytes(repo, tar(1), 'img', { format: 'tar' })).content.lists;
    v2 = tar(2);
    lists = (await snapshotBytes(repo, v2, 'img', { format: 'tar' })).content.lists;
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('reads each base with the windows that need it (no stored byte read twice) and gives the bytes as written; without a stash each window reads its bases apart', async () => {
    const apart = await readObject(repo, lists, { horizon: 8, budget: 256 * 1024 });
    const together = await readObject(repo, lists, { horizon: 8, budget: 256 * 1024, lookahead: 10_000, stash: 8 << 20 });
    expect(apart.counts.bases).toBeGreaterThan(10); // v2's files are deltas
    for (const r of [apart, together]) {
      expect(r.bytes.equals(v2)).toBe(true);
      expect(r.sha256).toBe(sha(v2));
    }
    expect(rereadBytes(together.counts.reads)).toBe(0);
    expect(rereadBytes(apart.counts.reads)).toBeGreaterThan(0);
    expect(together.counts.reads.length).toBeLessThan(apart.counts.reads.length);
  });

  it('a damaged base fails the read (CORRUPT)', async () => {
    const carry = { horizon: 8, budget: 256 * 1024, lookahead: 10_000, stash: 8 << 20 };
    const { counts } = await readObject(repo, lists, carry);
    // the bases are v1's blobs: a frame of v1 that reading v2 decodes
    const v1Frames = new Set((await readObject(repo, lists1, carry)).counts.jobs.flatMap((j) => [...j]));
    const frames = [...new Set(counts.jobs.flatMap((j) => [...j]))].filter((f) => v1Frames.has(f));
    expect(frames.length).toBeGreaterThan(0);
    const [pack, at] = frames[0]!.split('@') as [string, string];
    let failure: unknown;
    try {
      await readObject(repo, lists, carry, { pack, offset: Number(at) + 20 });
    } catch (err) {
      failure = err;
    }
    expect(isStowageError(failure, 'CORRUPT')).toBe(true);
  });
});
