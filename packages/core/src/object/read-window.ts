/**
 * Reading one window of an object's extents: batched index lookups -> ranged pack reads
 * (grouped by pack) -> decode and verify every blob (BLAKE3 against its id; on the codec
 * pool's workers when it has them) -> the window's bytes in order, as views into the
 * decoded memory. Delta blobs get their bases read first. All state is the caller's: the
 * repository and the codec pool are shared, the shared-memory rings belong to one read.
 */
import type { BlobLocation } from '../blob-index/types.js';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import { decodeItem, frameKeyOf, type DecodeItem } from '../repository/blob-codec.js';
import { planWholeBlobReads, readWholeBlobsInto } from '../repository/blob-reads.js';
import type { CodecPool } from '../repository/codec-pool.js';
import type { PlannedRead } from '../repository/read-plan.js';
import type { BlobSource } from '../repository/blob-store.js';
import { SlotRing, type Slot } from '../util/slot-ring.js';
import type { ChunkRef } from './chunk-list.js';
import { WindowPlanner, type WindowPlan, type WindowRead } from './window-plan.js';

/** A window's bytes in order, and how to give back the memory they live in. */
export interface BuiltWindow {
  readonly pieces: Buffer[];
  /**
   * Set when the window is one piece in page-aligned memory (an aligned output slot): the
   * bytes in front of it in that memory (its `skew`), which its consumer may overwrite
   * until it releases the window (restore/direct-writer.ts puts the previous window's
   * unaligned tail there, to write whole blocks with O_DIRECT).
   */
  readonly room?: number;
  /** Call once the pieces are no longer used (idempotent). */
  readonly release: () => void;
}

/** Shared-memory slots for the stored bytes read and the plaintext decoded, per window. */
export interface WindowRings {
  readonly read: SlotRing;
  readonly out: SlotRing;
  /** Delta bases of a window (plaintext, then their stored bytes), held while it decodes. */
  readonly base: SlotRing;
}

/**
 * Three slots of each (one window being written and hashed, two being prepared). A
 * window needs at most windowBytes plus a few blobs that extend past it (and, with `align`,
 * up to `align` bytes in front of it: the output slots are then page-aligned). The workers
 * decode a window straight into its order in its output slot (DecodeItem.places), which
 * then travels on to the writer and the hashing threads; the read slot is free once the
 * window is decoded.
 */
export function windowRings(windowBytes: number, maxChunk: number, align = 0, outSlots = 3): WindowRings {
  const out = windowBytes + 2 * Math.max(maxChunk, 1 << 20);
  // read slots: twice the window, since a window may need a few members of many frames (read
  // whole) and read through gaps; without room the window falls back to fresh memory (on
  // docker.tar v5: 1 window in 47 at out + 1 MiB, RSS 233 MB against 215 MB).
  // base slots: touched only by snapshots with deltas (untouched shared memory costs no RSS)
  return { read: new SlotRing(3, 2 * out), out: new SlotRing(outSlots, out + align, align > 0), base: new SlotRing(2, 2 * out) };
}

/**
 * Reads, decodes and verifies the blobs of a window; returns its bytes in order. With
 * rings, pack ranges are read into a shared read slot and the workers decode every blob
 * straight to where its uses lie in the window, in a shared output slot: the window is
 * one piece, assembled without a copy (a blob used twice is decoded once). A window too
 * large for the slots uses fresh memory instead, and comes back as views into the
 * decoded blobs (adjacent views merged).
 */
export async function buildWindow(repo: BlobSource, pool: CodecPool, refs: ChunkRef[], rings?: WindowRings, stop?: AbortSignal): Promise<BuiltWindow> {
  const planner = new WindowPlanner(repo, undefined);
  planner.add(refs);
  return buildPlannedWindow(repo, pool, planner.next(), rings, stop);
}

