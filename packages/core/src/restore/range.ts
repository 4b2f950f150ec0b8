/**
 * Ranged restore: the bytes [offset, offset + length) of a snapshot's content (one
 * image layer, one config), read through the same machinery as a whole restore
 * (chunk lists -> windows -> ranged pack reads -> decode and verify each blob), in
 * order and in bounded memory. Chunk-list entries are trimmed to the range, so only
 * the blobs that hold range bytes are read.
 *
 * The whole-stream SHA-256 of the snapshot cannot be checked for a part of it: callers
 * check the range against its own digest (restoreRangeToFile / restoreRangeToStream do).
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { StowageError, corrupt } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { readChunkLists, type ChunkRef } from '../snapshot/chunk-list.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { buildWindow } from './restore.js';
import { streamWriter, writeTargetFile, type PieceWriter } from './target.js';

export interface RangeOptions {
  /** Codec worker threads (default: one per core for ranges of 4 MiB and more; 0 = inline). */
  readonly workers?: number;
  /** Plaintext bytes per window (default 16 MiB). */
  readonly windowBytes?: number;
  /** Windows prepared ahead of the one being consumed (default 2). */
  readonly ahead?: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressFn;
}

/**
 * Yields the bytes of [offset, offset + length) of `snap`'s content in order, as runs of
 * pieces (each blob verified against its id). CORRUPT when the snapshot ends early.
 */
export async function* readRange(repo: Repository, snap: Snapshot, offset: number, length: number, opts: RangeOptions = {}): AsyncGenerator<Buffer[]> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > snap.source.size) {
    throw new StowageError('INVALID_ARGUMENT', `range ${offset}+${length} is outside snapshot ${snap.id} (${snap.source.size} bytes)`);
  }
  if (length === 0) return;
  const pool = repo.codecs(length < 4 * 1024 * 1024 ? 0 : opts.workers);
  const ahead = opts.ahead ?? 2;
  const inFlight: Promise<Buffer[]>[] = [];
  let done = 0;
  try {
    for await (const window of rangeWindows(repo, snap, offset, length, opts.windowBytes ?? 16 * 1024 * 1024)) {
      opts.signal?.throwIfAborted();
      const p = buildWindow(repo, pool, window).then((w) => w.pieces); // fresh memory: nothing to release
      p.catch(() => undefined);
      inFlight.push(p);
      while (inFlight.length > ahead) {
        const pieces = await inFlight.shift()!;
        for (const x of pieces) done += x.length;
        opts.progress?.({ op: 'restore', done, total: length });
        yield pieces;
      }
    }
    while (inFlight.length) {
      const pieces = await inFlight.shift()!;
      for (const x of pieces) done += x.length;
      opts.progress?.({ op: 'restore', done, total: length });
      yield pieces;
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  if (done !== length) throw corrupt(`snapshot ${snap.id}: the chunk lists hold ${done} of the ${length} bytes at ${offset}`);
}

/** Chunk refs trimmed to the range, regrouped into windows of about `windowBytes`. */
export async function* rangeWindows(repo: Repository, snap: Snapshot, offset: number, length: number, windowBytes: number): AsyncGenerator<ChunkRef[]> {
  const end = offset + length;
  let pos = 0;
  let cur: ChunkRef[] = [];
  let size = 0;
  for await (const list of readChunkLists(repo, snap.content.lists)) {
    for (const r of list) {
      const rEnd = pos + r.length;
      if (rEnd > offset && pos < end) {
        const from = Math.max(offset, pos) - pos;
        const to = Math.min(end, rEnd) - pos;
        cur.push({ id: r.id, offset: r.offset + from, length: to - from });
        size += to - from;
        if (size >= windowBytes) {
          yield cur;
          cur = [];
          size = 0;
        }
      }
      pos = rEnd;
      if (pos >= end) break;
    }
    if (pos >= end) break;
  }
  if (cur.length) yield cur;
}

export interface RangeTarget {
  readonly offset: number;
  readonly length: number;
  /** `sha256:<hex>` (or sha512) the range must hash to; CORRUPT otherwise. */
  readonly digest?: string;
  /** For messages: "layer sha256:...". */
  readonly what: string;
}

export interface RangeResult {
  readonly bytes: number;
  /** The digest of the bytes (the algorithm of target.digest; sha256 when none was given). */
  readonly digest: string;
  readonly verified: boolean;
}

/** Streams a range to `out`, in order; the digest is checked at the end (after the bytes went out). */
export async function restoreRangeToStream(repo: Repository, snap: Snapshot, target: RangeTarget, out: Writable, opts: RangeOptions = {}): Promise<RangeResult> {
  return copyRange(repo, snap, target, opts, streamWriter(out));
}

/** Restores a range into file `file`: a temp file beside it, put in place only when complete and verified. */
export async function restoreRangeToFile(repo: Repository, snap: Snapshot, target: RangeTarget, file: string, opts: RangeOptions & { overwrite?: boolean } = {}): Promise<RangeResult> {
  return writeTargetFile(file, opts.overwrite ?? false, (write) => copyRange(repo, snap, target, opts, write));
}

async function copyRange(repo: Repository, snap: Snapshot, target: RangeTarget, opts: RangeOptions, write: PieceWriter): Promise<RangeResult> {
  const alg = target.digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
  const hash = createHash(alg);
  let bytes = 0;
  for await (const pieces of readRange(repo, snap, target.offset, target.length, opts)) {
    for (const p of pieces) {
      hash.update(p);
      bytes += p.length;
    }
    await write(pieces);
  }
  const digest = `${alg}:${hash.digest('hex')}`;
  if (target.digest && digest !== target.digest) {
    throw corrupt(`snapshot ${snap.id}: ${target.what}: the restored bytes have ${digest}, not the digest the archive states`);
  }
  return { bytes, digest, verified: target.digest !== undefined };
}
