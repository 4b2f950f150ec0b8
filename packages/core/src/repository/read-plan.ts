/**
 * Read planning: turns blob references (a restore window's chunk refs, delta bases) into
 * ranged pack reads.
 *
 * Blobs of one pack that lie close together are read with one request (gaps up to
 * MAX_GAP are read and discarded), so a restore reads packs mostly sequentially.
 */
import { corrupt } from '../errors.js';
import type { BlobLocation } from '../blob-index/types.js';

/** Largest gap between two blobs of a pack that is read through rather than split. */
export const MAX_GAP = 256 * 1024;
/** Largest single read. */
export const MAX_READ = 16 * 1024 * 1024;

export interface PlannedBlob {
  /** latin1 key of the id. */
  readonly key: string;
  readonly id: Buffer;
  readonly loc: BlobLocation;
}

export interface PlannedRead {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  /** Blobs in offset order; each blob's stored bytes are at loc.offset - offset. */
  readonly blobs: PlannedBlob[];
}

/** Unique blobs of `refs` with locations (looked up by the caller), grouped into reads. */
export function planReads(refs: readonly { readonly id: Buffer }[], locs: ReadonlyMap<string, BlobLocation>): PlannedRead[] {
  const byPack = new Map<string, PlannedBlob[]>();
  const seen = new Set<string>();
  for (const r of refs) {
    const key = r.id.toString('latin1');
    if (seen.has(key)) continue;
    seen.add(key);
    const loc = locs.get(key);
    if (!loc) throw corrupt(`blob ${r.id.toString('hex')} is referenced by the snapshot but missing from the index`);
    let list = byPack.get(loc.pack);
    if (!list) byPack.set(loc.pack, (list = []));
    list.push({ key, id: r.id, loc });
  }
  const reads: PlannedRead[] = [];
  for (const [pack, blobs] of byPack) {
    blobs.sort((a, b) => a.loc.offset - b.loc.offset);
    let cur: { offset: number; end: number; blobs: PlannedBlob[] } | undefined;
    for (const b of blobs) {
      const end = b.loc.offset + b.loc.length;
      if (cur && b.loc.offset - cur.end <= MAX_GAP && end - cur.offset <= MAX_READ) {
        cur.blobs.push(b);
        cur.end = Math.max(cur.end, end);
      } else {
        if (cur) reads.push({ pack, offset: cur.offset, length: cur.end - cur.offset, blobs: cur.blobs });
        cur = { offset: b.loc.offset, end, blobs: [b] };
      }
    }
    if (cur) reads.push({ pack, offset: cur.offset, length: cur.end - cur.offset, blobs: cur.blobs });
  }
  return reads;
}
