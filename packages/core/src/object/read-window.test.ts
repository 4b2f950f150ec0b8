/**
 * A window's reads decoded gathered (buildPlannedWindow's `gather`, the tree restore's): the
 * reads of a window that spans many packs are decoded once all are in, in at most one job per
 * codec worker instead of one per pack range, and give the same bytes; a damaged byte still
 * fails the window with CORRUPT naming the blob and its pack.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { CodecPool } from '../repository/codec-pool.js';
import type { BlobSource } from '../repository/blob-store.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { decodeChunkList, type ChunkRef } from './chunk-list.js';
import { buildPlannedWindow, windowRings } from './read-window.js';
import { WindowPlanner } from './window-plan.js';
import { ObjectWriter } from './writer.js';

const WINDOW = 256 * 1024;

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
