/**
 * The object reader (kopia's repo/object reader): an object's extent lists -> verified
 * bytes in order, whole or any range, in bounded memory. Windows of extents are read and
 * decoded ahead (read-window.ts), so reading and decoding overlap the caller's writing;
 * with shared memory they are planned together (window-plan.ts), so that a pack range is
 * read and a frame decoded once for the windows around it.
 *
 * Each read owns its state: its windows, its shared-memory rings and its hashes (a
 * running SHA-256 of the bytes read and, when asked, the digests of byte ranges such as
 * image layers, computed on the codec pool's workers under this read's own handles). The
 * repository and its codec pools are shared by every read and write at once.
 */
import { setMaxListeners } from 'node:events';
import { abortedError } from '../errors.js';
import type { DigestedRange, DigestMismatch } from '../hash/range-hasher.js';
import type { CodecPool, StreamDigests, StreamRanges, StreamSha } from '../repository/codec-pool.js';
import { pairedSha256 } from '../hash/sha256-pair.js';
import type { BlobSource } from '../repository/blob-store.js';
import { markOnce } from '../util/timeline.js';
import { readChunkLists } from './chunk-list.js';
import { extentWindows, type ObjectRange } from './extents.js';
import { buildPlannedWindow, windowRings, type BuiltWindow, type WindowRings } from './read-window.js';
import { WindowPlanner, type CarryOptions } from './window-plan.js';

export interface ObjectReadOptions {
  /** Only these bytes of the object (default: all of it). */
  readonly range?: ObjectRange;
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  /** Plaintext bytes per window. */
  readonly windowBytes: number;
  /** Windows prepared ahead of the one being consumed. */
  readonly ahead: number;
  /**
   * Decode into reusable shared-memory slots (the workers write in place; each window's
   * memory comes back when the caller is done with it). Only with workers.
   */
  readonly sharedMemory?: boolean;
  /** Compute the SHA-256 of the bytes read (digests().sha256). */
  readonly sha256?: boolean;
  /** Byte ranges (of the bytes read) whose digests to check (digests().mismatches). */
  readonly digestRanges?: readonly DigestedRange[];
  readonly signal?: AbortSignal;
  /**
   * With shared memory: put each window in page-aligned memory at its position in the bytes
   * read modulo `align` (a power of two up to 64 KiB, e.g. 4096), leaving the bytes in front
   * of it to the caller (ReadWindow.room), so that a writer can write whole aligned blocks with
   * O_DIRECT (restore/direct-writer.ts). Default 0: no alignment.
   */
  readonly align?: number;
  /**
   * Chunk-list blobs loaded at once ahead of the windows (default 1: one after another;
   * LISTS_AHEAD for S3, where each is a round trip and the first window waits for several).
   */
  readonly listsAhead?: number;
  /** With shared memory: windows planned ahead and bytes of decoded blobs kept for them (default none: each window planned alone; REMOTE_CARRY for S3). */
  readonly carry?: CarryOptions;
  /**
   * With shared memory: output slots, i.e. windows decoded or written and hashed at once
   * (default 3; REMOTE_OUT_SLOTS for S3). A slot comes back once its window is written and
   * hashed; a window's hash waits on the worker that hashes the read behind the decode jobs
   * posted to it before, so a fourth slot keeps the other worker fed meanwhile.
   */
  readonly outSlots?: number;
}

/** One window of bytes, in order. Call done() once the pieces are no longer used, or release() when giving up (one of them, once). */
export interface ReadWindow {
  readonly pieces: Buffer[];
  /** Offset of the first piece in the bytes read. */
  readonly at: number;
  /**
   * With `align`, when the window is one piece in page-aligned memory: the bytes in front of
   * it in that memory (`at` modulo `align`), which the caller may overwrite until done() or
   * release(). Undefined otherwise (then nothing about the pieces' memory is known).
   */
  readonly room?: number;
  /**
   * Gives the pieces to this read's hashes (which may take their memory over), then frees
   * their slot. `using`: the caller is still reading the pieces (a write in flight): they are
   * hashed meanwhile, and the slot is freed once both have settled.
   */
  done(using?: Promise<unknown>): void;
  /** Frees the window's slot without hashing it (the pieces were not used: the read is failing). */
  release(): void;
}

