/**
 * Files inside image snapshots (and plain tar snapshots), for `dump` and `find`: the
 * image's filesystem is its layers applied in order, so the file at a path is the last
 * layer's entry for it, unless a later layer deletes it (whiteouts `.wh.<name>`, opaque
 * directories `.wh..wh..opq`). Layers are read from the stored data (every blob
 * verified), decompressed when gzip or zstd; memory stays bounded.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import { StowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { readRange } from './range.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { compressionOf } from '../split/tar-splitter.js';
import type { LayerFact } from '../image/facts.js';
import { listFiles } from './list-files.js';
import type { TarEntry } from '../image/tar-list.js';
import { resolveLink } from '../tree/stored.js';

/** A byte range of the snapshot that holds a tar (a layer, or a whole plain tar). */
export interface TarUnit {
  readonly offset: number;
  readonly length: number;
  /** The layer, when the snapshot is an image. */
  readonly layer?: LayerFact;
}

/** The tars of a snapshot in filesystem order: an image's layers (of its first image), or the whole tar. */
export function tarUnits(snap: Snapshot): TarUnit[] {
  if (snap.image) return snap.image.layers.map((l) => ({ offset: l.offset, length: l.length, layer: l }));
  if (snap.format === 'tar') return [{ offset: 0, length: snap.source.size }];
  throw new StowageError('INVALID_ARGUMENT', `snapshot ${snap.id.slice(0, 8)} is a byte stream (format ${snap.format ?? 'raw'}): it holds no files`);
}

/** "./etc//x/" -> "etc/x" */
export function normalizePath(p: string): string {
  return p
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .join('/');
}

export interface ImageFileHit {
  readonly unit: TarUnit;
  readonly entry: TarEntry;
}

/**
 * The entry at `path` in the snapshot's filesystem, or undefined. Hard links resolve to
 * their target's entry; with `follow`, so do symlinks (relative to their directory,
 * absolute ones to the image's root; at most 40 of them).
 */
export async function findImageFile(repo: Repository, snap: Snapshot, path: string, signal?: AbortSignal, follow = true): Promise<ImageFileHit | undefined> {
  let want = normalizePath(path);
  for (let hops = 0; ; hops++) {
    const hit = await findOne(repo, snap, want, signal);
    if (!follow || hit?.entry.type !== 'symlink' || hit.entry.linkname === undefined) return hit;
    if (hops === 40) throw new StowageError('INVALID_ARGUMENT', `${path}: too many levels of symbolic links`);
    const target = hit.entry.linkname;
    const dir = want.includes('/') ? want.slice(0, want.lastIndexOf('/')) : '';
    want = resolveLink(dir, target);
  }
}

async function findOne(repo: Repository, snap: Snapshot, want: string, signal?: AbortSignal): Promise<ImageFileHit | undefined> {
  let hit: ImageFileHit | undefined;
  for (const unit of tarUnits(snap)) {
    let found: TarEntry | undefined;
    let deleted = false;
    await listFiles(
      repo,
      snap,
      unit,
      (e) => {
        const p = normalizePath(e.path);
        if (p === want) found = e;
        const slash = p.lastIndexOf('/');
        const dir = slash >= 0 ? p.slice(0, slash) : '';
        const base = p.slice(slash + 1);
        if (base === '.wh..wh..opq' && (dir === '' || want.startsWith(`${dir}/`))) deleted = true;
        else if (base.startsWith('.wh.')) {
          const gone = dir ? `${dir}/${base.slice(4)}` : base.slice(4);
          if (want === gone || want.startsWith(`${gone}/`)) deleted = true;
        }
      },
      signal ? { signal } : {},
    );
    if (deleted) hit = undefined;
    if (found) hit = { unit, entry: found };
  }
  if (hit?.entry.type === 'hardlink' && hit.entry.linkname !== undefined) {
    // the data is with the link's target, in the same layer
    const target = normalizePath(hit.entry.linkname);
    let t: TarEntry | undefined;
    await listFiles(repo, snap, hit.unit, (e) => {
      if (!t && normalizePath(e.path) === target) t = e;
    });
    if (!t) throw new StowageError('NOT_FOUND', `${want} is a hard link to ${target}, which its layer does not hold`);
    hit = { unit: hit.unit, entry: t };
  }
  return hit;
}

/** The data of a regular file entry found by findImageFile, streamed. */
export async function* imageFileContent(repo: Repository, snap: Snapshot, hit: ImageFileHit, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const e = hit.entry;
  if (e.type === 'symlink') throw new StowageError('INVALID_ARGUMENT', `${e.path} is a symlink to ${e.linkname ?? '?'}: dump its target`);
  if (e.type !== 'file') throw new StowageError('INVALID_ARGUMENT', `${e.path} is a ${e.type === 'dir' ? 'directory' : e.type}, not a file`);
  const start = e.offset + 512;
  const opts = signal ? { signal } : {};
  const first = readRange(repo, snap, hit.unit.offset, Math.min(6, hit.unit.length), opts);
  const headParts: Buffer[] = [];
  for await (const run of first) headParts.push(...run);
  const compression = compressionOf(Buffer.concat(headParts));
  if (!compression) {
    // an uncompressed tar: the file's bytes are a range of the snapshot
    for await (const run of readRange(repo, snap, hit.unit.offset + start, e.size, opts)) yield* run;
    return;
  }
  if (compression !== 'gzip' && compression !== 'zstd') throw new StowageError('UNSUPPORTED_FORMAT', `a ${compression}-compressed layer: its files cannot be read`);
  // a compressed layer: decompress from its start, keep bytes [start, start + size)
  const out: Buffer[] = [];
  let pos = 0;
  let wake: (() => void) | undefined;
  let done = false;
  let failed: unknown;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const from = Math.max(start - pos, 0);
      const to = Math.min(start + e.size - pos, chunk.length);
      if (to > from) out.push(chunk.subarray(from, to));
      pos += chunk.length;
      wake?.();
      // past the file: stop decompressing
      if (pos >= start + e.size) cb(new StopEarly());
      else if (out.length > 16) waitForDrain = cb;
      else cb();
    },
  });
  let waitForDrain: ((err?: Error) => void) | undefined;
  async function* pieces(): AsyncGenerator<Buffer> {
    for await (const run of readRange(repo, snap, hit.unit.offset, hit.unit.length, opts)) yield* run;
  }
  const run = pipeline(Readable.from(pieces()), compression === 'gzip' ? createGunzip() : new DecompressStream(), sink).then(
    () => {
      done = true;
      wake?.();
    },
    (err: unknown) => {
      if (!(err instanceof StopEarly)) failed = err;
      done = true;
      wake?.();
    },
  );
  let given = 0;
  for (;;) {
    while (out.length) {
      const b = out.shift()!;
      given += b.length;
      yield b;
    }
    if (waitForDrain) {
      const cb = waitForDrain;
      waitForDrain = undefined;
      cb();
      continue;
    }
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  await run;
  if (failed) throw failed;
  if (given !== e.size) throw new StowageError('CORRUPT', `${e.path}: its layer ended after ${given} of ${e.size} bytes`);
}

class StopEarly extends Error {}
