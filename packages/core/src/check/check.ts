/**
 * `check`: verifies a repository and reports typed findings.
 *
 * Structure (always):
 * - every snapshot file loads (its name is the hash of its bytes) and parses;
 * - every index file loads; every snapshot's chunk-list blobs are in the index and load
 *   (verified against their ids); every chunk they list is in the index, with the length
 *   the list records;
 * - every pack the index names exists, and its trailer reads back and agrees with the
 *   index entry by entry;
 * - packs that no index file names are reported as information (debris of interrupted
 *   writers or gc runs, which the next gc deletes), as are stale locks.
 *
 * `readData` (or a subset: packs n of m, or a percentage) reads whole packs, checks that each
 * pack's content matches its name, and decodes and re-hashes every blob.
 *
 * Every error finding names what is damaged (snapshot, index file, pack, blob) and the
 * snapshots that depend on it (a second pass over the chunk lists, only when there are
 * pack or blob findings). Snapshots are listed before the index is read and the index
 * before the packs (restic's reader order), so writers running meanwhile cause at most
 * "unreferenced pack" information, never errors. Check takes a shared lock, so it runs
 * beside snapshots but never while gc deletes (unless `lock: false`).
 *
 * Phases, in run(): 1 snapshots, 2 index files and the pack listing, 3 chunk lists and chunks
 * (lists.ts), 4 packs and trailers (packs.ts), 5 read data (read-data.ts), 6 locks, 7 which
 * snapshots depend on what is damaged (lists.ts). Findings and damage: findings.ts.
 *
 * Memory: the index table (index-table.ts, about 60 bytes per blob) and one pack at a time.
 */
import { isStowageError } from '../errors.js';
import { IndexTable } from '../blob-index/index-table.js';
import type { ProgressFn } from '../progress.js';
import { listLocks, lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { loadSnapshot } from '../snapshot/find.js';
import { filterIsEmpty, filterSnapshots, type SnapshotFilter } from '../snapshot/filter.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { Damage, Findings, type CheckContext, type Finding } from './findings.js';
import { ContentCheck } from './lists.js';
import { checkPacks } from './packs.js';
import { readData, type ReadDataSubset } from './read-data.js';

export type { Finding, FindingKind, Severity } from './findings.js';
export { inSubset, parseReadDataSubset, type ReadDataSubset } from './read-data.js';

export interface CheckOptions {
  /** Read and verify every blob of every pack (or of `readDataSubset`). */
  readonly readData?: boolean;
  readonly readDataSubset?: ReadDataSubset;
  /** Take a shared lock (default true). */
  readonly lock?: boolean;
  /**
   * Check the chunk lists and chunks of the matching snapshots only (snapshot/filter.ts); the
   * index, the packs and --read-data are checked whole. Default: every snapshot.
   */
  readonly filter?: SnapshotFilter;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface CheckResult {
  readonly findings: Finding[];
  readonly errors: number;
  readonly snapshots: number;
  readonly indexFiles: number;
  readonly packs: number;
  readonly blobs: number;
  readonly packsRead: number;
  readonly blobsRead: number;
  readonly bytesRead: number;
  readonly seconds: number;
}

export async function check(repo: Repository, opts: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const lock = opts.lock === false ? undefined : await lockRepository(repo, 'shared', opts.signal ? { signal: opts.signal } : {});
  try {
    return await run(repo, opts, t0);
  } finally {
    await lock?.release();
  }
}

async function run(repo: Repository, opts: CheckOptions, t0: number): Promise<CheckResult> {
  const findings = new Findings();
  // 1. snapshots (before the index: a snapshot listed now has its index files already)
  const { loaded, names } = await loadSnapshots(repo, findings);
  const filtered = !filterIsEmpty(opts.filter);
  const snaps = filterSnapshots(loaded, opts.filter);
  // 2. index files, then the pack listing
  const { table, sizes } = await loadIndex(repo, findings);
  opts.signal?.throwIfAborted();
  const ctx: CheckContext = { repo, table, findings, damage: new Damage(table), progress: opts.progress, signal: opts.signal };
  // 3. every snapshot's chunk lists and chunks
  const content = new ContentCheck(ctx);
  await content.check(snaps);
  // 4. packs: existence and trailers
  const trailerOk = await checkPacks(ctx, sizes, filtered);
  // 5. read data
  const read = opts.readData || opts.readDataSubset ? await readData(ctx, opts.readDataSubset, trailerOk) : { packsRead: 0, blobsRead: 0, bytesRead: 0 };
  // 6. locks
  await checkLocks(repo, findings);
  // 7. which snapshots depend on damaged packs and blobs
  if (ctx.damage.any) await content.attribute(snaps);
  return {
    findings: findings.list,
    errors: findings.errors,
    snapshots: filtered ? snaps.length : names.length,
    indexFiles: table.indexFiles.length,
    packs: sizes.size,
    blobs: table.count - table.refs,
    ...read,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** 1. Loads every snapshot file; one that does not load or parse is a finding. */
async function loadSnapshots(repo: Repository, findings: Findings): Promise<{ loaded: Snapshot[]; names: string[] }> {
  const loaded: Snapshot[] = [];
  const names = await repo.listNames('snapshot');
  for (const name of names) {
    try {
      loaded.push(await loadSnapshot(repo, name, { fresh: true })); // the stored file, not a cached copy
    } catch (err) {
      if (!isStowageError(err)) throw err;
      findings.add({ severity: 'error', kind: 'snapshot-unreadable', snapshot: name, message: `snapshot ${name}: ${err.message}`, snapshots: [name] });
    }
  }
  return { loaded, names };
}

/** 2. Reads every index file into a table (one that does not load is a finding), then lists the packs that exist. */
async function loadIndex(repo: Repository, findings: Findings): Promise<{ table: IndexTable; sizes: Map<string, number> }> {
  const table = await IndexTable.load(repo, {
    onError: (name, err) => findings.add({ severity: 'error', kind: 'index-unreadable', indexFile: name, message: `index file ${name}: ${err.message}` }),
  });
  const sizes = new Map<string, number>();
  for await (const f of repo.backend.list('pack')) sizes.set(f.name, f.size);
  table.setPackSizes(sizes);
  return { table, sizes };
}

/** 6. Stale and unreadable locks (information). */
async function checkLocks(repo: Repository, findings: Findings): Promise<void> {
  for (const l of await listLocks(repo)) {
    if (l.stale) findings.add({ severity: 'info', kind: 'lock-stale', message: `stale lock ${l.name.slice(0, 8)}: ${l.staleReason ?? ''} (remove with "stowage unlock")` });
    else if (!l.info) findings.add({ severity: 'info', kind: 'lock-stale', message: `unreadable lock ${l.name.slice(0, 8)}, ignored: ${l.error ?? ''} (remove with "stowage unlock")` });
  }
}