/**
 * buildWindow for a window planned with the windows around it (window-plan.ts): besides
 * its own blobs, it decodes those its plan keeps aside for later windows, and copies the
 * blobs earlier windows kept for it to their places once they are decoded. Windows of one
 * plan are built in plan order. `skew`: where the window starts in its output slot (the
 * slot's first `skew` bytes are left to the consumer: BuiltWindow.room). `gather`: with
 * rings, decode the reads in the read slot once they are all in, in one job per codec worker
 * (decodeGathered) instead of one per pack range: for reads that arrive together (local
 * packs), where each job's message and wake-up cost more than the wait.
 */
export async function buildPlannedWindow(repo: BlobSource, pool: CodecPool, planned: Promise<WindowPlan>, rings?: WindowRings, stop?: AbortSignal, skew = 0, gather = false): Promise<BuiltWindow> {
  // take both slots first, in window order (a later window never holds slots an earlier one waits for)
  const outSlot = rings ? await rings.out.acquire() : undefined;
  let readSlot: Slot | undefined = rings ? await rings.read.acquire() : undefined;
  const release = (): void => {
    readSlot?.release();
    outSlot?.release();
  };
  let plan: WindowPlan | undefined;
  try {
    plan = await planned;
    const { refs, reads } = plan;
    let windowTotal = 0;
    for (const r of refs) windowTotal += r.length;
    const shared = outSlot !== undefined && readSlot !== undefined && fitsSlots(reads, skew + windowTotal, outSlot, readSlot);
    if (!shared) {
      release();
      readSlot = undefined;
    }
    const places = shared ? placesOf(refs) : undefined;
    const slots = shared ? { read: readSlot!.bytes, out: outSlot!.bytes.subarray(skew, skew + windowTotal), places: places! } : undefined;
    let plain: Map<string, Uint8Array>;
    if (plan.bases) {
      // the plan reads the delta bases with the window's blobs
      plain = await decodeReads(repo, pool, reads, undefined, slots, plan, stop, rings?.base, gather);
    } else {
      const bases = await loadBasesOf(repo, pool, reads, rings?.base, stop);
      try {
        plain = await decodeReads(repo, pool, reads, bases.plain, slots, plan, stop, undefined, gather);
      } finally {
        bases.release(); // decoded: the bases are no longer needed
      }
    }
    stop?.throwIfAborted();
    plan.settle();
    // the blobs earlier windows decoded for this one (waited for only now: a window holding a base slot never waits for another)
    for (const [k, c] of plan.carried) {
      await c.ready;
      if (places) placeCarried(outSlot!.bytes.subarray(skew), c.bytes, places.get(k)!, k);
      else plain.set(k, Buffer.from(c.bytes)); // fresh memory: the kept copy's memory is reused
    }
    plan.releaseCarried();
    if (shared) {
      readSlot!.release(); // decoded: the stored bytes are no longer needed
      readSlot = undefined;
      const out = outSlot!.bytes;
      if (windowTotal === 0) return { pieces: [], release };
      return { pieces: [Buffer.from(out.buffer, out.byteOffset + skew, windowTotal)], release, ...(rings!.out.aligned && { room: skew }) };
    }
    return { pieces: piecesOf(refs, plain), release: () => undefined };
  } catch (err) {
    plan?.settle(err);
    plan?.releaseCarried();
    release();
    throw err;
  }
}

/** Copies a kept blob's plaintext to its places in a window (triples as DecodeItem.places); CORRUPT when a place lies outside the blob. */
function placeCarried(out: Uint8Array, blob: Uint8Array, places: readonly number[], key: string): void {
  for (let k = 0; k < places.length; k += 3) {
    const at = places[k]!;
    const from = places[k + 1]!;
    const len = places[k + 2]!;
    if (from + len > blob.length) throw corrupt(`blob ${Buffer.from(key, 'latin1').toString('hex')}: ${blob.length} bytes, but the chunk list needs ${from}+${len}`);
    out.set(blob.subarray(from, from + len), at);
  }
}

