/**
 * Copying a snapshot blob by blob: used when both repositories cut and name chunks alike
 * (same chunker parameters and id key, copy.ts decides), so every blob keeps its id and the
 * snapshot's chunk lists, file maps and tree blobs are valid in the target as they are.
 *
 * Only blobs the target's index does not have are read: batched lookups, then the source's
 * restore window reader (ranged pack reads grouped by pack, decoded and verified against
 * their ids, delta blobs against their bases), then the target's write session (its own
 * compression, encryption and packs); a delta blob of the source is offered its base again,
 * so the target stores it as a delta too when it has the base. Memory: one batch (BATCH_BYTES of plaintext) and the
 * ids of this snapshot's blobs seen so far (to read each once).
 */
import { corrupt } from '../errors.js';
import type { BlobType } from '../pack/entry.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import type { WriteSession } from '../repository/write-session.js';
import { buildWindow } from '../object/read-window.js';
import { decodeChunkList, type ChunkRef } from '../object/chunk-list.js';
import type { Snapshot } from '../snapshot/manifest.js';

/** Plaintext read from the source per batch (with delta bases it fits the session's 12 MiB encode slots). */
const BATCH_BYTES = 6 * 1024 * 1024;
/** Ids looked up in the target per batch. */
const LOOKUP_IDS = 4096;

export interface BlobCopyStats {
  /** Blobs of the snapshot the target did not have (copied). */
  blobs: number;
  /** Plaintext bytes of those blobs. */
  bytes: number;
  /** Blobs the snapshot references that the target had already. */
  present: number;
}

/**
 * Copies every blob `snap` references that `dst` lacks into `session` (flush it after).
 * CORRUPT when the source lacks a blob the snapshot references or a blob does not match its id.
 */
export async function copySnapshotBlobs(
  src: Repository,
  dst: Repository,
  session: WriteSession,
  snap: Snapshot,
  opts: { workers?: number | undefined; progress?: ProgressFn | undefined; signal?: AbortSignal | undefined } = {},
): Promise<BlobCopyStats> {
  const stats: BlobCopyStats = { blobs: 0, bytes: 0, present: 0 };
  const pool = src.codecs(opts.workers);
  const seen = new Set<string>();
  let pending: Buffer[] = [];

  /** Looks up `pending` in the target, and copies the ones it lacks. */
  const drain = async (): Promise<void> => {
    const ids = pending;
    pending = [];
    if (ids.length === 0) return;
    const inTarget = await dst.lookup(ids);
    const missing = ids.filter((_, i) => inTarget[i] === undefined);
    stats.present += ids.length - missing.length;
    if (missing.length === 0) return;
    const locs = await src.lookup(missing);
    const byType = new Map<BlobType, ChunkRef[]>();
    /** Delta blobs of the source: their base (offered to the target's encoder: it has the base when an older snapshot was copied first). */
    const baseOf = new Map<string, Buffer>();
    missing.forEach((id, i) => {
      const loc = locs[i];
      if (!loc) throw corrupt(`snapshot ${snap.id}: blob ${id.toString('hex')} is referenced but not in the source's index (run "stowage check" on the source)`);
      let refs = byType.get(loc.type);
      if (!refs) byType.set(loc.type, (refs = []));
      refs.push({ id, offset: 0, length: loc.rawLength });
      if (loc.base) baseOf.set(id.toString('latin1'), loc.base);
    });
    for (const [type, refs] of byType) {
      for (let start = 0; start < refs.length;) {
        opts.signal?.throwIfAborted();
        let end = start;
        let bytes = 0;
        while (end < refs.length && (end === start || bytes + refs[end]!.length <= BATCH_BYTES)) bytes += refs[end++]!.length;
        const batch = refs.slice(start, end);
        start = end;
        const window = await buildWindow(src, pool, batch); // read, decoded, verified against the ids
        try {
          const data = window.pieces.length === 1 ? window.pieces[0]! : Buffer.concat(window.pieces);
          const chunks: Uint8Array[] = [];
          for (let k = 0, off = 0; k < batch.length; off += batch[k]!.length, k++) chunks.push(data.subarray(off, off + batch[k]!.length));
          const hints = baseOf.size ? batch.map((r) => baseOf.get(r.id.toString('latin1'))) : undefined;
          await session.saveChunks(
            type,
            chunks,
            batch.map((r) => r.id),
            hints,
          );
        } finally {
          window.release();
        }
        stats.blobs += batch.length;
        stats.bytes += bytes;
        opts.progress?.({ op: 'copy', done: stats.bytes });
      }
    }
  };
  const want = async (id: Buffer): Promise<void> => {
    const key = id.toString('latin1');
    if (seen.has(key)) return;
    seen.add(key);
    pending.push(id);
    if (pending.length >= LOOKUP_IDS) await drain();
  };

  // the blobs the manifest names: chunk lists (walked below) and file maps
  const lists = snap.content.lists.map((h) => Buffer.from(h, 'hex'));
  for (const id of lists) await want(id);
  for (const h of snap.content.files ?? []) await want(Buffer.from(h, 'hex'));
  await drain();
  // the blobs the chunk lists name (data blobs; tree blobs of a tree snapshot), one list at a time
  for (const id of lists) {
    const [plain] = await src.loadBlobs([id]);
    for (const ref of decodeChunkList(plain!, `chunk list ${id.toString('hex')}`)) await want(Buffer.from(ref.id));
  }
  await drain();
  return stats;
}
