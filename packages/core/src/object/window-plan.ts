/**
 * Planning the windows of one object read so that a pack range is read, and a frame
 * decoded, once rather than once per window that needs some of it.
 *
 * An object's windows (4 MiB of output each in a restore) often need blobs that lie in the
 * same pack range or the same frame as blobs of the windows around them: small blobs used
 * in many windows in a row, members of one 4 MiB frame spread over several windows (after
 * deduplication against older snapshots), a blob that sits in the gap a read reads through.
 * Planned window by window, each window read and decoded those ranges and frames again
 * (restore of docker.tar v5: 222 MB read for 102 MB of distinct pack bytes, 389 MB of frames
 * decompressed for 183 MB of frame members).
 *
 * restic's restorer downloads each pack once and writes every blob to all its places in the
 * target file; our output goes out in order (to a stream, through a running SHA-256), so
 * instead the planner looks `horizon` windows ahead: when it plans a window's reads, every
 * blob a later window needs that lies in a pack range the window reads (or the gaps between,
 * read through) is decoded by the same job and kept aside, in an arena of `budget` bytes of
 * shared memory, until the later windows copy it to their places. A blob the window needs
 * that a later one needs again is kept the same way. Kept blobs are verified against their
 * ids when decoded, like every other. When the arena is full, a later window reads the blob
 * itself, as before.
 */
import type { BlobLocation } from '../blob-index/types.js';
import type { BlobSource } from '../repository/blob-store.js';
import { planReads, type PlannedBlob, type PlannedRead } from '../repository/read-plan.js';
import type { ChunkRef } from './chunk-list.js';

export interface CarryOptions {
  /** Windows looked at beyond the one being planned. */
  readonly horizon: number;
  /** Bytes of decoded blobs kept for later windows at most (shared memory, touched only as used). */
  readonly budget: number;
}

/** A blob decoded by an earlier window, as a window takes it. */
export interface CarriedBlob {
  /** Its plaintext (valid once `ready` resolved, until the window's releaseCarried). */
  readonly bytes: Uint8Array;
  /** Resolves once the window that decodes it has decoded (and verified) it; rejects when that window failed. */
  readonly ready: Promise<void>;
}

/** What one window reads, decodes, keeps aside and takes from earlier windows. */
export interface WindowPlan {
  readonly refs: ChunkRef[];
  /** The window's reads (grouped by pack), with the blobs decoded only for later windows among their blobs. */
  readonly reads: PlannedRead[];
  /** Where blobs go aside for later windows (by latin1 id): offset of the whole plaintext in `aside`. */
  readonly asideAt: ReadonlyMap<string, number>;
  /** Shared memory for the blobs kept aside (undefined when none are). */
  readonly aside: Uint8Array | undefined;
  /** Blobs of the window decoded by earlier windows (by latin1 id), not read by this one. */
  readonly carried: ReadonlyMap<string, CarriedBlob>;
  /** The window decoded its reads (or failed: `err`): later windows may copy the blobs kept aside. Once. */
  settle(err?: unknown): void;
  /** The window has copied its carried blobs (or gave up): their memory may be reused. Once. */
  releaseCarried(): void;
}

interface Region {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
  /** Blobs kept in it that a later window still needs, plus windows still copying from it. */
  refs: number;
}

/**
 * Shared memory handed out in regions, first fit from the bottom: only as much of it as is
 * in use at once is ever touched (resident), however much passes through it.
 */
class Arena {
  private readonly mem: Uint8Array;
  /** Regions in use, by start. */
  private readonly regions: Region[] = [];

  constructor(readonly size: number) {
    this.mem = new Uint8Array(new SharedArrayBuffer(size));
  }

  /** The largest region alloc() can hand out now. */
  room(): number {
    let best = 0;
    let at = 0;
    for (const r of this.regions) {
      best = Math.max(best, r.start - at);
      at = r.end;
    }
    return Math.max(best, this.size - at);
  }

  /** A region of `n` bytes (the lowest gap that holds it), or undefined when there is none. */
  alloc(n: number): Region | undefined {
    if (n <= 0) return undefined;
    let at = 0;
    let i = 0;
    for (; i < this.regions.length; i++) {
      if (this.regions[i]!.start - at >= n) break;
      at = this.regions[i]!.end;
    }
    if (at + n > this.size) return undefined;
    const r: Region = { start: at, end: at + n, bytes: this.mem.subarray(at, at + n), refs: 0 };
    this.regions.splice(i, 0, r);
    return r;
  }

