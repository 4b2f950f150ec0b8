/**
 * Restore: snapshot -> chunk lists -> windows of chunks -> batched index lookups ->
 * ranged pack reads -> (workers: open, decompress, verify BLAKE3) -> ordered output,
 * whose SHA-256 is checked against the one recorded at snapshot time.
 *
 * Windows are prepared ahead (bounded), so reading and decoding overlap writing.
 * A file target is written to a temp file beside it and appears only when complete
 * and verified; on any failure the temp file is removed.
 */
import type { Writable } from 'node:stream';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import type { BlobLocation } from '../blob-index/types.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { readChunkLists, type ChunkRef } from '../snapshot/chunk-list.js';
import { loadSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { planReads } from './plan.js';
import { streamWriter, writeTargetFile } from './target.js';
import { SlotRing, type Slot } from '../util/slot-ring.js';
import { describeMismatches, imageRangeHasher } from '../image/verify.js';
import { decodeItem } from '../repository/blob-codec.js';
import { planWholeBlobReads, readWholeBlobsInto } from '../repository/blob-reads.js';

export interface RestoreOptions {
  /** Replace an existing target file. */
  readonly overwrite?: boolean;
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  /** Plaintext bytes per window (default 16 MiB). */
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
  write(pieces: readonly Buffer[]): Promise<void>;
}

/** Restores snapshot `id` into file `target` (atomically; refuses an existing target unless overwrite). */
export async function restoreToFile(repo: Repository, id: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  return writeTargetFile(target, opts.overwrite ?? false, (write) => restore(repo, id, { write }, opts));
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
  const windowBytes = opts.windowBytes ?? 8 * 1024 * 1024;
  const ahead = opts.ahead ?? 3;
  const workers = snap.source.size < 4 * 1024 * 1024 ? 0 : opts.workers;
  const pool = repo.codecs(workers);
  const inFlight: Promise<BuiltWindow>[] = [];
  const stop = new AbortController();
  let bytes = 0;
  const image = opts.imageCheck === false ? undefined : imageRangeHasher(snap);
  // this restore's own hashes (the pool is shared by every operation on the repository)
  const sha = pool.sha256();
  const ranges = image && pool.rangeHasher(image.ranges);
  const rings = workers === 0 ? undefined : windowRings(windowBytes, repo.config.chunker.maxSize);

  const emit = async (): Promise<void> => {
    const { pieces, release } = await inFlight.shift()!;
    const at = bytes;
    for (const p of pieces) bytes += p.length;
    try {
      await sink.write(pieces);
    } catch (err) {
      release(); // nothing will hash these pieces: give their slots back
      throw err;
    }
    // after the write: worker threads hash the pieces (layer ranges on one, the whole stream
    // on another); their slot returns once both are done
    const ranged = ranges ? ranges.update(pieces, at) : Promise.resolve();
    Promise.all([ranged, sha.update(pieces, true)]).then(release, release);
    opts.progress?.({ op: 'restore', done: bytes, total: snap.source.size });
  };

  try {
    for await (const window of windows(readChunkLists(repo, snap.content.lists), windowBytes)) {
      opts.signal?.throwIfAborted();
      const p = buildWindow(repo, pool, window, rings, stop.signal);
      p.catch(() => undefined);
      inFlight.push(p);
      while (inFlight.length > ahead) await emit();
    }
    while (inFlight.length) await emit();
  } catch (err) {
    sha.discard();
    ranges?.discard();
    stop.abort(err); // windows still reading decode nothing more
    // Give each window's slots back as soon as it settles: a window still waiting for a slot
    // may be waiting for one held by a built window beside it. Then wait for all of them, so
    // no read or decode of this restore is still running when the caller closes the pool.
    await Promise.allSettled(inFlight.map((p) => p.then((w) => w.release())));
    throw err;
  }
  const digest = await sha.digest();
  if (bytes !== snap.source.size) {
    ranges?.discard();
    throw corrupt(`snapshot ${id}: restored ${bytes} bytes, but the snapshot recorded ${snap.source.size}`);
  }
  const bad = ranges ? await ranges.result() : [];
  if (digest !== snap.source.sha256) throw corrupt(`snapshot ${id}: restored data has sha256 ${digest}, but the snapshot recorded ${snap.source.sha256}${bad.length ? `; ${describeMismatches(bad)}` : ''}`);
  const warnings = bad.map((m) => `${m.what} (${m.path}) does not match its digest (the bytes have ${m.actual}), and did not when the archive was snapshotted: restored as it was stored`);
  return { snapshot: snap, bytes, sha256: digest, ...(image && { imageBlobsVerified: image.count - bad.length }), ...(warnings.length && { warnings }) };
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

/** A window's bytes in order, and how to give back the memory they live in. */
export interface BuiltWindow {
  readonly pieces: Buffer[];
  /** Call once the pieces are no longer used (idempotent). */
  readonly release: () => void;
}

/** Shared-memory slots for the stored bytes read and the plaintext decoded, per window. */
interface WindowRings {
  readonly read: SlotRing;
  readonly out: SlotRing;
  /** Delta bases of a window (plaintext, then their stored bytes), held while it decodes. */
  readonly base: SlotRing;
}

/**
 * Three slots of each (one window being written and hashed, two being prepared). A
 * window needs at most windowBytes plus a few blobs that extend past it. A window of
 * many pieces is assembled in its read slot (free once decoded), which then travels on
 * to the writer and the hashing threads.
 */
function windowRings(windowBytes: number, maxChunk: number): WindowRings {
  const out = windowBytes + 2 * Math.max(maxChunk, 1 << 20);
  // read slots: twice the window, since a window may need a few members of many frames (read
  // whole) and read through gaps; without room the window falls back to fresh memory (on
  // docker.tar v5: 1 window in 47 at out + 1 MiB, RSS 233 MB against 215 MB).
  // base slots: touched only by snapshots with deltas (untouched shared memory costs no RSS)
  return { read: new SlotRing(3, 2 * out), out: new SlotRing(3, out), base: new SlotRing(2, 2 * out) };
}

/**
 * Reads, decodes and verifies the blobs of a window; returns its bytes in order as
 * views into the decoded memory (adjacent views merged), without copying. With rings,
 * pack ranges are read into a shared read slot and decoded by the workers straight into
 * a shared output slot; a window too large for the slots uses fresh memory instead.
 */
export async function buildWindow(repo: Repository, pool: ReturnType<Repository['codecs']>, refs: ChunkRef[], rings?: WindowRings, stop?: AbortSignal): Promise<BuiltWindow> {
  // take both slots first, in window order (a later window never holds slots an earlier one waits for)
  const outSlot = rings ? await rings.out.acquire() : undefined;
  let readSlot: Slot | undefined = rings ? await rings.read.acquire() : undefined;
  const release = (): void => {
    readSlot?.release();
    outSlot?.release();
  };
  try {
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
    const bases = await loadBasesOf(repo, pool, locs, rings?.base);
    let readTotal = 0;
    let plainTotal = 0;
    for (const rd of reads) {
      readTotal += rd.length;
      for (const b of rd.blobs) plainTotal += b.loc.rawLength;
    }
    const shared = outSlot !== undefined && readSlot !== undefined && plainTotal <= outSlot.bytes.length && readTotal <= readSlot.bytes.length;
    if (!shared) {
      release();
      readSlot = undefined;
    }
    const plain = new Map<string, Uint8Array>();
    let readOff = 0;
    let outOff = 0;
    // Every read runs to its end (none may still write into the slots once they are released,
    // or have a job on a worker when the pool closes); after the first failure, here or of
    // the restore (`stop`), reads that complete decode nothing more.
    let failure: { err: unknown } | undefined;
    try {
      await Promise.all(
        reads.map(async (rd) => {
          try {
            const items = rd.blobs.map((b) => decodeItem(b.loc, b.id, b.loc.offset - rd.offset, b.loc.base && bases.plain.get(b.loc.base.toString('latin1'))));
            const what = `pack ${rd.pack}`;
            const fail = (err: unknown): never => {
              throw isStowageError(err) ? err : new StowageError('CORRUPT', `${what}: ${(err as Error).message}`);
            };
            let out: Uint8Array;
            let lengths: number[];
            if (shared) {
              const src = readSlot!.bytes.subarray(readOff, readOff + rd.length);
              readOff += rd.length;
              let n = 0;
              for (const it of items) n += it.rawLength;
              out = outSlot!.bytes.subarray(outOff, outOff + n);
              outOff += n;
              await repo.readPackRangeInto(rd.pack, rd.offset, rd.length, src);
              if (failure || stop?.aborted) return;
              lengths = await pool.decodeInto(src, items, out, what).catch(fail);
            } else {
              const stored = await repo.readPackRange(rd.pack, rd.offset, rd.length);
              if (failure || stop?.aborted) return;
              const dec = await pool.decode(stored, items, what).catch(fail);
              out = dec.plain;
              lengths = dec.lengths;
            }
            let off = 0;
            rd.blobs.forEach((b, i) => {
              const len = lengths[i]!;
              plain.set(b.key, out.subarray(off, off + len));
              off += len;
            });
          } catch (err) {
            failure ??= { err };
          }
        }),
      );
    } finally {
      bases.release(); // decoded: the bases are no longer needed
    }
    if (failure) throw failure.err;
    stop?.throwIfAborted();
    const pieces: Buffer[] = [];
    for (const r of refs) {
      const blob = plain.get(r.id.toString('latin1'))!;
      if (r.offset + r.length > blob.length) throw corrupt(`blob ${r.id.toString('hex')}: ${blob.length} bytes, but the chunk list needs ${r.offset}+${r.length}`);
      const p = r.offset === 0 && r.length === blob.length ? blob : blob.subarray(r.offset, r.offset + r.length);
      const last = pieces[pieces.length - 1];
      if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
        pieces[pieces.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
      } else {
        pieces.push(Buffer.from(p.buffer, p.byteOffset, p.length));
      }
    }
    let windowTotal = 0;
    for (const p of pieces) windowTotal += p.length;
    if (shared && pieces.length > 1 && windowTotal <= readSlot!.bytes.length) {
      // Many small pieces (files, glue) cost more to write and hash one by one than to
      // copy: assemble the window in order into the read slot, which is free once decoded.
      const whole = Buffer.from(readSlot!.bytes.buffer, readSlot!.bytes.byteOffset, readSlot!.bytes.length);
      let at = 0;
      for (const p of pieces) {
        whole.set(p, at);
        at += p.length;
      }
      outSlot?.release();
      return { pieces: [whole.subarray(0, at)], release };
    }
    readSlot?.release(); // decoded: the stored bytes are no longer needed
    readSlot = undefined;
    return { pieces, release: shared ? release : () => undefined };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * The plaintext of the bases of the delta blobs among `locs` (keyed by latin1 base id):
 * one batched lookup, reads grouped by pack, decoded by the pool; into a slot of `ring`
 * when they fit (release it once the window is decoded), else into fresh memory. CORRUPT
 * when a base is missing from the index or is itself a delta.
 */
async function loadBasesOf(
  repo: Repository,
  pool: ReturnType<Repository['codecs']>,
  locs: ReadonlyMap<string, BlobLocation>,
  ring: SlotRing | undefined,
): Promise<{ plain: Map<string, Uint8Array>; release: () => void }> {
  const want = new Map<string, { base: Buffer; of: Uint8Array }>();
  for (const [k, loc] of locs) if (loc.base) want.set(loc.base.toString('latin1'), { base: loc.base, of: Buffer.from(k, 'latin1') });
  if (want.size === 0) return { plain: new Map(), release: () => undefined };
  const list = [...want.values()];
  const found = await repo.lookupBases(list);
  const baseLocs = new Map<string, BlobLocation>();
  list.forEach((w, i) => baseLocs.set(w.base.toString('latin1'), found[i]!));
  const plan = planWholeBlobReads(baseLocs);
  if (!ring || plan.plainBytes + plan.storedBytes > ring.size) return { plain: await repo.loadWholeBlobs(baseLocs, pool), release: () => undefined };
  const slot = await ring.acquire();
  try {
    const plain = await readWholeBlobsInto(repo, pool, plan, slot.bytes.subarray(0, plan.plainBytes), slot.bytes.subarray(plan.plainBytes));
    return { plain, release: slot.release };
  } catch (err) {
    slot.release();
    throw err;
  }
}
