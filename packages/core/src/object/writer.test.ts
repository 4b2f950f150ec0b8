/**
 * The object writer on its own: a byte stream in, in pieces of any size -> extent lists
 * that the object reader turns back into the same bytes, the writer's own SHA-256 and
 * range digests, every piece released once and left unchanged, and two writers on one
 * repository at once keeping apart.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { seeded, sharedTestRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { ObjectReader } from './reader.js';
import { ObjectWriter, type ObjectWriterOptions, type WrittenObject } from './writer.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function readBack(repo: Repository, lists: readonly string[], workers: number): Promise<{ bytes: Buffer; sha256: string | undefined }> {
  const reader = new ObjectReader(repo, lists, { workers, windowBytes: 1 << 20, ahead: 2, sha256: true });
  const parts: Buffer[] = [];
  for await (const w of reader) {
    for (const p of w.pieces) parts.push(Buffer.from(p));
    w.done();
  }
  return { bytes: Buffer.concat(parts), sha256: (await reader.digests()).sha256 };
}

/** Writes `data` in pieces of `piece` bytes; returns what the writer produced and how the pieces fared. */
async function write(repo: Repository, data: Buffer, piece: number, opts: ObjectWriterOptions): Promise<{ written: WrittenObject; released: number; pieces: number; intact: boolean }> {
  const session = new WriteSession(repo, { workers: opts.workers ?? 0 });
  const w = new ObjectWriter(repo, session, opts);
  let released = 0;
  const given: { piece: Buffer; copy: Buffer }[] = [];
  for (let off = 0; off < data.length; off += piece) {
    const p = Buffer.from(data.subarray(off, off + piece));
    given.push({ piece: p, copy: Buffer.from(p) });
    await w.write(p, () => released++);
  }
  await w.end();
  const written = await w.finish();
  await session.flush();
  // hashes resolve in order: once the digest is out, every piece was hashed and released
  return { written, released, pieces: given.length, intact: given.every((g) => g.piece.equals(g.copy)) };
}

describe('ObjectWriter', () => {
  const shared = sharedTestRepo();

  const raw = seeded('object-writer-raw', 3_000_000);
  const tar = tarOf([
    { name: 'a/', type: '5' },
    { name: 'a/big', data: seeded('ow-big', 1_500_000) },
    { name: 'a/small', data: seeded('ow-small', 900) },
    { name: 'a/empty', data: new Uint8Array(0) },
  ]);

  for (const workers of [0, 2]) {
    for (const piece of [100, 65_536, 1 << 22]) {
      it(`a raw stream and a tar in pieces of ${piece} bytes, workers ${workers}: extents read back to the same bytes, own sha256`, async () => {
        for (const data of [raw, tar]) {
          const r = await write(shared.repo, data, piece, { workers });
          expect(r.written.bytes).toBe(data.length);
          expect(r.written.sha256).toBe(sha(data));
          expect(r.released).toBe(r.pieces);
          expect(r.intact).toBe(true);
          const back = await readBack(shared.repo, r.written.lists, workers);
          expect(back.bytes.equals(data)).toBe(true);
          expect(back.sha256).toBe(sha(data));
        }
      });
    }
  }

  it('a tar is split into members and gets a file map; raw format stores the same bytes unsplit', async () => {
    const session = new WriteSession(shared.repo, { workers: 0 });
    const w = new ObjectWriter(shared.repo, session, { workers: 0 });
    await w.write(tar);
    await w.end();
    expect(w.tar).toBe(true);
    expect(w.members.map((m) => m.name)).toEqual(['a/', 'a/big', 'a/small', 'a/empty']);
    const written = await w.finish();
    await session.flush();
    expect(written.files.length).toBeGreaterThan(0);
    const r = await write(shared.repo, tar, 4096, { workers: 0, format: 'raw' });
    expect(r.written.files).toEqual([]);
    expect((await readBack(shared.repo, r.written.lists, 0)).bytes.equals(tar)).toBe(true);
  });

  it('checks the digests of byte ranges known ahead (image layers), and names the one that differs', async () => {
    const start = 512; // a/big's data follows the 'a/' header and its own
    const bigAt = tar.indexOf(seeded('ow-big', 64));
    expect(bigAt).toBeGreaterThan(start);
    const big = tar.subarray(bigAt, bigAt + 1_500_000);
    for (const workers of [0, 2]) {
      const r = await write(shared.repo, tar, 10_000, {
        workers,
        digestRanges: [
          { path: 'a/big', offset: bigAt, length: big.length, digest: `sha256:${sha(big)}`, what: 'layer big' },
          { path: 'a/small', offset: 0, length: 100, digest: `sha256:${'0'.repeat(64)}`, what: 'layer wrong' },
        ],
      });
      expect(r.written.mismatches.map((m) => m.what)).toEqual(['layer wrong']);
      expect(r.written.mismatches[0]!.actual).toBe(`sha256:${sha(tar.subarray(0, 100))}`);
    }
  });

  it('two writers on one repository at once keep their hashes and extents apart', async () => {
    const a = seeded('ow-a', 2_000_000);
    const b = seeded('ow-b', 2_500_000);
    const [ra, rb] = await Promise.all([write(shared.repo, a, 70_000, { workers: 2 }), write(shared.repo, b, 50_000, { workers: 2 })]);
    expect(ra.written.sha256).toBe(sha(a));
    expect(rb.written.sha256).toBe(sha(b));
    expect((await readBack(shared.repo, ra.written.lists, 2)).bytes.equals(a)).toBe(true);
    expect((await readBack(shared.repo, rb.written.lists, 2)).bytes.equals(b)).toBe(true);
  });

  it('finishBlobs puts every blob in the session: it flushes and the object reads back before finish() gives the digests', async () => {
    for (const workers of [0, 2]) {
      const session = new WriteSession(shared.repo, { workers });
      const w = new ObjectWriter(shared.repo, session, { workers });
      for (let off = 0; off < tar.length; off += 70_000) await w.write(Buffer.from(tar.subarray(off, off + 70_000)));
      const blobs = w.finishBlobs();
      expect(w.finishBlobs()).toBe(blobs); // once
      const { lists, files } = await blobs;
      const finishing = w.finish();
      await session.flush();
      expect((await readBack(shared.repo, lists, workers)).bytes.equals(tar)).toBe(true);
      const written = await finishing;
      expect(written.lists).toEqual(lists);
      expect(written.files).toEqual(files);
      expect(files.length).toBeGreaterThan(0);
      expect(written.sha256).toBe(sha(tar));
    }
  });

  it('an empty stream is an empty object', async () => {
    const r = await write(shared.repo, Buffer.alloc(0), 10, { workers: 0 });
    expect(r.written).toMatchObject({ bytes: 0, chunks: 0, lists: [], sha256: sha(Buffer.alloc(0)) });
  });
});
