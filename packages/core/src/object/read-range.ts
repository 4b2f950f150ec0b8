/**
 * Reading a byte range of an object (an image layer or config inside a snapshot's
 * content, a blob served to a registry) with the object reader: in order, in bounded
 * memory, every blob verified against its id. Only the extents that hold range bytes
 * are read. The caller checks the range against its own digest when it has one.
 */
import { StowageError, corrupt } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { BlobSource } from '../repository/blob-store.js';
import { ObjectReader } from './reader.js';

/** What readRange reads of a snapshot (a Snapshot is one): its id (for messages), its size and its chunk lists. */
export interface RangeSource {
  readonly id: string;
  readonly source: { readonly size: number };
  readonly content: { readonly lists: readonly string[] };
}

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
export async function* readRange(repo: BlobSource, snap: RangeSource, offset: number, length: number, opts: RangeOptions = {}): AsyncGenerator<Buffer[]> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > snap.source.size) {
    throw new StowageError('INVALID_ARGUMENT', `range ${offset}+${length} is outside snapshot ${snap.id} (${snap.source.size} bytes)`);
  }
  if (length === 0) return;
  const reader = new ObjectReader(repo, snap.content.lists, {
    range: { offset, length },
    workers: length < 4 * 1024 * 1024 ? 0 : opts.workers,
    windowBytes: opts.windowBytes ?? 16 * 1024 * 1024,
    ahead: opts.ahead ?? 2,
    ...(opts.signal && { signal: opts.signal }),
  });
  let done = 0;
  for await (const w of reader) {
    w.done(); // fresh memory, no hashes: nothing to give back
    for (const x of w.pieces) done += x.length;
    opts.progress?.({ op: 'restore', done, total: length });
    yield w.pieces;
  }
  if (done !== length) throw corrupt(`snapshot ${snap.id}: the chunk lists hold ${done} of the ${length} bytes at ${offset}`);
}