  unref(r: Region): void {
    if (--r.refs > 0) return;
    this.regions.splice(this.regions.indexOf(r), 1);
  }
}

interface Queued {
  readonly refs: ChunkRef[];
  /** Unique ids of the window, by latin1 key. */
  readonly keys: Map<string, Buffer>;
  readonly locs: Promise<Map<string, BlobLocation>>;
}

interface Kept {
  readonly region: Region;
  readonly bytes: Uint8Array;
  readonly ready: Promise<void>;
}

/**
 * Plans the windows of one read, in order: add() each window as the read finds it (its
 * index lookup starts at once), next() plans the oldest window not yet planned. Without
 * carry options (no shared memory), every window is planned alone, as soon as it is added.
 */
export class WindowPlanner {
  private readonly queue: Queued[] = [];
  /** For each blob, how many queued windows need it. */
  private readonly uses = new Map<string, number>();
  private readonly kept = new Map<string, Kept>();
  private readonly arena: Arena | undefined;
  private last: Promise<unknown> = Promise.resolve();
  /** Plans asked for (next()) and not begun: their windows are still in the queue, as later windows of the plans before them. */
  private asked = 0;

  constructor(
    private readonly repo: BlobSource,
    private readonly carry: CarryOptions | undefined,
  ) {
    this.arena = carry && carry.budget > 0 ? new Arena(carry.budget) : undefined;
  }

  /** Windows looked at beyond the one being planned. */
  get horizon(): number {
    return this.arena ? this.carry!.horizon : 0;
  }

  /** Windows added whose plan was not asked for yet. */
  get queued(): number {
    return this.queue.length - this.asked;
  }

  /** Adds the next window of the read; its index lookup starts now. */
  add(refs: ChunkRef[]): void {
    const keys = new Map<string, Buffer>();
    for (const r of refs) keys.set(r.id.toString('latin1'), r.id);
    const locs = locate(this.repo, keys);
    locs.catch(() => undefined); // awaited by its plan
    if (this.arena) for (const k of keys.keys()) this.uses.set(k, (this.uses.get(k) ?? 0) + 1);
    this.queue.push({ refs, keys, locs });
  }

  /** Plans the oldest window added and not yet planned (after the plans before it). */
  next(): Promise<WindowPlan> {
    if (this.asked >= this.queue.length) throw new Error('internal error: no window left to plan');
    this.asked++;
    const p = this.last.then(() => {
      this.asked--;
      return this.plan(this.queue.shift()!);
    });
    this.last = p.catch(() => undefined);
    return p;
  }

  private async plan(w: Queued): Promise<WindowPlan> {
    const arena = this.arena;
    if (arena) {
      for (const k of w.keys.keys()) {
        const n = this.uses.get(k)! - 1;
        if (n > 0) this.uses.set(k, n);
        else this.uses.delete(k);
      }
    }
    const locs = await w.locs;
    const carried = new Map<string, CarriedBlob>();
    const regions: Region[] = [];
    const toRead: { id: Buffer }[] = [];
    for (const [k, id] of w.keys) {
      const c = this.kept.get(k);
      if (!c) {
        toRead.push({ id });
        continue;
      }
      carried.set(k, c);
      c.region.refs++; // this window copies from it
      regions.push(c.region);
      if (!this.uses.has(k)) {
        this.kept.delete(k);
        arena!.unref(c.region);
      }
    }
    let released = false;
    const releaseCarried = (): void => {
      if (released) return;
      released = true;
      for (const r of regions) arena!.unref(r);
    };
    let reads = planReads(toRead, locs);
    let aside: { region: Region; at: Map<string, number>; settle: (err?: unknown) => void } | undefined;
    if (arena && reads.length > 0) {
      const later = await this.laterWithin(reads, w.keys);
      const keep = this.choose(reads, later);
      if (keep.length > 0) {
        const extras = keep.filter((b) => !w.keys.has(b.key));
        if (extras.length > 0) {
          const all = new Map(locs);
          for (const b of extras) all.set(b.key, b.loc);
          reads = planReads([...toRead, ...extras], all);
        }
        aside = this.keepAside(keep);
      }
    }
    return {
      refs: w.refs,
      reads,
      asideAt: aside?.at ?? new Map(),
      aside: aside?.region.bytes,
      carried,
      settle: aside?.settle ?? (() => undefined),
      releaseCarried,
    };
  }