export interface ReadDigests {
  /** Bytes read. */
  readonly bytes: number;
  /** Hex SHA-256 of the bytes read (when asked for). */
  readonly sha256?: string;
  /** The digest ranges whose bytes did not match. */
  readonly mismatches: DigestMismatch[];
}

/**
 * Output slots of a read from S3: 4 (restore of docker.tar v5 from Ceph RGW, 16 alternating
 * pairs at load 10-13 in a cpu cgroup, 2026-11-30 day: wall medians 1.81 -> 1.72 and
 * 1.68 -> 1.62 s, CPU the same, peak RSS 193-195 -> 197-200 MiB). Local reads keep 3: the
 * same fourth slot saved 0.085 s of a local restore's 1.46 but cost 6 MiB of its peak RSS,
 * at the 180 MB target.
 */
export const REMOTE_OUT_SLOTS = 4;

/**
 * Windows planned 8 ahead and up to 8 MiB of decoded blobs kept for them (window-plan.ts),
 * the locations of 64 windows known ahead and up to 32 MiB of stored pack ranges kept for
 * them, delta bases read with the windows: what a read from a store with per-request costs
 * (S3) uses. Restore of docker.tar v5 (encrypted, 4 MiB windows; 2026-11-29 evening): on Ceph
 * RGW 367 ranged GETs of 223 MB without any of it, 267 GETs of 183 MB with the decoded blobs
 * kept (night), 192 GETs of 141 MB with the stored ranges kept too and the bases planned with
 * the windows (Ceph's CPU 0.61-0.72 -> 0.48-0.54 s; peak RSS about +16 MiB, the stash).
 * Locally the decoded blobs kept saved no CPU-seconds or wall time that could be told apart
 * from noise and peak RSS grows by about the budget (the arena's pages, once used, stay
 * resident): so local reads plan window by window (the default, no carry). The first window
 * is planned once 8 windows are queued behind it (startAfter), the next once 9 are, and so
 * on up to the lookahead: its reads no longer wait for the lookups of 32 windows (2026-11-30: the same
 * 187-189 GETs, the first data GET about 50 ms sooner after the key is derived). 64 windows
 * and 32 MiB instead of 32 and 16 MiB (2026-11-30 morning, 15 alternating pairs on one RGW):
 * 188-190 GETs instead of 200-208, Ceph's CPU 0.51-0.54 against 0.54-0.56 s (medians), ours
 * the same or up to 0.04 s less, peak RSS 190-196 against 194-207 MiB (the stash's shared
 * pages are touched only as far as it fills).
 */
export const REMOTE_CARRY: CarryOptions = { horizon: 8, budget: 8 * 1024 * 1024, lookahead: 64, stash: 32 * 1024 * 1024, startAfter: 8 };

/** Reads an object from its extent lists (`lists`: hex ids of its chunk-list blobs). */
export class ObjectReader implements AsyncIterable<ReadWindow> {
  private readonly pool: CodecPool;
  private readonly sha: StreamSha | undefined;
  private readonly ranges: StreamRanges | undefined;
  /** The SHA-256 and the range digests in one pass (pairedSha256), instead of sha + ranges. */
  private readonly both: StreamDigests | undefined;
  private readonly rings: WindowRings | undefined;
  private bytes = 0;

