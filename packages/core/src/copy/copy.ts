/**
 * Copying snapshots between repositories (restic's `copy`): a second site, another cloud.
 *
 * - Which: the snapshots `refs` names (ids, prefixes, "latest", image references; "latest"
 *   is the newest that matches `filter`), else every snapshot that matches `filter`.
 * - Once: a snapshot whose original id (its `original`, else its id) is already the
 *   original id of a target snapshot is skipped, so a second copy transfers nothing.
 * - Kept: every fact of the snapshot (facts.ts); the copy's `original` names the source.
 * - Data: only what the target lacks. Two ways, chosen per run (`mode`, default auto):
 *   'blobs' when both repositories cut and name chunks alike (same chunker parameters and
 *   seed, same id key: e.g. two plaintext repositories with the same chunker settings):
 *   the blobs the target lacks are copied as they are, looked up by id (blobs.ts);
 *   'rechunk' otherwise (another password or encryption means another id key and seed):
 *   the content is restored from the source and snapshotted into the target (rechunk.ts),
 *   so it dedupes with what the target holds. A tree snapshot is re-keyed instead: its
 *   blobs keep their bytes and boundaries and get the target's ids (rekey-tree.ts).
 * - Verified: every blob read is checked against its id; re-chunked content against the
 *   recorded SHA-256 before its snapshot file is written.
 * - Locks: shared on both (a concurrent gc on either waits, or we get LOCKED).
 * - Order: one snapshot at a time, oldest first; each is committed (packs, index, snapshot
 *   file) before the next starts, so an interrupted copy keeps the snapshots it finished.
 */
