/**
 * gc, part 2: executing a plan, in the order that keeps every crash harmless
 * (restic's prune order):
 *
 * 1. repack (repack.ts): read the used blobs of each repacked pack (ranged reads of at most
 *    2 MiB), verify each against its id (a damaged blob stops gc before anything is deleted),
 *    copy the stored bytes into new packs, upload them and read their trailers back
 *    (pack/upload.ts, the write sessions' uploader);
 * 2. write new index files (index-files.ts) covering the new packs and every kept pack (all entries, so the
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
import { isStowageError } from '../errors.js';
import { ENTRY_BYTES } from '../pack/entry.js';
import type { FinishedPack } from '../pack/pack-writer.js';
import { uploadPack } from '../pack/upload.js';
import { removeLocks } from '../repository/lock.js';
import type { RepositoryLock } from '../repository/lock.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { GcIndexFiles } from './index-files.js';
import type { GcPlan } from './plan.js';
import { Repacker } from './repack.js';

export { ENTRIES_PER_INDEX_FILE } from './index-files.js';

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
  const index = new GcIndexFiles(repo);
  const written = await repackAll(repo, plan, index, opts);
  // 2. index files for the kept packs (the new ones were added as they were uploaded)
  if (plan.rewriteIndex) await indexKeptPacks(plan, index);
  await index.flush();
  // 3. the point of no return: the lock must still be ours
  opts.signal?.throwIfAborted();
  await opts.lock?.verify();
  const oldIndex = plan.rewriteIndex
    ? await removeAll(
        repo,
        'index',
        plan.indexFiles.filter((name) => !index.names.has(name)),
        opts.signal,
      )
    : { files: 0, bytes: 0 };
  // 4. packs, then debris
  const doomed = [...plan.packs.filter((p) => p.action !== 'keep').map((p) => p.id), ...plan.unindexedPacks.map((p) => p.id)].filter((id) => !written.packs.has(id));
  const packs = await removeAll(repo, 'pack', doomed, opts.signal);
  const tempFilesRemoved = (await repo.backend.removeTemporary?.(['pack', 'index', 'snapshot'])) ?? 0;
  const staleLocksRemoved = (await removeLocks(repo)).length;
  // this process's index cache (if open) absorbed files that are gone now: rebuild it
  await repo.refreshIndex();
  const bytesRemoved = oldIndex.bytes + packs.bytes;
  const bytesWritten = written.bytes + index.bytesWritten;
  return {
    packsDeleted: packs.files,
    packsWritten: written.packs.size,
    blobsRepacked: written.blobs,
    indexFilesWritten: index.names.size,
    indexFilesRemoved: oldIndex.files,
    bytesRemoved,
    bytesWritten,
    bytesFreed: bytesRemoved - bytesWritten,
    tempFilesRemoved,
    staleLocksRemoved,
  };
}

/**
 * 1. Repacks the plan's partly used packs (repack.ts); each new pack is uploaded (its trailer
 * read back) and then added to the new index. Returns the new packs, their bytes and the
 * blobs copied.
 */
async function repackAll(repo: Repository, plan: GcPlan, index: GcIndexFiles, opts: ExecuteOptions): Promise<{ packs: Set<string>; bytes: number; blobs: number }> {
  const { table } = plan;
  const packs = new Set<string>();
  let bytes = 0;
  const onPack = async (pack: FinishedPack): Promise<void> => {
    await uploadPack(repo.backend, pack);
    packs.add(pack.id);
    bytes += pack.size;
    await index.addPack(pack.id, pack.slots, pack.slotCount);
  };
  const repack = plan.packs.filter((p) => p.action === 'repack');
  const repacker = new Repacker(repo, table, onPack, repack.length);
  // the plan's id lookup is not needed any more: give its memory back before copying
  table.releaseLookup();
  let done = 0;
  const total = repack.reduce((n, p) => n + p.size, 0);
  for (const p of repack) {
    opts.signal?.throwIfAborted();
    await repacker.repack(p.id);
    done += p.size;
    opts.progress?.({ op: 'gc', done, total, unit: 'bytes', phase: 'repack' });
  }
  await repacker.finish();
  return { packs, bytes, blobs: repacker.blobsRepacked };
}

/** 2. Adds every kept pack's entries, as the table holds them, to the new index. */
async function indexKeptPacks(plan: GcPlan, index: GcIndexFiles): Promise<void> {
  const { table } = plan;
  for (const p of plan.packs) {
    if (p.action !== 'keep') continue;
    const tp = table.packAt(table.packNo(p.id)!);
    const raw = Buffer.allocUnsafe(tp.count * ENTRY_BYTES);
    for (let i = 0; i < tp.count; i++) table.writeEntry(tp.first + i, raw, i * ENTRY_BYTES);
    await index.addPack(p.id, raw, tp.count);
  }
}

/** Removes files of one type; returns how many and their bytes (a file gone already counts 0 bytes). */
async function removeAll(repo: Repository, type: 'pack' | 'index', names: readonly string[], signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  for (const name of names) bytes += await removeCounting(repo, type, name, signal);
  return { files: names.length, bytes };
}

/** Removes a file and returns its size (0 when it was gone already). */
async function removeCounting(repo: Repository, type: 'pack' | 'index', name: string, signal?: AbortSignal): Promise<number> {
  try {
    const { size } = await repo.backend.stat({ type, name });
    await repo.backend.remove({ type, name }, signal ? { signal } : {});
    return size;
  } catch (err) {
    if (isStowageError(err, 'NOT_FOUND')) return 0;
    throw err;
  }
}