  constructor(
    private readonly repo: BlobSource,
    private readonly lists: readonly string[],
    private readonly opts: ObjectReadOptions,
  ) {
    this.pool = repo.codecs(opts.workers);
    // image layers are hashed twice (the whole output, each layer): in one pass where SHA-NI
    // allows it (restore of docker.tar v5: about 0.15 CPU-s less), else in two passes on two workers
    this.both = opts.sha256 && opts.digestRanges?.length && pairedSha256() ? this.pool.streamDigests(opts.digestRanges) : undefined;
    this.sha = opts.sha256 && !this.both ? this.pool.sha256() : undefined;
    this.ranges = opts.digestRanges?.length && !this.both ? this.pool.rangeHasher(opts.digestRanges, this.sha) : undefined;
    const align = opts.align ?? 0;
    if (!(align === 0 || (Number.isInteger(align) && align > 0 && align <= 65536 && (align & (align - 1)) === 0))) throw new TypeError(`align must be 0 or a power of two up to 65536, not ${align}`);
    this.rings = opts.sharedMemory && this.pool.maxWorkers > 0 ? windowRings(opts.windowBytes, repo.config.chunker.maxSize, align, opts.outSlots) : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ReadWindow> {
    const inFlight: Promise<BuiltWindow>[] = [];
    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // every read and decode of the windows in flight listens to it
    const signal = this.opts.signal;
    /** Throws ABORTED (the signal's reason when it is a StowageError) once the caller's signal fired. */
    const checkSignal = (): void => {
      if (signal?.aborted) throw abortedError(signal, 'object read: aborted');
    };
    // once the caller's signal fires, windows being built start no more reads (a read that starts
    // after the command's signal fired runs without it: backend/retry.ts)
    const onAbort = (): void => stop.abort(new Error('object read stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const next = async (): Promise<ReadWindow> => {
      checkSignal();
      const w = await inFlight.shift()!;
      const at = this.bytes;
      for (const p of w.pieces) this.bytes += p.length;
      return { pieces: w.pieces, at, ...(w.room !== undefined && { room: w.room }), done: (using) => this.hash(w, at, using), release: w.release };
    };
    let ended = false;
    try {
      const planner = new WindowPlanner(this.repo, this.rings && this.opts.carry);
      // where each window queued in the planner starts in the bytes read (aligned reads place windows by it)
      const align = this.rings?.out.aligned ? this.opts.align! : 0;
      const starts: number[] = [];
      let end = 0;
      const build = (): void => {
        const start = starts.shift()!;
        const skew = align > 0 ? start % align : 0;
        markOnce('object read: first window planned');
        const p = buildPlannedWindow(this.repo, this.pool, planner.next(), this.rings, stop.signal, skew);
        p.catch(() => undefined);
        inFlight.push(p);
      };
      for await (const window of extentWindows(readChunkLists(this.repo, this.lists, this.opts.listsAhead ?? 1, stop.signal), this.opts.windowBytes, this.opts.range)) {
        checkSignal();
        markOnce('object read: first window added');
        planner.add(window);
        starts.push(end);
        for (const r of window) end += r.length;
        if (!planner.ready) continue;
        build();
        while (inFlight.length > this.opts.ahead) yield await next();
      }
      while (planner.queued > 0) {
        build();
        while (inFlight.length > this.opts.ahead) yield await next();
      }
      while (inFlight.length) yield await next();
      ended = true;
    } catch (err) {
      checkSignal(); // what the caller's signal stopped (a window, the chunk lists) fails as ABORTED
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!ended) {
        // failed, or the caller stopped early: drop the hashes; windows still reading decode
        // nothing more. Give each window's slots back as soon as it settles (a window still
        // waiting for a slot may be waiting for one held by a built window beside it), then
        // wait for all of them, so no read or decode of this read is still running when the
        // caller closes the pool.
        this.discard();
        stop.abort(new Error('object read stopped'));
        await Promise.allSettled(inFlight.map((p) => p.then((w) => w.release())));
      }
    }
  }

  /** Hashes a window's pieces (the hashing threads may take their memory), then frees its slot (once `using` settled too). */
  private hash(w: BuiltWindow, at: number, using?: Promise<unknown>): void {
    if (this.both) {
      void Promise.allSettled([this.both.update(w.pieces, at), using]).then(w.release);
      return;
    }
    if (!this.sha && !this.ranges) {
      if (using) void using.then(w.release, w.release);
      else w.release();
      return;
    }
    const ranged = this.ranges ? this.ranges.update(w.pieces, at) : Promise.resolve();
    // ordinary memory may be taken over by the SHA-256's thread only when nobody else still reads it
    void Promise.allSettled([ranged, this.sha?.update(w.pieces, using === undefined), using]).then(w.release);
  }

  /**
   * The digests of everything read; call once, after the iteration ended and every
   * window's done() (a hash's updates and its result travel in order on one port).
   */
  async digests(): Promise<ReadDigests> {
    if (this.both) {
      const { sha256, mismatches } = await this.both.result();
      return { bytes: this.bytes, sha256, mismatches };
    }
    const sha256 = this.sha ? await this.sha.digest() : undefined;
    const mismatches = this.ranges ? await this.ranges.result() : [];
    return { bytes: this.bytes, ...(sha256 !== undefined && { sha256 }), mismatches };
  }

  /** Drops this read's hashes (it failed or was abandoned); idempotent. */
  discard(): void {
    this.sha?.discard();
    this.ranges?.discard();
    this.both?.discard();
  }
}
