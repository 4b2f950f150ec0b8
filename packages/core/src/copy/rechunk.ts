/**
 * Copying a snapshot by re-chunking: its content is read through the restore path of the
 * source (every blob verified against its id, the whole stream against the recorded
 * SHA-256) and written through the snapshot path of the target (its chunker, id key,
 * compression, encryption, dedup against what the target holds), one stream, no temp file.
 * Used when the two repositories cut or name chunks differently (copy.ts decides).
 *
 * The snapshot file is written only after the restore side has verified the whole input,
 * and only when the target computed the same SHA-256 and size: a copy never commits
 * content that differs from the original.
 */
import { StowageError, corrupt } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { restoreToStream } from '../restore/restore.js';
import { snapshotStream } from '../snapshot/create.js';
import type { Snapshot, SnapshotManifest, SnapshotSummary } from '../snapshot/manifest.js';
import type { InputFormat } from '../split/detect.js';
import { copiedFacts } from './facts.js';
import { handoff } from './handoff.js';

export interface RechunkOptions {
  readonly workers?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly progress?: ProgressFn | undefined;
}

/**
 * Copies `snap` of `src` into `dst` as a new snapshot whose `original` is `original`; returns
 * it, and what this run stored (the copy's own summary is the original's).
 */
export async function rechunkSnapshot(src: Repository, dst: Repository, snap: Snapshot, original: string, opts: RechunkOptions = {}): Promise<{ copy: Snapshot; run: SnapshotSummary }> {
  if (snap.tree || snap.format === 'tree' || snap.source.kind === 'dir') {
    throw new StowageError('UNSUPPORTED_FORMAT', `snapshot ${snap.id.slice(0, 8)} is a snapshot of directories: it has no single stream to re-chunk (copy.ts re-keys it instead)`);
  }
  const h = handoff();
  const restoring = restoreToStream(src, snap.id, h.writable, {
    // one window prepared ahead: the snapshot side is the slower one, more would only hold memory
    ahead: 1,
    ...(opts.workers !== undefined && { workers: opts.workers }),
    ...(opts.signal && { signal: opts.signal }),
    ...(opts.progress && { progress: (e) => opts.progress!({ op: 'copy', done: e.done, total: e.total }) }),
  }).then(
    (r) => {
      h.end(); // verified: the snapshot side may now finish and commit
      return r;
    },
    (err: unknown) => {
      h.fail(err);
      throw err;
    },
  );
  let run: SnapshotSummary | undefined;
  const finalize = (m: SnapshotManifest): SnapshotManifest => {
    if (m.source.sha256 !== snap.source.sha256 || m.source.size !== snap.source.size) {
      throw corrupt(`copy of snapshot ${snap.id}: the target read ${m.source.size} bytes with sha256 ${m.source.sha256}, the original has ${snap.source.size} bytes with sha256 ${snap.source.sha256}`);
    }
    run = m.summary;
    return { ...copiedFacts(snap, original), content: m.content, ...(m.basis && { basis: m.basis }) };
  };
  const storing = snapshotStream(
    dst,
    h.pieces,
    { kind: snap.source.kind === 'stdin' ? 'stdin' : 'file', path: snap.source.path, ...(snap.source.stat && { stat: snap.source.stat }) },
    {
      name: snap.name,
      tags: snap.tags,
      hostname: snap.hostname,
      time: new Date(snap.time),
      allowEmpty: true,
      format: splitAs(snap),
      finalize,
      ...(opts.workers !== undefined && { workers: opts.workers }),
      ...(opts.signal && { signal: opts.signal }),
    },
  );
  const [r, s] = await Promise.allSettled([restoring, storing]);
  // the restore's error is the cause when both failed (the snapshot side only saw it end)
  if (r.status === 'rejected') throw r.reason;
  if (s.status === 'rejected') throw s.reason;
  return { copy: s.value, run: run! };
}

/** How the target splits the content: as the source did (image archives as tar: their kind is found again). */
function splitAs(snap: Snapshot): InputFormat {
  switch (snap.format) {
    case 'raw':
      return 'raw';
    case 'tar':
    case 'docker':
    case 'oci':
      return 'tar';
    default:
      return 'auto';
  }
}
