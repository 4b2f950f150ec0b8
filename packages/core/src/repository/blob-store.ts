/**
 * The narrow interfaces the object layer (object/) works through: a Repository is a blob
 * store, and an operation's WriteSession is where its new blobs go. Neither holds state of
 * any one object read or write; that state lives in the ObjectReader / ObjectWriter.
 *
 * - BlobSource: blobs out (index lookups, ranged pack reads, verified loads, the shared
 *   codec pools that decode and hash).
 * - BlobStore: a BlobSource that also says how objects are cut and blobs named (the
 *   chunker of its config, the id hash of its keys).
 * - BlobSink: blobs in (one operation's write session: dedup, encode, pack, index).
 */
import type { BlobLocation } from '../blob-index/types.js';
import type { Cutter } from '../chunker/index.js';
import type { CodecPool } from './codec-pool.js';
import type { RepoConfig } from './config.js';
import type { WriteSession } from './write-session.js';

/** Blobs out: what reading an object needs (a Repository is one). */
export interface BlobSource {
  readonly config: RepoConfig;
  /** The codec pool of `workers` threads (0: inline), shared by every operation. */
  codecs(workers?: number): CodecPool;
  /** Locations of blobs (undefined where unknown), one batched lookup. */
  lookup(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]>;
  /** Locations of the bases of delta blobs; CORRUPT when one is missing or itself a delta. */
  lookupBases(bases: readonly { readonly base: Buffer; readonly of: Uint8Array }[]): Promise<BlobLocation[]>;
  /** Loads and verifies small blobs on the calling thread; NOT_FOUND / CORRUPT naming the blob. */
  loadBlobs(ids: readonly Buffer[]): Promise<Buffer[]>;
  /** Loads whole (non-delta) blobs at known locations, keyed by latin1 id, decoded by `pool`. */
  loadWholeBlobs(locs: ReadonlyMap<string, BlobLocation>, pool: CodecPool): Promise<Map<string, Uint8Array>>;
  /** A ranged pack read; a missing or short pack is CORRUPT naming the pack. */
  readPackRange(pack: string, offset: number, length: number): Promise<Uint8Array>;
  /** A ranged pack read into `target` (which may be shared memory). */
  readPackRangeInto(pack: string, offset: number, length: number, target: Uint8Array): Promise<void>;
}

/** A blob source that also cuts and names: what writing an object needs besides a sink. */
export interface BlobStore extends BlobSource {
  /** A fresh chunker for this store's parameters (each object stream needs its own). */
  cutter(): Cutter;
  /** Names blobs: the (keyed) BLAKE3 id of plaintext bytes. */
  readonly codec: { id(data: Uint8Array): Buffer };
}

/** Blobs in: one operation's write session (the object writer and record blobs write here). */
export type BlobSink = Pick<WriteSession, 'saveChunks' | 'saveBlob'>;