  /**
   * The blobs queued windows need (none a delta, none kept already, none of this window's)
   * that lie within the window's reads: in frames it decodes, or in the bytes it reads
   * through; with the index in the queue of the first window that needs each.
   */
  private async laterWithin(reads: readonly PlannedRead[], own: ReadonlyMap<string, Buffer>): Promise<Map<string, { blob: PlannedBlob; next: number }>> {
    const spans = new Map<string, PlannedRead[]>();
    for (const rd of reads) {
      let list = spans.get(rd.pack);
      if (!list) spans.set(rd.pack, (list = []));
      list.push(rd);
    }
    const later = new Map<string, { blob: PlannedBlob; next: number }>();
    for (let i = 0; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      let ql: Map<string, BlobLocation>;
      try {
        ql = await q.locs;
      } catch {
        break; // that window fails when it is planned
      }
      for (const [key, id] of q.keys) {
        if (own.has(key) || later.has(key) || this.kept.has(key)) continue;
        const loc = ql.get(key);
        if (!loc || loc.base) continue;
        const list = spans.get(loc.pack);
        if (list?.some((rd) => loc.offset >= rd.offset && loc.offset + loc.length <= rd.offset + rd.length)) later.set(key, { blob: { key, id, loc }, next: i });
      }
    }
    return later;
  }

  /**
   * The blobs to keep aside, as many as the arena has room for: of the window's own blobs
   * that queued windows need again and of `later`, framed ones first (each spares a whole
   * frame's decompression), then the others (each spares a re-read), sooner needed first.
   */
  private choose(reads: readonly PlannedRead[], later: ReadonlyMap<string, { blob: PlannedBlob; next: number }>): PlannedBlob[] {
    const firstUse = new Map<string, number>();
    const candidates: PlannedBlob[] = [];
    for (const rd of reads) for (const b of rd.blobs) if (this.uses.has(b.key)) candidates.push(b);
    if (candidates.length > 0) {
      // first use of the window's own blobs again
      for (let i = 0; i < this.queue.length && firstUse.size < candidates.length; i++) for (const b of candidates) if (!firstUse.has(b.key) && this.queue[i]!.keys.has(b.key)) firstUse.set(b.key, i);
    }
    for (const [k, l] of later) {
      candidates.push(l.blob);
      firstUse.set(k, l.next);
    }
    candidates.sort((a, b) => (a.loc.frame ? 0 : 1) - (b.loc.frame ? 0 : 1) || firstUse.get(a.key)! - firstUse.get(b.key)!);
    let room = this.arena!.room();
    const keep: PlannedBlob[] = [];
    for (const b of candidates) {
      if (b.loc.rawLength > room) continue;
      room -= b.loc.rawLength;
      keep.push(b);
    }
    return keep;
  }

  /** Places `keep` in one arena region (which choose() found room for) and records them as kept. */
  private keepAside(keep: readonly PlannedBlob[]): { region: Region; at: Map<string, number>; settle: (err?: unknown) => void } {
    const at = new Map<string, number>();
    let n = 0;
    for (const b of keep) {
      at.set(b.key, n);
      n += b.loc.rawLength;
    }
    const region = this.arena!.alloc(n)!;
    let settle!: (err?: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      settle = (err) => {
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err instanceof Error ? err : new Error(String(err)));
      };
    });
    ready.catch(() => undefined); // a window that takes these blobs sees the failure
    for (const b of keep) {
      const off = at.get(b.key)!;
      this.kept.set(b.key, { region, bytes: region.bytes.subarray(off, off + b.loc.rawLength), ready });
      region.refs++;
    }
    return { region, at, settle };
  }
}

/** The index locations of a window's blobs (one batched lookup), keyed by latin1 id; unknown ones left out. */
export async function locate(repo: BlobSource, keys: ReadonlyMap<string, Buffer>): Promise<Map<string, BlobLocation>> {
  const found = await repo.lookup([...keys.values()]);
  const locs = new Map<string, BlobLocation>();
  let i = 0;
  for (const k of keys.keys()) {
    const l = found[i++];
    if (l) locs.set(k, l);
  }
  return locs;
}