import { StowageError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import { commitSnapshot } from '../snapshot/commit.js';
import { lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { filterSnapshots, type SnapshotFilter } from '../snapshot/filter.js';
import { listSnapshots, resolveSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { copySnapshotBlobs } from './blobs.js';
import { copiedFacts, originalId } from './facts.js';
import { rechunkSnapshot } from './rechunk.js';
import { rekeyTreeSnapshot } from './rekey-tree.js';

export type CopyMode = 'blobs' | 'rechunk';

export interface CopyOptions {
  /** Snapshot references in the source (default: every snapshot that matches `filter`). */
  readonly refs?: readonly string[];
  readonly filter?: SnapshotFilter;
  /** auto (default): 'blobs' when the repositories cut and name chunks alike, else 'rechunk'. */
  readonly mode?: CopyMode | 'auto';
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  /** Bytes copied (op 'copy', over the whole run): read of a known total ('rechunk'), or plaintext of the blobs copied ('blobs', no total). */
  readonly progress?: ProgressFn;
  /** Each snapshot as it is skipped, started or copied. */
  readonly onEvent?: (e: CopyEvent) => void;
}

export type CopyEvent =
  | { readonly kind: 'skip'; readonly source: Snapshot; /** The target snapshot that is a copy of it already. */ readonly existing: string }
  | { readonly kind: 'start'; readonly source: Snapshot; readonly index: number; readonly count: number }
  | { readonly kind: 'copied'; readonly source: Snapshot; readonly copy: Snapshot; readonly stats: CopiedStats };

export interface CopiedStats {
  /** New blobs written to the target. */
  readonly newBlobs: number;
  /** Their plaintext bytes. */
  readonly newBytes: number;
  /** Bytes they added to the target (compressed, sealed). */
  readonly storedBytes: number;
  /** 'blobs': blobs referenced that the target had. */
  readonly presentBlobs?: number;
}

export interface CopyResult {
  readonly mode: CopyMode;
  /** Why that mode (for people). */
  readonly reason: string;
  readonly copied: readonly { readonly source: Snapshot; readonly copy: Snapshot; readonly stats: CopiedStats }[];
  readonly skipped: readonly { readonly source: Snapshot; readonly existing: string }[];
  /** Totals over the copied snapshots. */
  readonly stats: CopiedStats;
}

/** Whether the blobs of `src` can be copied into `dst` as they are, and why (or why not). */
export function copyModeFor(src: Repository, dst: Repository): { mode: CopyMode; reason: string } {
  const a = src.cutter().params;
  const b = dst.cutter().params;
  const sameChunker = a.minSize === b.minSize && a.avgSize === b.avgSize && a.maxSize === b.maxSize && a.level === b.level && a.seed === b.seed;
  const ka = src.codecSpec.idKey;
  const kb = dst.codecSpec.idKey;
  const sameIds = ka === undefined ? kb === undefined : kb !== undefined && Buffer.compare(Buffer.from(ka), Buffer.from(kb)) === 0;
  if (sameIds && sameChunker) return { mode: 'blobs', reason: 'both repositories cut and name chunks alike: blobs are copied as they are' };
  const why = !sameIds
    ? src.encrypted || dst.encrypted
      ? 'the repositories have different keys (blob ids are keyed BLAKE3)'
      : 'the repositories name blobs differently'
    : 'the chunker parameters differ';
  return { mode: 'rechunk', reason: `${why}: content is read from the source and re-chunked into the target` };
}

/** Copies snapshots of `src` into `dst` (see the file header). */
export async function copySnapshots(src: Repository, dst: Repository, opts: CopyOptions = {}): Promise<CopyResult> {
  if (src.config.id === dst.config.id) throw new StowageError('INVALID_ARGUMENT', `the source and the target are the same repository (id ${src.config.id.slice(0, 8)})`);
  const auto = copyModeFor(src, dst);
  const mode = opts.mode === undefined || opts.mode === 'auto' ? auto.mode : opts.mode;
  if (mode === 'blobs' && auto.mode !== 'blobs') throw new StowageError('INVALID_ARGUMENT', `blobs cannot be copied as they are: ${auto.reason.split(':')[0]}`);
  const reason = mode === auto.mode ? auto.reason : 'asked for: content is read from the source and re-chunked into the target';
  await using _src = await lockRepository(src, 'shared');
  await using _dst = await lockRepository(dst, 'shared');

  const chosen = await selectSnapshots(src, opts.refs, opts.filter);
  const have = new Map<string, string>();
  for (const s of await listSnapshots(dst)) have.set(originalId(s), s.id);
  const skipped: { source: Snapshot; existing: string }[] = [];
  const todo: Snapshot[] = [];
  for (const s of chosen) {
    const existing = have.get(originalId(s));
    if (existing !== undefined) {
      skipped.push({ source: s, existing });
      opts.onEvent?.({ kind: 'skip', source: s, existing });
    } else {
      todo.push(s);
      have.set(originalId(s), ''); // named twice: copied once
    }
  }

  const copied: { source: Snapshot; copy: Snapshot; stats: CopiedStats }[] = [];
  const total = { newBlobs: 0, newBytes: 0, storedBytes: 0, presentBlobs: 0 };
  // progress over the whole run: bytes read ('rechunk', of a known total), bytes of blobs copied ('blobs')
  let base = 0;
  const bytesTotal = mode === 'rechunk' && !todo.some(isTree) ? todo.reduce((n, s) => n + s.source.size, 0) : undefined;
  const outer = opts.progress;
  const progress: ProgressFn | undefined = outer && ((e) => outer({ op: 'copy', done: base + e.done, total: bytesTotal, unit: 'bytes' }));
  for (const [i, s] of todo.entries()) {
    opts.signal?.throwIfAborted();
    opts.onEvent?.({ kind: 'start', source: s, index: i, count: todo.length });
    const each = { ...opts, progress };
    const r = mode === 'blobs' ? await copyAsIs(src, dst, s, each) : isTree(s) ? await copyRekeyed(src, dst, s, each) : await copyRechunked(src, dst, s, each);
    base += mode === 'blobs' || isTree(s) ? r.stats.newBytes : s.source.size;
    copied.push({ source: s, ...r });
    total.newBlobs += r.stats.newBlobs;
    total.newBytes += r.stats.newBytes;
    total.storedBytes += r.stats.storedBytes;
    total.presentBlobs += r.stats.presentBlobs ?? 0;
    opts.onEvent?.({ kind: 'copied', source: s, copy: r.copy, stats: r.stats });
  }
  const stats: CopiedStats = mode === 'blobs' ? total : { newBlobs: total.newBlobs, newBytes: total.newBytes, storedBytes: total.storedBytes };
  return { mode, reason, copied, skipped, stats };
}

/** The snapshots named (in the order named, each once), else all that match, oldest first. */
async function selectSnapshots(src: Repository, refs: readonly string[] | undefined, filter: SnapshotFilter | undefined): Promise<Snapshot[]> {
  const all = await listSnapshots(src);
  if (!refs || refs.length === 0) return filterSnapshots(all, filter);
  const byId = new Map(all.map((s) => [s.id, s]));
  const out = new Map<string, Snapshot>();
  for (const ref of refs) {
    const id = await resolveSnapshot(src, ref, filter);
    const s = byId.get(id);
    if (!s) throw new StowageError('NOT_FOUND', `snapshot ${id} disappeared from the source while copying`);
    out.set(id, s);
  }
  return [...out.values()];
}

async function copyAsIs(src: Repository, dst: Repository, s: Snapshot, opts: CopyOptions): Promise<{ copy: Snapshot; stats: CopiedStats }> {
  const session = new WriteSession(dst, opts.workers === undefined ? {} : { workers: opts.workers });
  try {
    const r = await copySnapshotBlobs(src, dst, session, s, { workers: opts.workers, progress: opts.progress, signal: opts.signal });
    await session.flush(); // packs, then the index file, then (below) the snapshot file
    const manifest = copiedFacts(s, originalId(s));
    await using lock = await lockRepository(dst, 'shared'); // the one copySnapshots holds (re-entrant)
    const id = await commitSnapshot(dst, lock, manifest);
    return { copy: { id, ...manifest }, stats: { newBlobs: session.stats.newBlobs, newBytes: session.stats.newBytes, storedBytes: session.stats.storedBytes, presentBlobs: r.present } };
  } catch (err) {
    await session.abort(err);
    throw err;
  }
}

function isTree(s: Snapshot): boolean {
  return s.tree !== undefined || s.format === 'tree';
}

async function copyRekeyed(src: Repository, dst: Repository, s: Snapshot, opts: CopyOptions): Promise<{ copy: Snapshot; stats: CopiedStats }> {
  const r = await rekeyTreeSnapshot(src, dst, s, originalId(s), { workers: opts.workers, signal: opts.signal, progress: opts.progress });
  return { copy: r.copy, stats: { newBlobs: r.newBlobs, newBytes: r.newBytes, storedBytes: r.storedBytes } };
}

async function copyRechunked(src: Repository, dst: Repository, s: Snapshot, opts: CopyOptions): Promise<{ copy: Snapshot; stats: CopiedStats }> {
  const { copy, run } = await rechunkSnapshot(src, dst, s, originalId(s), { workers: opts.workers, signal: opts.signal, progress: opts.progress });
  return { copy, stats: { newBlobs: run.newChunks, newBytes: run.bytesNew, storedBytes: run.bytesStored } };
}
