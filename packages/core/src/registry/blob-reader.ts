/**
 * Reading an image blob (layer, config, manifest) out of a snapshot, for `serve` and for a
 * push: the blob's byte range read through restore/range.ts (every repository blob is
 * checked against its id as it is decoded), in windows of bounded size.
 *
 * `blobPieces` yields a whole blob and checks its digest before the LAST window leaves: a
 * window is held back until the next one is read, and the final one only goes out when
 * the digest matched (CORRUPT otherwise), so a consumer never receives all the bytes of a
 * blob that does not match its digest. A part of a blob (`from`, `to`) cannot be checked
 * against the blob's digest; its pieces are still checked against their ids.
 */
import { createHash } from 'node:crypto';
import { corrupt } from '../errors.js';
import type { CodecPool } from '../repository/codec-pool.js';
import type { Repository } from '../repository/repository.js';
import { readChunkLists } from '../object/chunk-list.js';
import { extentWindows } from '../object/extents.js';
import { readRange } from '../object/read-range.js';
import { buildWindow } from '../object/read-window.js';
import { SlotRing } from '../util/slot-ring.js';
import type { BlobSource } from './catalog.js';

/**
 * Shared-memory slots every blob reader of a server takes its windows from (the stored
 * bytes read, the plaintext decoded, delta bases), so the memory of all requests together is
 * bounded by the slots (reused: no garbage per window), whatever the number of clients. A
 * reader holds one window's slots at a time (acquired in the same order by every reader, so
 * readers wait for each other but never deadlock); a window too large for a slot falls back
 * to fresh memory.
 */
export interface ReadRings {
  readonly windowBytes: number;
  readonly read: SlotRing;
  readonly out: SlotRing;
  readonly base: SlotRing;
}

/** Rings for `slots` windows at once of `windowBytes` plaintext (with room for a chunk past each end). */
export function readRings(repo: Repository, slots = 4, windowBytes = 4 * 1024 * 1024): ReadRings {
  const out = windowBytes + 2 * Math.max(repo.config.chunker.maxSize, 1 << 20);
  return { windowBytes, read: new SlotRing(slots, 2 * out), out: new SlotRing(slots, out), base: new SlotRing(2, 2 * out) };
}

export interface BlobReadOptions {
  /** Plaintext bytes per window (default 4 MiB: memory per reader is about 3 windows). */
  readonly windowBytes?: number;
  readonly signal?: AbortSignal;
}

/** The size of a blob source. */
export function blobSize(src: BlobSource): number {
  return 'bytes' in src ? src.bytes.length : src.place.size;
}

/**
 * Yields the bytes [from, to) of a blob (default: all of it) in order. A whole blob is
 * verified against its digest before its last piece is yielded.
 */
export async function* blobPieces(repo: Repository, src: BlobSource, opts: BlobReadOptions & { from?: number; to?: number } = {}): AsyncGenerator<Buffer[]> {
  const size = blobSize(src);
  const from = opts.from ?? 0;
  const to = opts.to ?? size;
  if ('bytes' in src) {
    if (to > from) yield [src.bytes.subarray(from, to)];
    return;
  }
  const whole = from === 0 && to === size;
  const alg = src.place.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  const hash = whole ? createHash(alg) : undefined;
  let held: Buffer[] | undefined;
  const windowBytes = opts.windowBytes ?? 4 * 1024 * 1024;
  for await (const pieces of readRange(repo, src.snapshot, src.place.range.offset + from, to - from, { windowBytes, ahead: 1, ...(opts.signal && { signal: opts.signal }) })) {
    if (hash) for (const p of pieces) hash.update(p);
    if (held) yield held;
    held = pieces;
  }
  if (hash) {
    const digest = `${alg}:${hash.digest('hex')}`;
    if (digest !== src.place.digest) throw corrupt(`snapshot ${src.snapshot.id}: blob ${src.place.digest} (${src.place.range.path}): the stored bytes have ${digest}`);
  }
  if (held) yield held;
}

/** A window of a blob's bytes and how to give its memory back (once nothing reads the pieces any more). */
export interface BlobWindow {
  readonly pieces: Buffer[];
  readonly release: () => void;
}

/**
 * The windows of bytes [from, to) of a blob (default all of it) in shared slots, each to be
 * released by the consumer once its pieces are no longer read (e.g. once a socket write of
 * them completed: the slot is then reused). The next window may be asked for before the
 * current one is released (reading ahead). A whole blob is checked against its digest
 * before its last piece is yielded (that piece is copied out of its slot and held back).
 */
export function blobWindows(repo: Repository, src: BlobSource, rings: ReadRings, opts: { from?: number; to?: number; signal?: AbortSignal; pool?: CodecPool } = {}): AsyncGenerator<BlobWindow> {
  const size = blobSize(src);
  const from = opts.from ?? 0;
  const to = opts.to ?? size;
  if ('bytes' in src) {
    return (async function* () {
      if (to > from) yield { pieces: [src.bytes.subarray(from, to)], release: () => undefined };
    })();
  }
  const hash = from === 0 && to === size ? createHash(src.place.digest.startsWith('sha512:') ? 'sha512' : 'sha256') : undefined;
  return ringWindows(repo, opts.pool ?? repo.codecs(), src, from, to, hash, rings, opts.signal);
}

async function* ringWindows(
  repo: Repository,
  pool: CodecPool,
  src: Extract<BlobSource, { snapshot: unknown }>,
  from: number,
  to: number,
  hash: ReturnType<typeof createHash> | undefined,
  rings: ReadRings,
  signal: AbortSignal | undefined,
): AsyncGenerator<BlobWindow> {
  const length = to - from;
  let done = 0;
  for await (const refs of extentWindows(readChunkLists(repo, src.snapshot.content.lists), rings.windowBytes, { offset: src.place.range.offset + from, length })) {
    signal?.throwIfAborted();
    const w = await buildWindow(repo, pool, refs, rings, signal); // aborted: nothing more is decoded, the slots go back
    let handed = false;
    try {
      let pieces = w.pieces;
      for (const p of pieces) {
        done += p.length;
        hash?.update(p);
      }
      if (hash && done === length) {
        // the last window: its last piece goes out only once the whole blob matched its digest
        const last = Buffer.from(pieces[pieces.length - 1]!);
        pieces = pieces.slice(0, -1);
        if (pieces.length) {
          handed = true;
          yield { pieces, release: w.release };
        } else {
          w.release();
        }
        const digest = `${src.place.digest.split(':')[0]}:${hash.digest('hex')}`;
        if (digest !== src.place.digest) throw corrupt(`snapshot ${src.snapshot.id}: blob ${src.place.digest} (${src.place.range.path}): the stored bytes have ${digest}`);
        yield { pieces: [last], release: () => undefined };
      } else {
        handed = true;
        yield { pieces, release: w.release };
      }
    } finally {
      if (!handed) w.release();
    }
  }
  if (done !== length) throw corrupt(`snapshot ${src.snapshot.id}: the chunk lists hold ${done} of the ${length} bytes of blob ${src.place.digest}`);
}

/** A whole small blob (a manifest, a config) in memory, verified. */
export async function readBlob(repo: Repository, src: BlobSource, opts: BlobReadOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const pieces of blobPieces(repo, src, opts)) parts.push(...pieces);
  return Buffer.concat(parts);
}
