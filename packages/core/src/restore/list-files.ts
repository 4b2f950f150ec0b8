/**
 * The files of one image layer (or of a plain tar snapshot), read from the stored data:
 * the layer's byte range is restored through the ranged reader (every blob verified)
 * and streamed, decompressed when it is a gzip or zstd layer, through the tar lister.
 * Memory stays bounded whatever the layer size.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import { isStowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { readRange, type RangeOptions } from './range.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { compressionOf } from '../split/tar-splitter.js';
import { TarLister, type TarEntry } from '../image/tar-list.js';

export interface ListFilesResult {
  /** Entries listed. */
  readonly entries: number;
  /** Set when the data stopped being a tar (the entries before it were listed). */
  readonly problem?: string;
  readonly compression?: string;
}

/** Lists the tar entries in [offset, offset + length) of `snap`'s content, in order. */
export async function listFiles(
  repo: Repository,
  snap: Snapshot,
  range: { readonly offset: number; readonly length: number },
  onEntry: (e: TarEntry) => void,
  opts: RangeOptions = {},
): Promise<ListFilesResult> {
  const lister = new TarLister(onEntry);
  const source = readRange(repo, snap, range.offset, range.length, opts);
  // peek at the first bytes to choose a decompressor
  const first = await source.next();
  if (first.done) {
    lister.end();
    return { entries: 0, ...(lister.problem && { problem: lister.problem }) };
  }
  const head = Buffer.concat(first.value.slice(0, 2)).subarray(0, 6);
  const compression = compressionOf(head);
  async function* pieces(): AsyncGenerator<Buffer> {
    yield* first.value as Buffer[];
    for await (const run of source) yield* run;
  }
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lister.push(chunk);
      cb();
    },
  });
  if (compression === 'bzip2' || compression === 'xz') {
    await source.return(undefined);
    return { entries: 0, compression, problem: `a ${compression}-compressed layer: its files cannot be listed` };
  }
  try {
    if (compression === 'gzip') await pipeline(Readable.from(pieces()), createGunzip(), sink);
    else if (compression === 'zstd') await pipeline(Readable.from(pieces()), new DecompressStream(), sink);
    else await pipeline(Readable.from(pieces()), sink);
  } catch (err) {
    if (isStowageError(err) || !compression) throw err;
    // the stored bytes were verified blob by blob: a decompression error is in the archive itself
    lister.end();
    return { entries: lister.count, compression, problem: `${compression} data is damaged: ${(err as Error).message}` };
  }
  lister.end();
  return { entries: lister.count, ...(compression && { compression }), ...(lister.problem && { problem: lister.problem }) };
}