/** Where each blob's uses lie in the window (by latin1 id): triples (window offset, offset in the blob, length), as DecodeItem.places. */
function placesOf(refs: readonly ChunkRef[]): Map<string, number[]> {
  const places = new Map<string, number[]>();
  let at = 0;
  for (const r of refs) {
    const k = r.id.toString('latin1');
    let p = places.get(k);
    if (!p) places.set(k, (p = []));
    p.push(at, r.offset, r.length);
    at += r.length;
  }
  return places;
}

/** True when the reads' stored bytes fit the read slot and the window's bytes the output slot. */
function fitsSlots(reads: readonly WindowRead[], windowTotal: number, outSlot: Slot, readSlot: Slot): boolean {
  let readTotal = 0;
  for (const rd of reads) if (!rd.held) readTotal += rd.length;
  return windowTotal <= outSlot.bytes.length && readTotal <= readSlot.bytes.length;
}

/**
 * Reads every planned pack range and decodes (verifies) its blobs, all at once: into the
 * `slots` memory when given (stored bytes into `read` in plan order, plaintext into `out`
 * at each blob's `places`; nothing is returned), else into fresh memory (returns each
 * blob's plaintext by latin1 id). A read an earlier window holds (WindowRead.held) is
 * decoded from there once it is ready; the parts of a read that later windows need
 * (WindowRead.keep) are copied aside as soon as it is read. `bases`: the plaintext of the
 * delta bases, when the window read them itself; else the plan's `bases` are among the
 * reads' blobs and are decoded first, whole (into a slot of `baseRing` when they fit).
 *
 * Every read runs to its end (none may still write into the slots once they are released,
 * or have a job on a worker when the pool closes); after the first failure, here or of the
 * caller (`stop`), reads that complete decode nothing more. The first failure is thrown.
 * `gather`: the reads into the read slot are decoded once all are in (decodeGathered).
 */
