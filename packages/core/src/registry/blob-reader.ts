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
import type { Repository } from '../repository/repository.js';
import { readRange } from '../restore/range.js';
import type { BlobSource } from './catalog.js';

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

/** A whole small blob (a manifest, a config) in memory, verified. */
export async function readBlob(repo: Repository, src: BlobSource, opts: BlobReadOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const pieces of blobPieces(repo, src, opts)) parts.push(...pieces);
  return Buffer.concat(parts);
}
