/**
 * Reading whole blobs at known locations (delta bases, chunk lists) in few requests: reads
 * grouped by pack (read-plan.ts), decoded and verified by a codec pool into one
 * plaintext area, laid out read by read, blob by blob.
 */
import type { BlobLocation } from '../blob-index/types.js';
import { planReads, type PlannedRead } from './read-plan.js';
import { decodeItem, frameKeyOf, type DecodeItem } from './blob-codec.js';
import type { CodecPool } from './codec-pool.js';
import type { BaseReads } from './codec-worker.js';

/** Ranged pack reads (a Repository is one); a missing or short pack is CORRUPT naming it. */
export interface PackRanges {
  readPackRange(pack: string, offset: number, length: number): Promise<Uint8Array>;
  /** Reads into `target`, which may be shared memory. */
  readPackRangeInto(pack: string, offset: number, length: number, target: Uint8Array): Promise<void>;
}

/** The reads that fetch some whole blobs, and where each blob's plaintext goes. */
export interface WholeBlobReads {
  readonly reads: PlannedRead[];
  /** Offset of each blob's plaintext in the area (by latin1 id). */
  readonly at: ReadonlyMap<string, number>;
  /** Bytes of the plaintext area. */
  readonly plainBytes: number;
  /** Bytes the reads fetch (stored, before decoding). */
  readonly storedBytes: number;
}

/** Plans the reads of the blobs at `locs` (by latin1 id); none may be a delta blob. */
export function planWholeBlobReads(locs: ReadonlyMap<string, BlobLocation>): WholeBlobReads {
  const refs = [...locs].map(([k, loc]) => {
    if (loc.base) throw new Error('internal error: a delta blob read as a whole blob');
    return { id: Buffer.from(k, 'latin1'), offset: 0, length: loc.rawLength };
  });
  const reads = planReads(refs, locs);
  const at = new Map<string, number>();
  let plainBytes = 0;
  let storedBytes = 0;
  for (const rd of reads) {
    storedBytes += rd.length;
    for (const b of rd.blobs) {
      at.set(b.key, plainBytes);
      plainBytes += b.loc.rawLength;
    }
  }
  return { reads, at, plainBytes, storedBytes };
}

/**
 * Reads and decodes the planned blobs into `plain` (plainBytes long, laid out as `at` says).
 * The workers write straight into `plain` when it is shared memory; the stored bytes go to
 * `scratch` (shared memory, storedBytes long) when given, else to fresh memory. Returns a
 * view of each blob's plaintext. CORRUPT naming the blob and pack when one does not verify.
 */
export async function readWholeBlobsInto(repo: PackRanges, pool: CodecPool, plan: WholeBlobReads, plain: Uint8Array, scratch?: Uint8Array): Promise<Map<string, Uint8Array>> {
  const inPlace = pool.maxWorkers === 0 || plain.buffer instanceof SharedArrayBuffer;
  let storedAt = 0;
  await Promise.all(
    plan.reads.map(async (rd) => {
      const { start, n, items } = readLayout(plan, rd);
      const from = storedAt;
      storedAt += rd.length;
      const what = `pack ${rd.pack}`;
      let stored: Uint8Array;
      if (scratch) {
        stored = scratch.subarray(from, from + rd.length);
        await repo.readPackRangeInto(rd.pack, rd.offset, rd.length, stored);
      } else stored = await repo.readPackRange(rd.pack, rd.offset, rd.length);
      if (inPlace) await pool.decodeInto(stored, items, plain.subarray(start, start + n), what);
      else plain.set((await pool.decode(stored, items, what)).plain, start);
    }),
  );
  return viewsOf(plan, plain);
}

/**
 * The planned reads' stored bytes read into `scratch` (storedBytes long), not decoded: for each
 * read, its stored bytes, its items and where their plaintext goes in `plain` (plainBytes long,
 * laid out as `at` says), for a codec job to decode (an encode job its delta bases: codec-worker
 * 'encode' with bases). CORRUPT naming the pack when one is missing or short.
 */
export async function readStoredInto(repo: PackRanges, plan: WholeBlobReads, plain: Uint8Array, scratch: Uint8Array): Promise<BaseReads[]> {
  let storedAt = 0;
  return Promise.all(
    plan.reads.map(async (rd) => {
      const { start, n, items } = readLayout(plan, rd);
      const data = scratch.subarray(storedAt, storedAt + rd.length);
      storedAt += rd.length;
      await repo.readPackRangeInto(rd.pack, rd.offset, rd.length, data);
      return { data, items, out: plain.subarray(start, start + n), what: `pack ${rd.pack}` };
    }),
  );
}

/** Where read `rd`'s plaintext starts in the area and its bytes there, and its decode items. */
function readLayout(plan: WholeBlobReads, rd: PlannedRead): { start: number; n: number; items: DecodeItem[] } {
  const start = plan.at.get(rd.blobs[0]!.key)!;
  let n = 0;
  for (const b of rd.blobs) n += b.loc.rawLength;
  // a frame is named by its pack and offset: the codec keeps the last one decoded, and a
  // later call needing more of its members (a tree restore's next directories) does not decode it again
  const items = rd.blobs.map((b) => decodeItem(b.loc, b.id, b.loc.offset - rd.offset, undefined, { frameKey: frameKeyOf(rd.pack, b.loc) }));
  return { start, n, items };
}

/** A view of each planned blob's plaintext in `plain`, by latin1 id. */
function viewsOf(plan: WholeBlobReads, plain: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const rd of plan.reads) for (const b of rd.blobs) out.set(b.key, plain.subarray(plan.at.get(b.key)!, plan.at.get(b.key)! + b.loc.rawLength));
  return out;
}