async function decodeReads(
  repo: BlobSource,
  pool: CodecPool,
  reads: readonly WindowRead[],
  bases: ReadonlyMap<string, Uint8Array> | undefined,
  slots: { read: Uint8Array; out: Uint8Array; places: ReadonlyMap<string, readonly number[]> } | undefined,
  plan: Pick<WindowPlan, 'asideAt' | 'aside' | 'bases' | 'baseOnly'>,
  stop: AbortSignal | undefined,
  baseRing?: SlotRing,
  gather = false,
): Promise<Map<string, Uint8Array>> {
  stop?.throwIfAborted(); // the read stopped: no more requests for it
  const { asideAt, aside, baseOnly } = plan;
  const plain = new Map<string, Uint8Array>();
  let readOff = 0;
  /** Where each read lies in the read slot (reads into it). */
  const starts: number[] = [];
  /** The reads left for decodeGathered. */
  const gathered: Gathered[] = [];
  let failure: { err: unknown } | undefined;
  // the stored bytes of a read that holds delta bases are decoded twice (the bases first, whole, then the window's blobs):
  // in ordinary memory, which a decode job takes over (transfers to its worker), each job gets a copy of them
  const twice = plan.bases?.size ? new Set(reads.flatMap((rd, i) => (rd.blobs.some((b) => plan.bases!.has(b.key)) ? [i] : []))) : undefined;
  const fail =
    (what: string) =>
    (err: unknown): never => {
      throw isStowageError(err) ? err : new StowageError('CORRUPT', `${what}: ${(err as Error).message}`);
    };
  // every read's stored bytes: read (copying aside what later windows need), or held by an earlier window
  const srcs = reads.map((rd, i) => {
    let p: Promise<Uint8Array>;
    if (rd.held) {
      const h = rd.held;
      p = h.ready.then(() => h.bytes);
    } else if (slots) {
      const src = slots.read.subarray(readOff, readOff + rd.length);
      starts[i] = readOff;
      readOff += rd.length;
      p = repo.readPackRangeInto(rd.pack, rd.offset, rd.length, src).then(() => keepParts(rd, src));
    } else p = repo.readPackRange(rd.pack, rd.offset, rd.length).then((b) => keepParts(rd, b));
    p.catch(() => undefined); // awaited below
    return p;
  });
  let own: { plain: Map<string, Uint8Array>; release: () => void } | undefined;
  try {
    let basesReady: Promise<ReadonlyMap<string, Uint8Array>> | undefined;
    if (plan.bases && plan.bases.size > 0) {
      basesReady = decodeBases(pool, reads, srcs, plan.bases, baseRing, fail).then((b) => {
        own = b;
        return b.plain;
      });
      basesReady.catch(() => undefined); // awaited by the reads with deltas
    }
    await Promise.all(
      reads.map(async (rd, i) => {
        try {
          const blobs = baseOnly?.size ? rd.blobs.filter((b) => !baseOnly.has(b.key)) : rd.blobs;
          const src = await srcs[i]!;
          if (blobs.length === 0) return;
          const basePlain = basesReady && blobs.some((b) => b.loc.base) ? await basesReady : bases;
          if (failure || stop?.aborted) return;
          if (gather && slots && starts[i] !== undefined) {
            gathered.push({ i, blobs, basePlain });
            return;
          }
          const items = readItems(rd, blobs, 0, basePlain, slots, asideAt);
          const what = `pack ${rd.pack}`;
          if (slots) {
            await pool.decodeInto(src, items, slots.out, what, aside).catch(fail(what));
            return;
          }
          const { plain: out, lengths } = await pool.decode(twice?.has(i) ? ownCopy(pool, src) : src, items, what).catch(fail(what));
          let off = 0;
          blobs.forEach((b, k) => {
            const len = lengths[k]!;
            const blob = out.subarray(off, off + len);
            plain.set(b.key, blob);
            const at = asideAt.get(b.key);
            if (at !== undefined) aside!.set(blob, at); // kept for a later window
            off += len;
          });
        } catch (err) {
          failure ??= { err };
        }
      }),
    );
    if (gathered.length > 0 && !failure && !stop?.aborted) await decodeGathered(pool, reads, gathered, starts, slots!, plan, readOff).catch((err: unknown) => void (failure ??= { err }));
    if (basesReady) await basesReady.catch((err: unknown) => void (failure ??= { err }));
  } finally {
    own?.release(); // decoded: the bases are no longer needed
  }
  if (failure) throw failure.err;
  return plain;
}

/**
 * The decode items of `blobs` (of read `rd`), whose stored bytes start at `at` of the bytes
 * given to the codec: a delta blob with its base from `basePlain`; a frame named by its pack
 * and offset (frameKeyOf), so the codec skips decompressing it again when the next window
 * needs more of its members; with `slots`, each blob's places in the output slot and its
 * place aside (`asideAt`).
 */
function readItems(
  rd: WindowRead,
  blobs: WindowRead['blobs'],
  at: number,
  basePlain: ReadonlyMap<string, Uint8Array> | undefined,
  slots: { places: ReadonlyMap<string, readonly number[]> } | undefined,
  asideAt: WindowPlan['asideAt'],
): DecodeItem[] {
  return blobs.map((b) =>
    decodeItem(b.loc, b.id, b.loc.offset - rd.offset + at, b.loc.base && basePlain?.get(b.loc.base.toString('latin1')), {
      frameKey: frameKeyOf(rd.pack, b.loc),
      places: slots ? (slots.places.get(b.key) ?? []) : undefined,
      aside: slots ? asideAt.get(b.key) : undefined,
    }),
  );
}

/** A read in the read slot whose blobs wait for decodeGathered. */
interface Gathered {
  readonly i: number;
  readonly blobs: WindowRead['blobs'];
  readonly basePlain: ReadonlyMap<string, Uint8Array> | undefined;
}

/**
 * Decodes reads that are all in the read slot (`starts`: where each lies in it, `used` bytes
 * of it in all) as one decode-into job per codec worker, the reads shared out by their blobs'
 * plaintext bytes (a read's blobs, and so a frame's members, stay in one job, in plan order).
 * A job that fails as CORRUPT is decoded again read by read, so the error names the pack.
 * Waits for every job before it settles.
 */
