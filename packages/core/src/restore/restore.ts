/**
 * Restore: snapshot -> its object (chunk lists) -> the object reader (object/reader.ts:
 * windows of chunks -> batched index lookups -> ranged pack reads -> workers: open,
 * decompress, verify BLAKE3) -> ordered output, whose SHA-256 (and the digests of the
 * image blobs it holds) the reader computes and restore checks against the snapshot.
 *
 * Windows are prepared ahead (bounded), so reading and decoding overlap writing.
 * A file target is written to a temp file beside it and appears only when complete
 * and verified; on any failure the temp file is removed.
 */
import type { Writable } from 'node:stream';
import { corrupt } from '../errors.js';
import { describeMismatches, imageRangeHasher } from '../image/verify.js';
import { ObjectReader, REMOTE_CARRY, REMOTE_OUT_SLOTS } from '../object/reader.js';
import { LISTS_AHEAD } from '../object/chunk-list.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { loadSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { DIRECT_ALIGN } from './direct-writer.js';
import { streamWriter, writeTargetFile } from './target.js';

export interface RestoreOptions {
  /** Replace an existing target file. */
  readonly overwrite?: boolean;
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  /**
   * Plaintext bytes per window (default 4 MiB: restore of docker.tar v5, encrypted, peak
   * RSS 220-222 MB against 237-256 MB with 8 MiB windows at the same CPU-seconds; 2 MiB
   * windows 187-199 MB but 5 % more CPU).
   */
  readonly windowBytes?: number;
  /**
   * Windows prepared ahead of the one being written (default 3: on docker.tar v5, 8 MiB
   * windows, in-process restore 1.08-1.12 s with 3 against 1.26-1.67 s with 2, 1.12-1.34 s
   * with 4, at the same RSS; the workers were half idle with 2).
   */
  readonly ahead?: number;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
  /** Image snapshots: recompute each layer, config and manifest digest the archive states (default true). */
  readonly imageCheck?: boolean;
}

export interface RestoreResult {
  readonly snapshot: Snapshot;
  readonly bytes: number;
  readonly sha256: string;
  /** Image snapshots: how many stated digests (layers, configs, manifests) were recomputed and matched. */
  readonly imageBlobsVerified?: number;
  /**
   * Stated digests that did not match although the whole output matched the snapshot's
   * sha256: the archive was already like that when it was snapshotted (restored as it was).
   */
  readonly warnings?: readonly string[];
}

/** Something that takes the restored bytes in order. */
interface Sink {
  /** `room`: as PieceWriter's (target.ts). */
  write(pieces: readonly Buffer[], room?: number): Promise<void>;
  /** Windows placed for O_DIRECT writes (ObjectReadOptions.align): a file target. */
  readonly align?: number;
}

/** Restores snapshot `id` into file `target` (atomically; refuses an existing target unless overwrite). */
export async function restoreToFile(repo: Repository, id: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  return writeTargetFile(target, opts.overwrite ?? false, (write) => restore(repo, id, { write, align: DIRECT_ALIGN }, opts));
}

/**
 * Restores snapshot `id` to a stream, in order (e.g. stdout into `docker load`).
 * The bytes are verified blob by blob before they are written; the whole-stream
 * SHA-256 can only be checked at the end, after the bytes went out.
 */
export async function restoreToStream(repo: Repository, id: string, out: Writable, opts: RestoreOptions = {}): Promise<RestoreResult> {
  return restore(repo, id, { write: streamWriter(out) }, opts);
}

async function restore(repo: Repository, id: string, sink: Sink, opts: RestoreOptions): Promise<RestoreResult> {
  const snap = await loadSnapshot(repo, id);
  const image = opts.imageCheck === false ? undefined : imageRangeHasher(snap);
  // this restore's own reader and hashes (the repository and its codec pools are shared)
  const reader = new ObjectReader(repo, snap.content.lists, {
    workers: snap.source.size < 4 * 1024 * 1024 ? 0 : opts.workers,
    windowBytes: opts.windowBytes ?? 4 * 1024 * 1024,
    ahead: opts.ahead ?? 3,
    sharedMemory: true,
    sha256: true,
    // a store with per-request costs: each pack range read once for the windows around it
    ...((repo.backend.info.uploads ?? 1) > 1 && { carry: REMOTE_CARRY, listsAhead: LISTS_AHEAD, outSlots: REMOTE_OUT_SLOTS }),
    ...(image && { digestRanges: image.ranges }),
    ...(sink.align && { align: sink.align }),
    ...(opts.signal && { signal: opts.signal }),
  });
  for await (const w of reader) {
    // worker threads hash the pieces (layer ranges on one, the whole stream on another) while
    // they are written (an O_DIRECT write mostly waits for the disk); their slot returns once
    // the write and both hashes are done
    const written = sink.write(w.pieces, w.room);
    w.done(written);
    await written;
    opts.progress?.({ op: 'restore', done: w.at + w.pieces.reduce((a, p) => a + p.length, 0), total: snap.source.size });
  }
  const { bytes, sha256: digest = '', mismatches: bad } = await reader.digests();
  if (bytes !== snap.source.size) throw corrupt(`snapshot ${id}: restored ${bytes} bytes, but the snapshot recorded ${snap.source.size}`);
  if (digest !== snap.source.sha256)
    throw corrupt(`snapshot ${id}: restored data has sha256 ${digest}, but the snapshot recorded ${snap.source.sha256}${bad.length ? `; ${describeMismatches(bad)}` : ''}`);
  const warnings = bad.map((m) => `${m.what} (${m.path}) does not match its digest (the bytes have ${m.actual}), and did not when the archive was snapshotted: restored as it was stored`);
  return { snapshot: snap, bytes, sha256: digest, ...(image && { imageBlobsVerified: image.count - bad.length }), ...(warnings.length && { warnings }) };
}
