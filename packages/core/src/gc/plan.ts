/**
 * gc, part 1: the plan. Reads the repository, writes nothing.
 *
 * 1. Load every index file into an IndexTable (no JS object per blob; index-table.ts).
 * 2. Mark (mark.ts): every snapshot's chunk-list blobs and every chunk they list. A list blob
 *    that is already marked is not read again (snapshots that reuse a parent's content share
 *    lists). A blob stored twice is marked once: the copy `find` returns is the one kept.
 * 3. Classify every pack (classifyPacks, a pure function): nothing used -> delete; all used ->
 *    keep; partly used -> repack, most-unused first, until the unused bytes left are within
 *    `maxUnused` (default 5%: unused <= 5% of used + unused, as restic's --max-unused).
 *    Packs in data/ that no index file names are debris of interrupted writers or gc runs:
 *    delete. Index entries of packs that do not exist are dropped when nothing uses them.
 *
 * gc refuses to plan (CORRUPT, nothing deleted) when a snapshot cannot be read, a snapshot
 * references a blob no index names, or a used blob lives only in a missing pack: deleting
 * on a damaged repository could destroy what `repair index` or a manual fix would recover.
 */
import { StowageError } from '../errors.js';
import { IndexTable } from '../blob-index/index-table.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { listSnapshots } from '../snapshot/find.js';
import { filterIsEmpty, filterSnapshots, type SnapshotFilter } from '../snapshot/filter.js';
import { markUsed, refuse } from './mark.js';
import { isSize, parseSize } from '../units/size.js';

/** How much unused data gc may leave in partly used packs. */
export type MaxUnused = { readonly percent: number } | { readonly bytes: number } | 'unlimited';

export const DEFAULT_MAX_UNUSED: MaxUnused = { percent: 5 };

/** What the plan knows about one pack (bytes are stored blob bytes; `size` is the file). */
export interface PackStats {
  readonly id: string;
  readonly size: number;
  readonly blobs: number;
  readonly usedBlobs: number;
  readonly usedBytes: number;
  readonly unusedBytes: number;
}

export type PackAction = 'keep' | 'repack' | 'delete';

export interface PackDecision extends PackStats {
  readonly action: PackAction;
}

export interface GcStats {
  /** Blob entries in the index (copies counted), used ones, and extra copies of a blob. */
  readonly blobs: number;
  readonly usedBlobs: number;
  readonly duplicateBlobs: number;
  /** Pack files and their bytes (indexed and unindexed). */
  readonly packs: number;
  readonly packBytes: number;
  readonly usedBytes: number;
  readonly unusedBytes: number;
  /** Bytes of packs deleted whole (unused and unindexed). */
  readonly deleteBytes: number;
  /** Bytes of packs repacked, and of their blobs that are copied. */
  readonly repackBytes: number;
  readonly repackUsedBytes: number;
  /** Expected bytes freed (deleted + repacked - copied). */
  readonly freeBytes: number;
  /** Unused bytes left in kept packs. */
  readonly unusedAfter: number;
}

export interface GcPlan {
  readonly snapshots: number;
  readonly maxUnused: MaxUnused;
  /** Index files read (superseded when the index is rewritten). */
  readonly indexFiles: readonly string[];
  readonly packs: readonly PackDecision[];
  /** Packs in data/ that no index file names. */
  readonly unindexedPacks: readonly { readonly id: string; readonly size: number }[];
  /** Packs the index names that do not exist (none of their blobs is used). */
  readonly missingPacks: readonly string[];
  /** True when new index files are written (packs deleted or repacked, or missing packs dropped). */
  readonly rewriteIndex: boolean;
  /** True when planned for some snapshots only (PlanOptions.filter): such a plan is never executed. */
  readonly filtered?: boolean;
  readonly stats: GcStats;
  /** The index table with its marks, for executeGc (not enumerable: plans print as JSON). */
  readonly table: IndexTable;
}

