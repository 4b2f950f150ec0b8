/**
 * gc's mark phase (plan.ts step 2): every snapshot's chunk-list blobs and every chunk they
 * list, walked with the one chunk-list walker (object/chunk-list.ts) from where the index
 * table says. A list blob already marked is not read again (snapshots that reuse a parent's
 * content share lists); a delta blob marks its base too; file maps are kept, never walked.
 * A blob stored twice is marked once: the copy `find` returns is the one kept.
 */
import type { IndexTable } from '../blob-index/index-table.js';
import { corrupt, type StowageError } from '../errors.js';
import { walkChunkList, type ListLoader } from '../object/chunk-list.js';
import { tableListLoader } from '../object/table-lists.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { snapshotLeaves, snapshotRoots } from '../snapshot/roots.js';

/** Referenced blobs not in the index that are named before gc gives up counting. */
const MAX_MISSING = 1000;

/** gc's refusal: CORRUPT, saying nothing was deleted. */
export function refuse(why: string, cause?: unknown): StowageError {
  return corrupt(`gc refuses to run: ${why}. Nothing was deleted.`, cause);
}

/**
 * Marks in `table` everything `snaps` use. Refuses (CORRUPT, see refuse) when a chunk list
 * cannot be read or is malformed, or when a snapshot references blobs no index names.
 */
export async function markUsed(
  repo: Pick<Repository, 'readPackRange' | 'codec'>,
  table: IndexTable,
  snaps: readonly Snapshot[],
  opts: { progress?: ProgressFn | undefined; signal?: AbortSignal | undefined },
): Promise<void> {
  const missing = new Map<string, string>(); // blob hex -> a snapshot id referencing it
  const loadList = tableListLoader(repo, table); // plaintext of one chunk list at a time
  let done = 0;
  for (const s of snaps) {
    for (const hex of snapshotRoots(s)) {
      const e = table.find(Buffer.from(hex, 'hex'));
      if (e < 0) {
        if (!missing.has(hex)) missing.set(hex, s.id);
        continue;
      }
      if (!table.mark(e)) continue; // this list (and so its chunks) was marked already
      await markList(table, hex, s.id, loadList, missing);
      opts.signal?.throwIfAborted();
    }
    for (const hex of snapshotLeaves(s)) {
      const e = table.find(Buffer.from(hex, 'hex'));
      if (e >= 0) table.mark(e);
      else if (!missing.has(hex)) missing.set(hex, s.id);
    }
    opts.progress?.({ op: 'gc', done: ++done, total: snaps.length, unit: 'snapshots', phase: 'mark' });
  }
  if (missing.size > 0) {
    const ex = [...missing]
      .slice(0, 3)
      .map(([b, s]) => `${b.slice(0, 16)}… (snapshot ${s.slice(0, 8)})`)
      .join(', ');
    throw refuse(
      `${missing.size >= MAX_MISSING ? `at least ${MAX_MISSING}` : missing.size} blob(s) referenced by snapshots are not in the index, e.g. ${ex}; run "stowage check", and "stowage repair index" if their packs still exist`,
    );
  }
}

/** Marks the chunks of list `hex` (of snapshot `snapshot`), walked in place; records what the index lacks in `missing`. */
async function markList(table: IndexTable, hex: string, snapshot: string, loadList: ListLoader, missing: Map<string, string>): Promise<void> {
  let loaded = false;
  const load: ListLoader = async (id, h) => {
    const plain = await loadList(id, h);
    loaded = true;
    return plain;
  };
  try {
    await walkChunkList(hex, load, (list, at) => {
      const c = table.find(list, at);
      if (c >= 0) {
        if (table.mark(c) && table.isDelta(c)) {
          // a delta blob needs its base: keep it too
          const b = table.baseEntry(c);
          if (b >= 0) table.mark(b);
          else if (missing.size < MAX_MISSING) missing.set(b === -1 ? table.idHex(c + 1) : table.idHex(c), snapshot);
        }
      } else if (missing.size < MAX_MISSING) {
        const h = list.toString('hex', at, at + 32);
        if (!missing.has(h)) missing.set(h, snapshot);
      }
    });
  } catch (err) {
    if (loaded) throw refuse(`chunk list ${hex} of snapshot ${snapshot} is malformed: ${(err as Error).message}`);
    throw refuse(`chunk list ${hex} of snapshot ${snapshot} cannot be read: ${(err as Error).message}`, err);
  }
}
