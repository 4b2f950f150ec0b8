/**
 * Copying a snapshot of directories between repositories that name blobs differently
 * (another key): every blob keeps its bytes and boundaries, and gets the target's id.
 *
 * Re-chunking a tree would mean walking it and feeding each file to the target's content
 * writer; re-keying is exact and simpler: data blobs are read from the source (verified
 * against their source ids, delta blobs against their bases) and stored under their target
 * ids; each tree blob is rewritten bottom-up with its files' extents and its subdirectories'
 * blobs renamed, then stored; the chunk lists are rewritten in the same order (so file maps,
 * which number extents, stay valid and are stored as they are). Dedup against the target's
 * own snapshots works for identical blobs only (the source's chunk boundaries are kept).
 *
 * Memory: the map from source to target ids of this snapshot's blobs (64 bytes each), one
 * batch of data (BATCH_BYTES), and the tree blobs on the current path.
 */
import { corrupt } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import { commitSnapshot } from '../snapshot/commit.js';
import { lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { buildWindow } from '../object/read-window.js';
import { ChunkListWriter, decodeChunkList, type ChunkRef } from '../object/chunk-list.js';
import type { Snapshot, SnapshotManifest } from '../snapshot/manifest.js';
import { decodeExtents, decodeTreeBlob, encodeExtents, encodeTreeBlob } from '../tree/node.js';
import { copiedFacts } from './facts.js';

const BATCH_BYTES = 16 * 1024 * 1024;

export interface RekeyResult {
  readonly copy: Snapshot;
  readonly newBlobs: number;
  readonly newBytes: number;
  readonly storedBytes: number;
}

/** Copies tree snapshot `snap` of `src` into `dst` under the target's blob ids; `original` as in copy.ts. */
export async function rekeyTreeSnapshot(
  src: Repository,
  dst: Repository,
  snap: Snapshot,
  original: string,
  opts: { workers?: number | undefined; progress?: ProgressFn | undefined; signal?: AbortSignal | undefined } = {},
): Promise<RekeyResult> {
  if (!snap.tree) throw corrupt(`snapshot ${snap.id}: format tree without tree facts`);
  const session = new WriteSession(dst, opts.workers === undefined ? {} : { workers: opts.workers });
  const pool = src.codecs(opts.workers);
  /** Source id (latin1) -> target id. */
  const renamed = new Map<string, Buffer>();
  let done = 0;
  try {
    // 1. data blobs, in batches: read and verified in the source, stored under target ids
    let batch: ChunkRef[] = [];
    let batchBytes = 0;
    const storeBatch = async (): Promise<void> => {
      if (batch.length === 0) return;
      opts.signal?.throwIfAborted();
      const refs = batch;
      batch = [];
      batchBytes = 0;
      const window = await buildWindow(src, pool, refs);
      try {
        const data = window.pieces.length === 1 ? window.pieces[0]! : Buffer.concat(window.pieces);
        const ids: Buffer[] = [];
        let off = 0;
        for (const r of refs) {
          const id = dst.codec.id(data.subarray(off, off + r.length));
          renamed.set(r.id.toString('latin1'), id);
          ids.push(id);
          off += r.length;
        }
        await session.saveBatch(
          'data',
          data,
          refs.map((r) => r.length),
          ids,
        );
        done += off;
        opts.progress?.({ op: 'copy', done });
      } finally {
        window.release();
      }
    };
    const queued = new Set<string>();
    for (const hex of snap.content.lists) {
      const [plain] = await src.loadBlobs([Buffer.from(hex, 'hex')]);
      const fresh = decodeChunkList(plain!, `chunk list ${hex}`).filter((r) => {
        const k = r.id.toString('latin1');
        if (queued.has(k)) return false;
        queued.add(k);
        return true;
      });
      const locs = await src.lookup(fresh.map((r) => r.id));
      for (const [i, r] of fresh.entries()) {
        const loc = locs[i];
        if (!loc) throw corrupt(`snapshot ${snap.id}: blob ${r.id.toString('hex')} is referenced but not in the source's index (run "stowage check" on the source)`);
        if (loc.type !== 'data') continue; // tree blobs: rewritten below
        batch.push({ id: Buffer.from(r.id), offset: 0, length: loc.rawLength });
        batchBytes += loc.rawLength;
        if (batchBytes >= BATCH_BYTES) await storeBatch();
      }
    }
    await storeBatch();
    queued.clear();

    // 2. tree blobs, bottom-up: extents and subdirectories renamed
    const tree = async (id: Buffer): Promise<Buffer> => {
      const k = id.toString('latin1');
      const known = renamed.get(k);
      if (known) return known;
      const [plain] = await src.loadBlobs([id]);
      const entries = decodeTreeBlob(plain!, `tree blob ${id.toString('hex')}`);
      for (const n of entries) {
        if (n.content) n.content = encodeExtents(decodeExtents(n).map((e) => ({ ...e, id: renamedData(e.id) })));
        if (n.tree) {
          const out: string[] = [];
          for (const t of n.tree) out.push((await tree(Buffer.from(t, 'hex'))).toString('hex'));
          n.tree = out;
        }
      }
      const nid = await session.saveBlob('list', encodeTreeBlob(entries));
      renamed.set(k, nid);
      return nid;
    };
    const renamedData = (id: Buffer): Buffer => {
      const t = renamed.get(id.toString('latin1'));
      if (!t) throw corrupt(`snapshot ${snap.id}: a file's blob ${id.toString('hex')} is not in the snapshot's chunk lists`);
      return t;
    };

    // 3. the chunk lists, rewritten in order (tree blobs renamed as they come)
    const lists = new ChunkListWriter(session);
    for (const hex of snap.content.lists) {
      const [plain] = await src.loadBlobs([Buffer.from(hex, 'hex')]);
      for (const r of decodeChunkList(plain!, `chunk list ${hex}`)) {
        const to = renamed.get(r.id.toString('latin1')) ?? (await tree(Buffer.from(r.id)));
        await lists.add(to, r.length, r.offset);
      }
    }
    const root: string[] = [];
    for (const t of snap.tree.root) root.push((await tree(Buffer.from(t, 'hex'))).toString('hex'));
    const listIds = await lists.finish();
    // file maps hold path keys and extent numbers, no blob ids: stored as they are
    const files: string[] = [];
    for (const hex of snap.content.files ?? []) {
      const [plain] = await src.loadBlobs([Buffer.from(hex, 'hex')]);
      files.push((await session.saveBlob('list', plain!)).toString('hex'));
    }
    await session.flush(); // packs, then the index file, then the snapshot file
    const manifest: SnapshotManifest = {
      ...copiedFacts(snap, original),
      tree: { ...snap.tree, root },
      content: { chunks: lists.count, lists: listIds, ...(files.length && { files }) },
    };
    await using lock = await lockRepository(dst, 'shared'); // the one copySnapshots holds (re-entrant)
    const id = await commitSnapshot(dst, lock, manifest);
    return { copy: { id, ...manifest }, newBlobs: session.stats.newBlobs, newBytes: session.stats.newBytes, storedBytes: session.stats.storedBytes };
  } catch (err) {
    await session.abort(err);
    throw err;
  }
}
