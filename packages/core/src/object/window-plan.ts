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
  /** Windows looked at beyond the one being planned for blobs to keep decoded. */
  readonly horizon: number;
  /** Bytes of decoded blobs kept for later windows at most (shared memory, touched only as used). */
  readonly budget: number;
  /**
   * Windows whose locations are known ahead of the one being planned (at least `horizon`;
   * default `horizon`): how far ahead the stored bytes kept in `stash` may be needed.
   */
  readonly lookahead?: number;
  /**
   * Bytes of stored (still sealed and compressed) pack ranges kept for later windows at most
   * (default 0: none): a blob or frame a window reads that a window within `lookahead` needs
   * again, and was not kept decoded, is copied aside as read, so that window decodes it from
   * there instead of reading it again. With a stash, the delta bases a window needs are
   * planned with its reads (one request for a base beside the window's blobs, and bases
   * kept like any other stored range) instead of being read apart.
   */
  readonly stash?: number;
  /**
   * Windows queued behind the first window of a read before it is planned (default
   * `lookahead`); each later window waits for one more, up to `lookahead`. The stash then
   * looks less far ahead for the first windows' reads, and their reads start sooner: waiting
   * for the locations of 32 windows before the first read held the first data GET of a
   * restore of docker.tar v5 from Ceph RGW back by the lookups of about 10,000 chunks (and
   * their chunk lists), with the two cores mostly idle.
   */
  readonly startAfter?: number;
}

/** A planned pack range whose stored bytes an earlier window's read keeps (no request): decode from `bytes` once `ready`. */
export interface HeldBytes {
  readonly bytes: Uint8Array;
  /** Resolves once the earlier window copied them aside; rejects when its read failed. */
  readonly ready: Promise<void>;
}

/** Stored bytes of a read to copy aside for later windows once read: `length` bytes at `at` in the read, into `to`; then `done()` (or `done(err)`). */
export interface StashCopy {
  readonly at: number;
  readonly length: number;
  readonly to: Uint8Array;
  done(err?: unknown): void;
}

/** A window's read: a ranged pack read (maybe copying parts aside for later windows), or stored bytes an earlier window kept. */
export interface WindowRead extends PlannedRead {
  /** Set when no request is needed: the stored bytes (offset..offset+length of the pack) at hand. */
  readonly held?: HeldBytes;
  /** Parts of the bytes read to copy aside for later windows (fetched reads only). */
  readonly keep?: readonly StashCopy[];
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
  readonly reads: WindowRead[];
  /**
   * With a stash: the latin1 ids of the delta bases of the window's blobs, which are among the
   * reads' blobs (decode them first, whole, for the deltas). Undefined otherwise: the window
   * reads its bases itself.
   */
  readonly bases?: ReadonlySet<string>;
  /** Of `bases`, those the reads hold only as bases (not to decode as blobs of the window or to keep aside). */
  readonly baseOnly?: ReadonlySet<string>;
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
  /** With a stash: the locations of the bases of the window's delta blobs (by latin1 base id). */
  readonly bases: Promise<Map<string, BlobLocation>> | undefined;
  /** With a stash: the stored units the window reads (by unitOf), with the blobs it needs of each; made once, by stashFor. */
  units?: Map<string, { readonly loc: BlobLocation; readonly keys: string[] }>;
  /** Its place in the read (0, 1, ...). */
  readonly seq: number;
}

/** Stored bytes kept in the stash: a blob's or frame's stored range (Stashed.unit names it). */
interface Stashed {
  readonly region: Region;
  readonly held: HeldBytes;
}

