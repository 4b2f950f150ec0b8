/**
 * Ranged restore: the bytes [offset, offset + length) of a snapshot's content (one
 * image layer, one config), read by the object reader like a whole restore (chunk
 * lists -> windows -> ranged pack reads -> decode and verify each blob), in order and
 * in bounded memory. Chunk-list entries are trimmed to the range, so only the blobs
 * that hold range bytes are read.
 *
 * The whole-stream SHA-256 of the snapshot cannot be checked for a part of it: callers
 * check the range against its own digest (restoreRangeToFile / restoreRangeToStream do).
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { corrupt } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { readRange, type RangeOptions } from '../object/read-range.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { streamWriter, writeTargetFile, type PieceWriter } from './target.js';

export { readRange, type RangeOptions } from '../object/read-range.js';

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
