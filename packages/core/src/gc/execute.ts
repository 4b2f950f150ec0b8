/**
 * gc, part 2: executing a plan, in the order that keeps every crash harmless
 * (restic's prune order):
 *
 * 1. repack: read the used blobs of each repacked pack (ranged reads of at most 2 MiB), verify
 *    each against its id (a damaged blob stops gc before anything is deleted), copy the stored
 *    bytes into new packs, upload them and read their trailers back;
 * 2. write new index files covering the new packs and every kept pack (all entries, so the
 *    index agrees with the trailers); until the old ones go, both name the same packs, which
 *    readers accept;
 * 3. verify the exclusive lock is still ours, then delete the old index files;
 * 4. delete unused, repacked and unindexed packs; then leftovers of interrupted saves and
 *    stale locks.
 *
 * A crash in 1 leaves unindexed packs (the next gc deletes them), in 2 extra index files
 * naming existing packs, in 3 and 4 packs that no index names. Nothing referenced is ever
 * deleted: a new pack or index file whose name equals one about to be deleted (a rerun of an
 * interrupted gc writes byte-identical packs) is kept.
 */
import { StowageError, isStowageError } from '../errors.js';
import { IndexFileBuilder } from '../blob-index/index-file.js';
import { ENTRY_BYTES, encodeEntries, slotCount } from '../pack/entry.js';
import { PackWriter, addEncoded, type FinishedPack } from '../pack/pack-writer.js';
import { uploadPack } from '../pack/upload.js';
import type { ProgressFn } from '../progress.js';
import { removeLocks, type RepositoryLock } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { decodeItem, frameTargetFor } from '../repository/blob-codec.js';
import type { GcPlan } from './plan.js';

/** Entries per index file written by gc (about 9 MiB). */
export const ENTRIES_PER_INDEX_FILE = 200_000;
/** Largest ranged read when copying blobs, and the largest gap read through. */
const READ_BYTES = 2 * 1024 * 1024;
const READ_GAP = 64 * 1024;

