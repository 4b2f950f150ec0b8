/**
 * `repair index`: rebuilds the index files from pack trailers alone.
 *
 * Reads every pack's trailer, writes new index files covering every readable pack,
 * and only then removes the index files that were there before. Packs whose trailer
 * is damaged are reported and left alone (their blobs are lost to the index).
 * Every index cache notices the removed files on its next sync and rebuilds.
 * Holds the exclusive lock (it removes index files).
 */
import { isStowageError } from '../errors.js';
import type { IndexedPack } from '../blob-index/types.js';
import { readPackTrailer } from '../pack/pack-reader.js';
import type { ProgressFn } from '../progress.js';
import { lockRepository } from './lock.js';
import type { Repository } from './repository.js';

/** Index files hold at most this many entries each. */
const ENTRIES_PER_INDEX_FILE = 200_000;

export interface RepairIndexResult {
  readonly packs: number;
  readonly blobs: number;
  readonly damagedPacks: { readonly pack: string; readonly error: string }[];
  readonly indexFilesWritten: number;
  readonly indexFilesRemoved: number;
}

export async function repairIndex(repo: Repository, opts: { progress?: ProgressFn } = {}): Promise<RepairIndexResult> {
  await using lock = await lockRepository(repo, 'exclusive'); // it removes index files: no writer or gc may run
  const before = await repo.listNames('index');
  const written = new Set<string>();
  const damagedPacks: { pack: string; error: string }[] = [];
  let batch: IndexedPack[] = [];
  let batchEntries = 0;
  let packs = 0;
  let blobs = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    written.add(await repo.saveIndexFile(batch));
    batch = [];
    batchEntries = 0;
  };
  for await (const f of repo.backend.list('pack')) {
    try {
      const tail = await readPackTrailer(repo.backend, f.name, repo.cipher, f.size);
      batch.push({ id: f.name, entries: tail.entries });
      batchEntries += tail.entries.length;
      packs++;
      blobs += tail.entries.length;
      opts.progress?.({ op: 'repair', done: packs, unit: 'packs' });
      if (batchEntries >= ENTRIES_PER_INDEX_FILE) await flush();
    } catch (err) {
      if (!isStowageError(err, 'CORRUPT')) throw err;
      damagedPacks.push({ pack: f.name, error: err.message });
    }
  }
  await flush();
  let removed = 0;
  // the point of no return: the old index files go only while the exclusive lock is still ours
  await lock.verify();
  for (const name of before) {
    if (written.has(name)) continue;
    await repo.backend.remove({ type: 'index', name }, { signal: lock.signal });
    removed++;
  }
  return { packs, blobs, damagedPacks, indexFilesWritten: written.size, indexFilesRemoved: removed };
}