async function decodeGathered(
  pool: CodecPool,
  reads: readonly WindowRead[],
  gathered: readonly Gathered[],
  starts: readonly number[],
  slots: { read: Uint8Array; out: Uint8Array; places: ReadonlyMap<string, readonly number[]> },
  plan: Pick<WindowPlan, 'asideAt' | 'aside'>,
  used: number,
): Promise<void> {
  const { asideAt, aside } = plan;
  const jobs = Math.max(1, Math.min(pool.maxWorkers, gathered.length));
  const groups: { load: number; reads: Gathered[] }[] = Array.from({ length: jobs }, () => ({ load: 0, reads: [] }));
  const size = (g: Gathered): number => g.blobs.reduce((n, b) => n + b.loc.rawLength, 0);
  for (const g of [...gathered].sort((a, b) => size(b) - size(a))) {
    let to = groups[0]!;
    for (const x of groups) if (x.load < to.load) to = x;
    to.reads.push(g);
    to.load += size(g);
  }
  const itemsOf = (g: Gathered, base: number): DecodeItem[] => readItems(reads[g.i]!, g.blobs, base, g.basePlain, slots, asideAt);
  const data = slots.read.subarray(0, used);
  const results = await Promise.allSettled(
    groups
      .filter((x) => x.reads.length > 0)
      .map(async (x) => {
        x.reads.sort((a, b) => a.i - b.i);
        const packs = [...new Set(x.reads.map((g) => reads[g.i]!.pack))];
        try {
          await pool.decodeInto(
            data,
            x.reads.flatMap((g) => itemsOf(g, starts[g.i]!)),
            slots.out,
            `pack${packs.length > 1 ? 's' : ''} ${packs.join(', ')}`,
            aside,
          );
        } catch (err) {
          if (!isStowageError(err) || err.code !== 'CORRUPT') throw err;
          // again read by read, for the error to name its pack
          for (const g of x.reads) {
            const rd = reads[g.i]!;
            await pool.decodeInto(slots.read.subarray(starts[g.i]!, starts[g.i]! + rd.length), itemsOf(g, 0), slots.out, `pack ${rd.pack}`, aside);
          }
          throw err;
        }
      }),
  );
  const bad = results.find((r) => r.status === 'rejected');
  if (bad) throw bad.reason;
}

/**
 * Stored bytes to hand to a decode job when another job reads them too: a copy when they are
 * in ordinary memory and the pool has workers (CodecPool.decode transfers ordinary memory to
 * its worker, detaching it here), else the bytes themselves (shared memory is never transferred).
 */
function ownCopy(pool: CodecPool, src: Uint8Array): Uint8Array {
  return pool.maxWorkers > 0 && src.buffer instanceof ArrayBuffer ? new Uint8Array(src) : src;
}

/** Copies the parts of a read that later windows need aside (WindowRead.keep); returns the bytes read. */
function keepParts(rd: WindowRead, src: Uint8Array): Uint8Array {
  if (rd.keep) {
    for (const k of rd.keep) {
      k.to.set(src.subarray(k.at, k.at + k.length));
      k.done();
    }
  }
  return src;
}

/**
 * Decodes the delta bases among the reads' blobs (`want`, by latin1 id), whole and checked,
 * once each read's bytes are at hand: into a slot of `ring` when they fit, else fresh memory.
 * Waits for every job before it settles (none still writes into the slot); release the slot
 * once the deltas are decoded.
 */