/** The name of a blob's stored unit (the blob, or the frame it is a member of): its pack and offset. */
function unitOf(loc: BlobLocation): string {
  return `${loc.pack}@${loc.offset}`;
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
  /** Stored bytes kept for later windows (CarryOptions.stash), and what it holds by unit. */
  private readonly stashArena: Arena | undefined;
  private readonly stashed = new Map<string, Stashed>();
  /** The units the queued windows need whose units were counted (stashFor): the windows (by seq) in queue order, and the ids each needs. */
  private readonly unitNeeds = new Map<string, { readonly loc: BlobLocation; readonly seqs: number[]; readonly keys: string[][] }>();
  /** The keys of unitNeeds by pack. */
  private readonly needByPack = new Map<string, Set<string>>();
  /** Windows added so far (Queued.seq). */
  private added = 0;
  private last: Promise<unknown> = Promise.resolve();
  /** Plans asked for (next()) and not begun: their windows are still in the queue, as later windows of the plans before them. */
  private asked = 0;
  /** Plans asked for so far (next()). */
  private planned = 0;

  constructor(
    private readonly repo: BlobSource,
    private readonly carry: CarryOptions | undefined,
  ) {
    this.arena = carry && carry.budget > 0 ? new Arena(carry.budget) : undefined;
    this.stashArena = this.arena && (carry!.stash ?? 0) > 0 ? new Arena(carry!.stash!) : undefined;
  }

  /** Windows looked at beyond the one being planned for blobs to keep decoded. */
  get horizon(): number {
    return this.arena ? this.carry!.horizon : 0;
  }

  /** Windows to add beyond the one being planned before it is planned (at least the horizon). */
  get lookahead(): number {
    return this.arena ? Math.max(this.carry!.horizon, this.carry!.lookahead ?? 0) : 0;
  }

  /** Windows added whose plan was not asked for yet. */
  get queued(): number {
    return this.queue.length - this.asked;
  }

  /**
   * Whether enough windows are queued to plan the next one (while more come): `lookahead`
   * windows behind it, or at the start of a read, with CarryOptions.startAfter, that many
   * behind the first window and one more behind each later one, up to `lookahead`.
   */
  get ready(): boolean {
    const start = this.carry?.startAfter;
    return this.queued > (start === undefined ? this.lookahead : Math.min(this.lookahead, start + this.planned));
  }

  /** True when a queued window within the horizon needs blob `k`. */
  private neededSoon(k: string): boolean {
    if (!this.uses.has(k)) return false;
    const horizon = Math.min(this.queue.length, this.carry!.horizon);
    for (let i = 0; i < horizon; i++) if (this.queue[i]!.keys.has(k)) return true;
    return false;
  }

  /** Adds the next window of the read; its index lookup starts now. */
  add(refs: ChunkRef[]): void {
    const keys = new Map<string, Buffer>();
    for (const r of refs) keys.set(r.id.toString('latin1'), r.id);
    const locs = locate(this.repo, keys);
    locs.catch(() => undefined); // awaited by its plan
    const bases = this.stashArena ? locs.then((l) => locateBases(this.repo, l)) : undefined;
    bases?.catch(() => undefined); // awaited by its plan
    if (this.arena) for (const k of keys.keys()) this.uses.set(k, (this.uses.get(k) ?? 0) + 1);
    this.queue.push({ refs, keys, locs, bases, seq: this.added++ });
  }

  /** Plans the oldest window added and not yet planned (after the plans before it). */
  next(): Promise<WindowPlan> {
    if (this.asked >= this.queue.length) throw new Error('internal error: no window left to plan');
    this.asked++;
    this.planned++;
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
    if (w.units) {
      for (const u of w.units.keys()) {
        const e = this.unitNeeds.get(u)!;
        e.seqs.shift(); // this window's (the oldest)
        e.keys.shift();
        if (e.seqs.length > 0) continue;
        this.unitNeeds.delete(u);
        const set = this.needByPack.get(e.loc.pack)!;
        set.delete(u);
        if (set.size === 0) this.needByPack.delete(e.loc.pack);
      }
    }
    const locs = await w.locs;
    const baseLocs = w.bases && (await w.bases);
    const carried = new Map<string, CarriedBlob>();
    const regions: { arena: Arena; region: Region }[] = [];
    const toRead: { id: Buffer }[] = [];
    for (const [k, id] of w.keys) {
      const c = this.kept.get(k);
      if (!c) {
        toRead.push({ id });
        continue;
      }
      carried.set(k, c);
      c.region.refs++; // this window copies from it
      regions.push({ arena: arena!, region: c.region });
      if (!this.neededSoon(k)) {
        this.kept.delete(k);
        arena!.unref(c.region);
      }
    }
    let released = false;
    const releaseCarried = (): void => {
      if (released) return;
      released = true;
      for (const r of regions) r.arena.unref(r.region);
    };
    // with a stash, the delta bases are read with the window's blobs (decoded first, whole)
    let all: ReadonlyMap<string, BlobLocation> = locs;
    let baseOnly: Set<string> | undefined;
    if (baseLocs && baseLocs.size > 0) {
      const withBases = new Map(locs);
      baseOnly = new Set();
      for (const [k, l] of baseLocs) {
        withBases.set(k, l);
        if (w.keys.has(k)) {
          if (!carried.has(k)) continue; // read as a blob of the window anyway
        } else baseOnly.add(k);
        toRead.push({ id: Buffer.from(k, 'latin1') });
      }
      all = withBases;
    }
    // stored bytes an earlier window kept in the stash: decoded from there, not read
    const held = new Map<string, { stashed: Stashed; loc: BlobLocation; blobs: PlannedBlob[] }>();
    let fetch = toRead;
    if (this.stashArena && this.stashed.size > 0) {
      fetch = [];
      for (const r of toRead) {
        const key = r.id.toString('latin1');
        const loc = all.get(key);
        const st = loc && this.stashed.get(unitOf(loc));
        if (!st) {
          fetch.push(r);
          continue;
        }
        const u = unitOf(loc);
        let h = held.get(u);
        if (!h) {
          held.set(u, (h = { stashed: st, loc, blobs: [] }));
          st.region.refs++; // this window decodes from it
          regions.push({ arena: this.stashArena, region: st.region });
        }
        h.blobs.push({ key, id: r.id, loc });
      }
    }
    let reads = planReads(fetch, all);
    let aside: { region: Region; at: Map<string, number>; settle: (err?: unknown) => void } | undefined;
    if (arena && reads.length > 0) {
      const later = await this.laterWithin(reads, w.keys);
      const keep = this.choose(reads, later);
      if (keep.length > 0) {
        const extras = keep.filter((b) => !w.keys.has(b.key));
        if (extras.length > 0) {
          const more = new Map(all);
          for (const b of extras) more.set(b.key, b.loc);
          reads = planReads([...fetch, ...extras], more);
        }
        aside = this.keepAside(keep);
      }
    }
    if (baseOnly && aside) for (const k of aside.at.keys()) baseOnly.delete(k); // decoded for a later window too
    const copies = this.stashArena ? await this.stashFor(reads) : undefined;
    const windowReads: WindowRead[] = copies?.size ? reads.map((rd) => withKeep(rd, copies.get(rd))) : reads;
    for (const h of held.values()) {
      h.blobs.sort((a, b) => a.loc.offset - b.loc.offset);
      windowReads.push({ pack: h.loc.pack, offset: h.loc.offset, length: h.loc.length, blobs: h.blobs, held: h.stashed.held });
    }
    const stashCopies = copies ? [...copies.values()].flat() : [];
    const settleAside = aside?.settle;
    return {
      refs: w.refs,
      reads: windowReads,
      ...(baseLocs && { bases: new Set(baseLocs.keys()), baseOnly: baseOnly ?? new Set<string>() }),
      asideAt: aside?.at ?? new Map(),
      aside: aside?.region.bytes,
      carried,
      settle: (err?: unknown) => {
        // a copy not made by now (the read failed or never ran) fails the windows waiting for it
        for (const c of stashCopies) c.done(err ?? new Error('object read stopped'));
        settleAside?.(err);
      },
      releaseCarried,
    };
  }

  /**
   * Decides which stored ranges the fetched `reads` copy into the stash: the units (blobs or
   * frames) a queued window needs (as a blob not kept decoded, or as a delta base) that lie
   * within them, sooner needed first, while the stash has room; and drops from the stash what
   * no queued window needs any more.
   */
  private async stashFor(reads: readonly PlannedRead[]): Promise<Map<PlannedRead, StashCopy[]>> {
    const stash = this.stashArena!;
    // the units of the queued windows not counted yet (in queue order, so each unit's windows stay in order)
    for (const q of this.queue) {
      if (q.units) continue;
      let ql: Map<string, BlobLocation>;
      let qb: Map<string, BlobLocation> | undefined;
      try {
        ql = await q.locs;
        qb = await q.bases;
      } catch {
        break; // that window fails when it is planned
      }
      q.units = unitsOf(ql, qb);
      for (const [u, n] of q.units) {
        const e = this.unitNeeds.get(u);
        if (e) {
          e.seqs.push(q.seq);
          e.keys.push(n.keys);
          continue;
        }
        this.unitNeeds.set(u, { loc: n.loc, seqs: [q.seq], keys: [n.keys] });
        let set = this.needByPack.get(n.loc.pack);
        if (!set) this.needByPack.set(n.loc.pack, (set = new Set()));
        set.add(u);
      }
    }
    for (const [u, st] of this.stashed) {
      if (this.unitNeeds.has(u)) continue;
      this.stashed.delete(u);
      stash.unref(st.region);
    }
    const copies = new Map<PlannedRead, StashCopy[]>();
    const found: { u: string; loc: BlobLocation; first: number; rd: PlannedRead }[] = [];
    for (const rd of reads) {
      const units = this.needByPack.get(rd.pack);
      if (!units) continue;
      for (const u of units) {
        if (this.stashed.has(u)) continue;
        const n = this.unitNeeds.get(u)!;
        const l = n.loc;
        if (l.offset < rd.offset || l.offset + l.length > rd.offset + rd.length) continue;
        // blobs kept decoded for their windows need no stored copy
        if (n.keys.every((ks) => ks.every((k) => this.kept.has(k)))) continue;
        found.push({ u, loc: l, first: n.seqs[0]!, rd });
      }
    }
    found.sort((a, b) => a.first - b.first);
    for (const f of found) {
      let region = stash.alloc(f.loc.length);
      while (!region) {
        // make room by dropping what is needed later than this (the stored range then is read again)
        let far: string | undefined;
        let farFirst = f.first;
        for (const u of this.stashed.keys()) {
          const first = this.unitNeeds.get(u)!.seqs[0]!;
          if (first > farFirst) {
            far = u;
            farFirst = first;
          }
        }
        if (far === undefined) break;
        stash.unref(this.stashed.get(far)!.region);
        this.stashed.delete(far);
        region = stash.alloc(f.loc.length);
      }
      if (!region) continue;
      region.refs = 2; // the stash's own (until no queued window needs it) and the copy's (until it is made)
      const { ready, settle: done } = settledOnce(() => stash.unref(region)); // a window that decodes from it sees a failure
      this.stashed.set(f.u, { region, held: { bytes: region.bytes, ready } });
      let list = copies.get(f.rd);
      if (!list) copies.set(f.rd, (list = []));
      list.push({ at: f.loc.offset - f.rd.offset, length: f.loc.length, to: region.bytes, done });
    }
    return copies;
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
    const horizon = Math.min(this.queue.length, this.carry!.horizon);
    for (let i = 0; i < horizon; i++) {
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
    let candidates: PlannedBlob[] = [];
    for (const rd of reads) for (const b of rd.blobs) if (this.uses.has(b.key)) candidates.push(b);
    if (candidates.length > 0) {
      // first use of the window's own blobs again, within the horizon
      const horizon = Math.min(this.queue.length, this.carry!.horizon);
      for (let i = 0; i < horizon && firstUse.size < candidates.length; i++) for (const b of candidates) if (!firstUse.has(b.key) && this.queue[i]!.keys.has(b.key)) firstUse.set(b.key, i);
      if (firstUse.size < candidates.length) candidates = candidates.filter((b) => firstUse.has(b.key));
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
    const { ready, settle } = settledOnce(); // a window that takes these blobs sees a failure
    for (const b of keep) {
      const off = at.get(b.key)!;
      this.kept.set(b.key, { region, bytes: region.bytes.subarray(off, off + b.loc.rawLength), ready });
      region.refs++;
    }
    return { region, at, settle };
  }
}

/**
 * A promise and the one call that settles it (resolved without an error, else rejected;
 * later calls do nothing), after `first`. Unhandled rejections are swallowed: whoever
 * awaits it sees the failure.
 */
function settledOnce(first?: () => void): { ready: Promise<void>; settle: (err?: unknown) => void } {
  let settle!: (err?: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    let settled = false;
    settle = (err) => {
      if (settled) return;
      settled = true;
      first?.();
      if (err === undefined) resolve();
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
  });
  ready.catch(() => undefined);
  return { ready, settle };
}

/** The stored units of a window's blobs and bases (by unitOf), with the latin1 ids it needs of each. */
function unitsOf(locs: ReadonlyMap<string, BlobLocation>, bases: ReadonlyMap<string, BlobLocation> | undefined): Map<string, { loc: BlobLocation; keys: string[] }> {
  const units = new Map<string, { loc: BlobLocation; keys: string[] }>();
  const add = (k: string, l: BlobLocation): void => {
    const u = unitOf(l);
    const n = units.get(u);
    if (n) n.keys.push(k);
    else units.set(u, { loc: l, keys: [k] });
  };
  for (const [k, l] of locs) add(k, l);
  if (bases) for (const [k, l] of bases) add(k, l);
  return units;
}

/** `rd` with stash copies to make once it is read. */
function withKeep(rd: PlannedRead, keep: StashCopy[] | undefined): WindowRead {
  return keep ? { pack: rd.pack, offset: rd.offset, length: rd.length, blobs: rd.blobs, keep } : rd;
}

/** The locations of the bases of the delta blobs among `locs` (one batched lookup), keyed by latin1 base id; CORRUPT as lookupBases. */
async function locateBases(repo: BlobSource, locs: ReadonlyMap<string, BlobLocation>): Promise<Map<string, BlobLocation>> {
  const want = new Map<string, { base: Buffer; of: Uint8Array }>();
  for (const [k, l] of locs) if (l.base) want.set(l.base.toString('latin1'), { base: l.base, of: Buffer.from(k, 'latin1') });
  const out = new Map<string, BlobLocation>();
  if (want.size === 0) return out;
  const list = [...want.values()];
  const found = await repo.lookupBases(list);
  list.forEach((w, i) => out.set(w.base.toString('latin1'), found[i]!));
  return out;
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