export interface ExecuteOptions {
  /** The exclusive lock held; verified before the first deletion. */
  readonly lock?: RepositoryLock;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface GcResult {
  readonly packsDeleted: number;
  readonly packsWritten: number;
  readonly blobsRepacked: number;
  readonly indexFilesWritten: number;
  readonly indexFilesRemoved: number;
  /** Bytes of pack and index files removed, and written. */
  readonly bytesRemoved: number;
  readonly bytesWritten: number;
  /** bytesRemoved - bytesWritten. */
  readonly bytesFreed: number;
  readonly tempFilesRemoved: number;
  readonly staleLocksRemoved: number;
}

export async function executeGc(repo: Repository, plan: GcPlan, opts: ExecuteOptions = {}): Promise<GcResult> {
  if (plan.filtered) throw new TypeError('executeGc: a plan made for some snapshots only (a filter) must not be executed');
  const { table } = plan;
  const builder = new IndexFileBuilder();
  const newIndexFiles = new Set<string>();
  const newPacks = new Set<string>();
  let bytesWritten = 0;
  let blobsRepacked = 0;

  const saveIndex = async (force: boolean): Promise<void> => {
    if (builder.empty || (!force && builder.entries < ENTRIES_PER_INDEX_FILE)) return;
    const plain = builder.take();
    const name = await repo.saveFile('index', plain);
    newIndexFiles.add(name);
    bytesWritten += (await repo.backend.stat({ type: 'index', name })).size;
  };

  const upload = async (pack: FinishedPack): Promise<void> => {
    await uploadPack(repo.backend, pack);
    builder.addPack(pack.id, encodeEntries(pack.entries), slotCount(pack.entries));
    newPacks.add(pack.id);
    bytesWritten += pack.size;
    await saveIndex(false);
  };

  // 1. repack
  // Memory: one buffer for the new pack's blobs (reused once the pack is saved), ids sliced
  // from unpooled 64 KiB blocks, one verification per ranged read. Small per-blob copies
  // would share pool slabs with garbage and keep it alive until the pack is finished.
  let writer = new PackWriter(repo.cipher);
  const repack = plan.packs.filter((p) => p.action === 'repack');
  const area = Buffer.allocUnsafeSlow(repack.length ? repo.config.packSize : 0);
  let areaUsed = 0;
  let ids = Buffer.allocUnsafeSlow(0);
  let idsUsed = 0;
  const nextId = (): Buffer => {
    if (idsUsed + 32 > ids.length) {
      ids = Buffer.allocUnsafeSlow(64 * 1024); // entries of earlier packs keep the old block
      idsUsed = 0;
    }
    idsUsed += 32;
    return ids.subarray(idsUsed - 32, idsUsed);
  };
  let scratch = Buffer.allocUnsafeSlow(0);
  const finishPack = async (): Promise<void> => {
    await upload(writer.finalize());
    writer = new PackWriter(repo.cipher);
    areaUsed = 0;
  };
  // the plan's id lookup is not needed any more: give its memory back before copying
  table.releaseLookup();
  let done = 0;
  const repackBytes = repack.reduce((n, p) => n + p.size, 0);
  for (const p of repack) {
    opts.signal?.throwIfAborted();
    const tp = table.packAt(table.packNo(p.id)!);
    const used: number[] = [];
    const membersOf = new Map<number, number>(); // frame offset -> members in the pack
    for (let e = tp.first; e < tp.first + tp.count; e++) {
      if (table.marked(e)) used.push(e);
      if (table.isFramed(e)) membersOf.set(table.offset(e), (membersOf.get(table.offset(e)) ?? 0) + 1);
    }
    // ranged reads of the used blobs (at most READ_BYTES each), not whole packs
    for (const g of table.readGroups(used, READ_BYTES, READ_GAP)) {
      const data = await repo.readPackRange(p.id, g.offset, g.length);
      // ids into the new pack's id blocks; every blob verified (decoded into a reused scratch buffer)
      // delta blobs are verified against their base (read through the index cache: the table's lookup is released)
      const items = await Promise.all(
        g.entries.map(async (e) => {
          const id = nextId();
          table.writeId(e, id);
          const loc = table.location(e);
          return decodeItem(loc, id, loc.offset - g.offset, loc.base && (await repo.loadBase(loc.base, id)));
        }),
      );
      let raw = 0;
      const plainAt: number[] = []; // where each item's plaintext lands in scratch
      for (const it of items) {
        plainAt.push(raw);
        raw += it.rawLength;
      }
      if (scratch.length < raw) scratch = Buffer.allocUnsafeSlow(Math.max(raw, 2 * scratch.length));
      try {
        repo.codec.decodeInto(data, items, scratch, `pack ${p.id}`);
      } catch (err) {
        if (isStowageError(err, 'CORRUPT')) throw new StowageError('CORRUPT', `gc stopped before deleting anything: ${err.message}; run "stowage check --read-data"`, { cause: err });
        throw err;
      }
      for (let i = 0; i < items.length; i++) {
        const e = g.entries[i]!;
        const it = items[i]!;
        const len = it.length;
        // the live members of a frame (consecutive: same offset) go with one copy of its bytes
        let j = i + 1;
        if (it.frame) while (j < items.length && items[j]!.frame && items[j]!.offset === it.offset) j++;
        if (writer.count > 0 && writer.size + len + 2 * (j - i) * ENTRY_BYTES > repo.config.packSize) await finishPack();
        if (it.frame && j - i < (membersOf.get(table.offset(e)) ?? 0)) {
          // a partly used frame: its used members are compressed again, without the others
          const lens = items.slice(i, j).map((m) => m.rawLength);
          const enc = repo.codec.encode(scratch.subarray(plainAt[i]!, plainAt[i]! + lens.reduce((a, b) => a + b, 0)), lens, undefined, frameTargetFor(repo.config.packSize));
          addEncoded(
            () => writer,
            enc,
            items.slice(i, j).map((m, k) => ({ id: m.id as Buffer, type: table.type(g.entries[i + k]!), rawLength: m.rawLength })),
          );
          blobsRepacked += j - i;
          i = j - 1;
          continue;
        }
        let stored: Buffer;
        if (areaUsed + len <= area.length) {
          stored = area.subarray(areaUsed, areaUsed + len);
          areaUsed += len;
        } else stored = Buffer.allocUnsafeSlow(len); // a blob larger than the pack size
        stored.set(data.subarray(it.offset, it.offset + len));
        if (it.frame) {
          const members = items.slice(i, j).map((m, k) => ({ id: m.id as Buffer, type: table.type(g.entries[i + k]!), offset: m.frame!.offset, rawLength: m.rawLength }));
          writer.addFrame(stored, it.frame.rawLength, it.compressed, members);
          blobsRepacked += j - i;
          i = j - 1;
          continue;
        }
        writer.add(it.id as Buffer, table.type(e), stored, it.rawLength, it.compressed, table.isDelta(e) ? table.id(e + 1) : undefined);
        blobsRepacked++;
      }
    }
    done += p.size;
    opts.progress?.({ op: 'gc', done, total: repackBytes, unit: 'bytes', phase: 'repack' });
  }
  if (writer.count > 0) await finishPack();

  // 2. index files for the kept packs (and the new ones, added as they were uploaded)
  if (plan.rewriteIndex) {
    for (const p of plan.packs) {
      if (p.action !== 'keep') continue;
      const tp = table.packAt(table.packNo(p.id)!);
      const raw = Buffer.allocUnsafe(tp.count * ENTRY_BYTES);
      for (let i = 0; i < tp.count; i++) table.writeEntry(tp.first + i, raw, i * ENTRY_BYTES);
      builder.addPack(p.id, raw, tp.count);
      await saveIndex(false);
    }
  }
  await saveIndex(true);

  // 3. the point of no return: the lock must still be ours
  opts.signal?.throwIfAborted();
  await opts.lock?.verify();
  let bytesRemoved = 0;
  let indexFilesRemoved = 0;
  if (plan.rewriteIndex) {
    for (const name of plan.indexFiles) {
      if (newIndexFiles.has(name)) continue;
      bytesRemoved += await removeCounting(repo, 'index', name);
      indexFilesRemoved++;
    }
  }

  // 4. packs, then debris
  const doomed = [
    ...plan.packs.filter((p) => p.action !== 'keep').map((p) => p.id),
    ...plan.unindexedPacks.map((p) => p.id),
  ].filter((id) => !newPacks.has(id));
  let packsDeleted = 0;
  for (const id of doomed) {
    bytesRemoved += await removeCounting(repo, 'pack', id);
    packsDeleted++;
  }
  const tempFilesRemoved = (await repo.backend.removeTemporary?.(['pack', 'index', 'snapshot'])) ?? 0;
  const staleLocksRemoved = (await removeLocks(repo)).length;
  // this process's index cache (if open) absorbed files that are gone now: rebuild it
  await repo.refreshIndex();
  return {
    packsDeleted,
    packsWritten: newPacks.size,
    blobsRepacked,
    indexFilesWritten: newIndexFiles.size,
    indexFilesRemoved,
    bytesRemoved,
    bytesWritten,
    bytesFreed: bytesRemoved - bytesWritten,
    tempFilesRemoved,
    staleLocksRemoved,
  };
}

/** Removes a file and returns its size (0 when it was gone already). */
async function removeCounting(repo: Repository, type: 'pack' | 'index', name: string): Promise<number> {
  try {
    const { size } = await repo.backend.stat({ type, name });
    await repo.backend.remove({ type, name });
    return size;
  } catch (err) {
    if (isStowageError(err, 'NOT_FOUND')) return 0;
    throw err;
  }
}