async function decodeBases(
  pool: CodecPool,
  reads: readonly WindowRead[],
  srcs: readonly Promise<Uint8Array>[],
  want: ReadonlySet<string>,
  ring: SlotRing | undefined,
  fail: (what: string) => (err: unknown) => never,
): Promise<{ plain: Map<string, Uint8Array>; release: () => void }> {
  const jobs: { i: number; blobs: PlannedRead['blobs']; at: number; n: number }[] = [];
  const done = new Set<string>();
  let total = 0;
  reads.forEach((rd, i) => {
    const blobs = rd.blobs.filter((b) => want.has(b.key) && !done.has(b.key));
    if (blobs.length === 0) return;
    let n = 0;
    for (const b of blobs) {
      done.add(b.key);
      n += b.loc.rawLength;
    }
    jobs.push({ i, blobs, at: total, n });
    total += n;
  });
  const slot = ring && total <= ring.size ? await ring.acquire() : undefined;
  const plain = new Map<string, Uint8Array>();
  const results = await Promise.allSettled(
    jobs.map(async (j) => {
      const rd = reads[j.i]!;
      const src = await srcs[j.i]!;
      const what = `pack ${rd.pack}`;
      const items = j.blobs.map((b) => decodeItem(b.loc, b.id, b.loc.offset - rd.offset, undefined, { frameKey: frameKeyOf(rd.pack, b.loc) }));
      let out: Uint8Array;
      if (slot) {
        out = slot.bytes.subarray(j.at, j.at + j.n);
        await pool.decodeInto(src, items, out, what).catch(fail(what));
      } else out = (await pool.decode(ownCopy(pool, src), items, what).catch(fail(what))).plain; // the window decodes these bytes too
      let off = 0;
      for (const b of j.blobs) {
        plain.set(b.key, out.subarray(off, off + b.loc.rawLength));
        off += b.loc.rawLength;
      }
    }),
  );
  const bad = results.find((r) => r.status === 'rejected');
  if (bad) {
    slot?.release();
    throw bad.reason;
  }
  for (const k of want) {
    if (plain.has(k)) continue;
    slot?.release();
    throw new Error(`internal error: base ${Buffer.from(k, 'latin1').toString('hex')} is in none of the window's reads`);
  }
  return { plain, release: slot?.release ?? (() => undefined) };
}

/** The window's bytes in ref order, as views into the decoded blobs (adjacent views merged); CORRUPT when a ref runs past its blob. */
function piecesOf(refs: readonly ChunkRef[], plain: ReadonlyMap<string, Uint8Array>): Buffer[] {
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
  return pieces;
}

/**
 * The plaintext of the bases of the delta blobs among `reads` (keyed by latin1 base id):
 * one batched lookup, reads grouped by pack, decoded by the pool; into a slot of `ring`
 * when they fit (release it once the window is decoded), else into fresh memory. CORRUPT
 * when a base is missing from the index or is itself a delta.
 */
async function loadBasesOf(
  repo: BlobSource,
  pool: CodecPool,
  reads: readonly PlannedRead[],
  ring: SlotRing | undefined,
  stop: AbortSignal | undefined,
): Promise<{ plain: Map<string, Uint8Array>; release: () => void }> {
  const want = new Map<string, { base: Buffer; of: Uint8Array }>();
  for (const rd of reads) for (const b of rd.blobs) if (b.loc.base) want.set(b.loc.base.toString('latin1'), { base: b.loc.base, of: b.id });
  if (want.size === 0) return { plain: new Map(), release: () => undefined };
  const list = [...want.values()];
  const found = await repo.lookupBases(list);
  const baseLocs = new Map<string, BlobLocation>();
  list.forEach((w, i) => baseLocs.set(w.base.toString('latin1'), found[i]!));
  const plan = planWholeBlobReads(baseLocs);
  stop?.throwIfAborted(); // the read stopped: no more requests for it
  if (!ring || plan.plainBytes + plan.storedBytes > ring.size) return { plain: await repo.loadWholeBlobs(baseLocs, pool), release: () => undefined };
  const slot = await ring.acquire();
  try {
    stop?.throwIfAborted();
    const plain = await readWholeBlobsInto(repo, pool, plan, slot.bytes.subarray(0, plan.plainBytes), slot.bytes.subarray(plan.plainBytes));
    return { plain, release: slot.release };
  } catch (err) {
    slot.release();
    throw err;
  }
}