export interface PlanOptions {
  readonly maxUnused?: MaxUnused;
  /**
   * Plan as if only the matching snapshots existed (snapshot/filter.ts): what gc would free
   * once the others were forgotten. Only for a plan that is not executed (gc refuses it otherwise).
   */
  readonly filter?: SnapshotFilter;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

/** Parses "5%", "0", "200M", "1G", "unlimited". INVALID_ARGUMENT otherwise. */
export function parseMaxUnused(s: string): MaxUnused {
  const v = s.trim().toLowerCase();
  if (v === 'unlimited') return 'unlimited';
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (m) {
    const p = Number(m[1]);
    if (p > 100) throw new StowageError('INVALID_ARGUMENT', `--max-unused ${s}: a percentage must be 0..100`);
    return p === 100 ? 'unlimited' : { percent: p };
  }
  if (isSize(v)) return { bytes: parseSize(v, '--max-unused') };
  throw new StowageError('INVALID_ARGUMENT', `invalid --max-unused "${s}" (examples: 5%, 0, 200M, 2T, unlimited; sizes as in --pack-size)`);
}

export function formatMaxUnused(m: MaxUnused): string {
  return m === 'unlimited' ? 'unlimited' : 'percent' in m ? `${m.percent}%` : `${m.bytes} bytes`;
}

/** Unused bytes allowed to remain beside `used` bytes. */
export function maxUnusedBytes(m: MaxUnused, used: number): number {
  if (m === 'unlimited') return Infinity;
  if ('bytes' in m) return m.bytes;
  return Math.floor((m.percent / (100 - m.percent)) * used);
}

/**
 * Decides what happens to each pack (pure). Partly used packs are repacked in order of
 * their unused share (then unused bytes, then id) until the unused bytes left in kept
 * packs are within `maxUnused` of the used bytes.
 */
export function classifyPacks(packs: readonly PackStats[], maxUnused: MaxUnused): PackDecision[] {
  const action = new Map<string, PackAction>();
  const partial: PackStats[] = [];
  let used = 0;
  let unusedLeft = 0;
  for (const p of packs) {
    used += p.usedBytes;
    if (p.usedBlobs === 0) action.set(p.id, 'delete');
    else if (p.usedBlobs === p.blobs) action.set(p.id, 'keep');
    else {
      partial.push(p);
      unusedLeft += p.unusedBytes;
    }
  }
  const allowed = maxUnusedBytes(maxUnused, used);
  partial.sort((a, b) => {
    const fa = a.unusedBytes / Math.max(1, a.usedBytes + a.unusedBytes);
    const fb = b.unusedBytes / Math.max(1, b.usedBytes + b.unusedBytes);
    if (fa !== fb) return fb - fa;
    if (a.unusedBytes !== b.unusedBytes) return b.unusedBytes - a.unusedBytes;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  for (const p of partial) {
    if (unusedLeft > allowed) {
      action.set(p.id, 'repack');
      unusedLeft -= p.unusedBytes;
    } else action.set(p.id, 'keep');
  }
  return packs.map((p) => ({ ...p, action: action.get(p.id)! }));
}

/** Builds the gc plan (the caller holds the exclusive lock; planning alone needs only a shared one). */
export async function planGc(repo: Repository, opts: PlanOptions = {}): Promise<GcPlan> {
  const maxUnused = opts.maxUnused ?? DEFAULT_MAX_UNUSED;
  // 1. the pack listing, the snapshots, and every index file into a table
  const packSizes = new Map<string, number>();
  for await (const f of repo.backend.list('pack')) packSizes.set(f.name, f.size);
  const snaps = filterSnapshots(
    await listSnapshots(repo).catch((err: unknown) => {
      throw refuse(`a snapshot file cannot be read: ${(err as Error).message}`, err);
    }),
    opts.filter,
  );
  const table = await IndexTable.load(repo, { packSizes });
  opts.signal?.throwIfAborted();
  // 2. mark (mark.ts)
  await markUsed(repo, table, snaps, opts);
  // 3. per-pack statistics, then what happens to each pack
  const { stats, missingPacks, usedBlobs } = packStatistics(table);
  const packs = classifyPacks(stats, maxUnused);
  const unindexedPacks = [...packSizes].filter(([id]) => table.packNo(id) === undefined).map(([id, size]) => ({ id, size }));
  const plan: Omit<GcPlan, 'table'> = {
    snapshots: snaps.length,
    maxUnused,
    indexFiles: table.indexFiles,
    packs,
    unindexedPacks,
    missingPacks,
    rewriteIndex: missingPacks.length > 0 || packs.some((p) => p.action !== 'keep'),
    ...(!filterIsEmpty(opts.filter) && { filtered: true }),
    stats: summarize(table, packs, unindexedPacks, usedBlobs),
  };
  return Object.defineProperty(plan, 'table', { value: table, enumerable: false }) as GcPlan;
}

/**
 * What each indexed pack holds, used and unused (stored bytes), from the table's marks. The
 * packs that do not exist are listed apart; refuses when one holds a used blob.
 */
function packStatistics(table: IndexTable): { stats: PackStats[]; missingPacks: string[]; usedBlobs: number } {
  const stats: PackStats[] = [];
  const missingPacks: string[] = [];
  let usedBlobs = 0;
  for (const p of table.packs) {
    const s = packUse(table, p.first, p.count);
    usedBlobs += s.usedBlobs;
    if (p.size === undefined) {
      if (s.usedBlobs > 0) throw refuse(`pack ${p.id} is missing but holds ${s.usedBlobs} blob(s) that snapshots use; run "stowage check"`);
      missingPacks.push(p.id);
      continue;
    }
    stats.push({ id: p.id, size: p.size, ...s });
  }
  return { stats, missingPacks, usedBlobs };
}

/** Blobs, used blobs, and used and unused stored bytes of the table's slots first..first+count-1 (one pack). */
function packUse(table: IndexTable, first: number, count: number): Omit<PackStats, 'id' | 'size'> {
  let used = 0;
  let usedBytes = 0;
  let unusedBytes = 0;
  let blobs = 0;
  // a frame's bytes count once, split between used and unused by its members' plaintext
  // (repack copies a fully used frame, and re-compresses the used members of a partly used one)
  const frames = new Map<number, { length: number; raw: number; usedRaw: number }>();
  for (let e = first; e < first + count; e++) {
    if (table.isRef(e)) continue;
    blobs++;
    if (table.marked(e)) used++;
    if (table.isFramed(e)) {
      let f = frames.get(table.offset(e));
      if (!f) frames.set(table.offset(e), (f = { length: table.length(e), raw: 0, usedRaw: 0 }));
      f.raw += table.rawLength(e);
      if (table.marked(e)) f.usedRaw += table.rawLength(e);
      continue;
    }
    if (table.marked(e)) usedBytes += table.length(e);
    else unusedBytes += table.length(e);
  }
  for (const f of frames.values()) {
    const u = f.raw > 0 ? Math.round((f.length * f.usedRaw) / f.raw) : 0;
    usedBytes += u;
    unusedBytes += f.length - u;
  }
  return { blobs, usedBlobs: used, usedBytes, unusedBytes };
}

/** The plan's totals. */
function summarize(table: IndexTable, packs: readonly PackDecision[], unindexedPacks: readonly { readonly size: number }[], usedBlobs: number): GcStats {
  let packBytes = 0;
  let usedBytes = 0;
  let unusedBytes = 0;
  let deleteBytes = 0;
  let repackBytes = 0;
  let repackUsedBytes = 0;
  let unusedAfter = 0;
  for (const p of packs) {
    packBytes += p.size;
    usedBytes += p.usedBytes;
    unusedBytes += p.unusedBytes;
    if (p.action === 'delete') deleteBytes += p.size;
    else if (p.action === 'repack') {
      repackBytes += p.size;
      repackUsedBytes += p.usedBytes;
    } else unusedAfter += p.unusedBytes;
  }
  for (const u of unindexedPacks) {
    packBytes += u.size;
    deleteBytes += u.size;
  }
  return {
    blobs: table.count - table.refs,
    usedBlobs,
    duplicateBlobs: table.duplicates,
    packs: packs.length + unindexedPacks.length,
    packBytes,
    usedBytes,
    unusedBytes,
    deleteBytes,
    repackBytes,
    repackUsedBytes,
    freeBytes: deleteBytes + repackBytes - repackUsedBytes,
    unusedAfter,
  };
}
