/**
 * Restore: snapshot -> chunk lists -> windows of chunks -> batched index lookups ->
 * ranged pack reads -> (workers: open, decompress, verify BLAKE3) -> ordered output,
 * whose SHA-256 is checked against the one recorded at snapshot time.
 *
 * Windows are prepared ahead (bounded), so reading and decoding overlap writing.
 * A file target is written to a temp file beside it and appears only when complete
 * and verified; on any failure the temp file is removed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import type { BlobLocation } from '../index/types.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { readChunkLists, type ChunkRef } from '../snapshot/chunk-list.js';
import { loadSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { planReads } from './plan.js';

export interface RestoreOptions {
  /** Replace an existing target file. */
  readonly overwrite?: boolean;
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  /** Plaintext bytes per window (default 16 MiB). */
  readonly windowBytes?: number;
  /** Windows prepared ahead of the one being written (default 2). */
  readonly ahead?: number;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface RestoreResult {
  readonly snapshot: Snapshot;
  readonly bytes: number;
  readonly sha256: string;
}

/** Something that takes the restored bytes in order. */
interface Sink {
  write(pieces: readonly Buffer[]): Promise<void>;
}

/** Restores snapshot `id` into file `target` (atomically; refuses an existing target unless overwrite). */
export async function restoreToFile(repo: Repository, id: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const abs = path.resolve(target);
  if (!opts.overwrite && (await exists(abs))) throw new StowageError('TARGET_EXISTS', `target ${abs} exists (use --overwrite to replace it)`);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.stowage-${randomBytes(6).toString('hex')}`);
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(tmp, 'wx', 0o644);
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `cannot write restore target ${abs}: ${(err as Error).message}`, { cause: err });
  }
  let done = false;
  try {
    let pos = 0;
    const result = await restore(repo, id, {
      write: async (pieces) => {
        let want = 0;
        for (const p of pieces) want += p.length;
        const { bytesWritten } = await fh.writev(pieces as Buffer[], pos);
        pos += bytesWritten;
        if (bytesWritten !== want) {
          // short write (rare): finish piece by piece
          let skip = bytesWritten;
          for (const p of pieces) {
            if (skip >= p.length) {
              skip -= p.length;
              continue;
            }
            let off = skip;
            skip = 0;
            while (off < p.length) {
              const r = await fh.write(p, off, p.length - off, pos);
              off += r.bytesWritten;
              pos += r.bytesWritten;
            }
          }
        }
      },
    }, opts);
    await fh.close();
    if (opts.overwrite) {
      await fs.rename(tmp, abs);
    } else {
      try {
        await fs.link(tmp, abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new StowageError('TARGET_EXISTS', `target ${abs} appeared during the restore; not replaced`);
        throw err;
      }
      await fs.unlink(tmp);
    }
    done = true;
    return result;
  } finally {
    if (!done) {
      await fh.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
    }
  }
}

/**
 * Restores snapshot `id` to a stream, in order (e.g. stdout into `docker load`).
 * The bytes are verified blob by blob before they are written; the whole-stream
 * SHA-256 can only be checked at the end, after the bytes went out.
 */
export async function restoreToStream(repo: Repository, id: string, out: Writable, opts: RestoreOptions = {}): Promise<RestoreResult> {
  return restore(repo, id, {
    write: (pieces) =>
      new Promise<void>((resolve, reject) => {
        if (pieces.length === 0) return resolve();
        pieces.forEach((p, i) => out.write(p, i === pieces.length - 1 ? (err) => (err ? reject(err) : resolve()) : undefined));
      }),
  }, opts);
}

async function restore(repo: Repository, id: string, sink: Sink, opts: RestoreOptions): Promise<RestoreResult> {
  const snap = await loadSnapshot(repo, id);
  const windowBytes = opts.windowBytes ?? 16 * 1024 * 1024;
  const ahead = opts.ahead ?? 2;
  const workers = snap.source.size < 4 * 1024 * 1024 ? 0 : opts.workers;
  const pool = repo.codecs(workers);
  const inFlight: Promise<Buffer[]>[] = [];
  let bytes = 0;

  const emit = async (): Promise<void> => {
    const pieces = await inFlight.shift()!;
    for (const p of pieces) bytes += p.length;
    await sink.write(pieces);
    pool.shaUpdate(pieces); // after the write: the pieces' memory moves to the hashing thread
    opts.progress?.({ op: 'restore', done: bytes, total: snap.source.size });
  };

  try {
    for await (const window of windows(readChunkLists(repo, snap.content.lists), windowBytes)) {
      opts.signal?.throwIfAborted();
      const p = buildWindow(repo, pool, window);
      p.catch(() => undefined);
      inFlight.push(p);
      while (inFlight.length > ahead) await emit();
    }
    while (inFlight.length) await emit();
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  }
  const digest = await pool.shaDigest();
  if (bytes !== snap.source.size) throw corrupt(`snapshot ${id}: restored ${bytes} bytes, but the snapshot recorded ${snap.source.size}`);
  if (digest !== snap.source.sha256) throw corrupt(`snapshot ${id}: restored data has sha256 ${digest}, but the snapshot recorded ${snap.source.sha256}`);
  return { snapshot: snap, bytes, sha256: digest };
}

/** Regroups chunk refs into windows of about `windowBytes` plaintext. */
async function* windows(lists: AsyncIterable<ChunkRef[]>, windowBytes: number): AsyncGenerator<ChunkRef[]> {
  let cur: ChunkRef[] = [];
  let size = 0;
  for await (const list of lists) {
    for (const r of list) {
      cur.push(r);
      size += r.length;
      if (size >= windowBytes) {
        yield cur;
        cur = [];
        size = 0;
      }
    }
  }
  if (cur.length) yield cur;
}

/**
 * Reads, decodes and verifies the blobs of a window; returns its bytes in order as
 * views into the decoded buffers (adjacent views of one buffer merged), without copying.
 */
async function buildWindow(repo: Repository, pool: ReturnType<Repository['codecs']>, refs: ChunkRef[]): Promise<Buffer[]> {
  const unique = new Map<string, Buffer>();
  for (const r of refs) unique.set(r.id.toString('latin1'), r.id);
  const keys = [...unique.keys()];
  const found = await repo.lookup([...unique.values()]);
  const locs = new Map<string, BlobLocation>();
  keys.forEach((k, i) => {
    const l = found[i];
    if (l) locs.set(k, l);
  });
  const reads = planReads(refs, locs);
  const plain = new Map<string, Buffer>();
  await Promise.all(
    reads.map(async (rd) => {
      const stored = await repo.readPackRange(rd.pack, rd.offset, rd.length);
      const items = rd.blobs.map((b) => ({ offset: b.loc.offset - rd.offset, length: b.loc.length, rawLength: b.loc.rawLength, compressed: b.loc.compressed, id: b.id }));
      const dec = await pool.decode(stored, items, `pack ${rd.pack}`).catch((err: unknown) => {
        throw isStowageError(err) ? err : new StowageError('CORRUPT', `pack ${rd.pack}: ${(err as Error).message}`);
      });
      let off = 0;
      rd.blobs.forEach((b, i) => {
        const len = dec.lengths[i]!;
        plain.set(b.key, dec.plain.subarray(off, off + len));
        off += len;
      });
    }),
  );
  const pieces: Buffer[] = [];
  for (const r of refs) {
    const blob = plain.get(r.id.toString('latin1'))!;
    if (r.offset + r.length > blob.length) throw corrupt(`blob ${r.id.toString('hex')}: ${blob.length} bytes, but the chunk list needs ${r.offset}+${r.length}`);
    const p = r.offset === 0 && r.length === blob.length ? blob : blob.subarray(r.offset, r.offset + r.length);
    const last = pieces[pieces.length - 1];
    if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
      pieces[pieces.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
    } else {
      pieces.push(p);
    }
  }
  return pieces;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
