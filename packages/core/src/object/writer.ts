/**
 * The object writer (kopia's repo/object writer): bytes in -> blobs in the caller's write
 * session, and the object's extent lists (chunk lists), its file map and its own digests
 * out. ObjectReader (reader.ts) turns the extent lists back into verified bytes.
 *
 * Two ways in:
 * - a byte stream (`write` each piece, then `end`): the writer looks at the first bytes,
 *   picks a splitter (split/detect.ts: tar archives are split into members, anything else
 *   is a raw stream), hashes the whole stream (SHA-256, and the digests of byte ranges known
 *   ahead, such as image layers) on the codec pool under its own handles, and records a
 *   file map for the next object's delta bases;
 * - with `hashLayers`, the top-level members an archive names by their digest (image
 *   layers `<hex>.tar`, `blobs/sha256/<hex>`, uncompressed tars of 1 MiB or more) are hashed
 *   with BLAKE3 as they go past, on a worker (`members`); with `reuseLayers` such a member
 *   that the basis hashed too, with the same name and size, is not split again: the basis'
 *   extents are reused, its bytes must hash the same and every extent's blob must be in the
 *   index (else finish() throws LayerReuseMismatch and the caller writes the input again
 *   without reuse; the index is looked up while the input is split). A second
 *   SHA-256 pass would cost as much as the splitting it saves (about 1 ms/MB); BLAKE3 costs
 *   a quarter of that, and equal BLAKE3-256 digests mean equal bytes just as well;
 * - split events (`process`), for a caller that splits itself (tree snapshots feed each
 *   file's bytes); with `fileExtents`, each file's extents come back to it (`expect`).
 *
 * Everything of one write lives here: the chunkers, the content writer's carry and slice
 * streams, the chunk-list and file-map buffers, the hashes. The blob store and its codec
 * pools are shared by every operation; the write session (the sink) is the operation's.
 */
import type { DigestedRange, DigestMismatch } from '../hash/range-hasher.js';
import type { BlobSink, BlobStore } from '../repository/blob-store.js';
import type { CodecPool, StreamRanges, StreamSha } from '../repository/codec-pool.js';
import { splitterFor, SNIFF_BYTES, type InputFormat } from '../split/detect.js';
import type { ArchiveMember, SplitEvent, Splitter } from '../split/events.js';
import type { Extent } from '../tree/node.js';
import { ChunkListWriter, LIST_ENTRY_BYTES } from './chunk-list.js';
import { ContentWriter, type ContentStats } from './content-writer.js';
import { ExtentSink } from './extent-sink.js';
import { markOnce } from '../util/timeline.js';
import { FileMapWriter, type Basis, type MemberHash, type ReusableMember } from './file-map.js';

/** Members smaller than this are never hashed or reused (image metadata stays captured and split). */
export const LAYER_REUSE_MIN = (1 << 20) + 1;

/** The hex SHA-256 a top-level member's name states (`<hex>.tar`, `blobs/sha256/<hex>`), if any: an image layer. */
export function layerDigestOf(name: string): string | undefined {
  const m = /^(?:\.\/)?(?:([0-9a-f]{64})\.tar|blobs\/sha256\/([0-9a-f]{64}))$/.exec(name);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * A member reused from the basis did not hash as the basis' copy did (the object written is
 * not the input), or some of its extents' blobs are not in the index (a damaged repository:
 * the object would reference blobs that are not there). Nothing of it may be kept; the caller
 * writes the input again without reuse (a file can be read twice).
 */
export class LayerReuseMismatch extends Error {
  constructor(readonly members: readonly string[]) {
    super(`internal: reused members ${members.join(', ')} differ from the basis' copies or lack blobs in the index`);
  }
}

export interface ObjectWriterOptions {
  /** How a byte stream is split: auto (default) detects tar archives; raw stores bytes as they come. */
  readonly format?: InputFormat;
  /** Codec worker threads of the pool that hashes the stream (default: one per core; 0 = inline). */
  readonly workers?: number;
  /** Where changed files' old versions come from (delta bases), asked at the first file. */
  readonly basis?: () => Promise<Basis | undefined>;
  /** Record a file map (which extents hold which member), for later objects' deltas. Default true. */
  readonly fileMap?: boolean;
  /** Hash the whole byte stream (digests().sha256). Default true for byte streams. */
  readonly sha256?: boolean;
  /** Byte ranges of the stream whose digests to check (digests().mismatches). */
  readonly digestRanges?: readonly DigestedRange[];
  /** Hand each file's extents back (expect/shrinkLast/reference): a tree snapshot's files. */
  readonly fileExtents?: boolean;
  /** Hash (BLAKE3) the top-level members named by their digest (WrittenObject.members). */
  readonly hashLayers?: boolean;
  /**
   * With hashLayers and a basis: reuse the basis' hashed members of the same name and size
   * instead of splitting them again (finish() throws LayerReuseMismatch when one's bytes do
   * not hash the same, or its blobs are not all in the index). Only for an input that can be
   * written again.
   */
  readonly reuseLayers?: boolean;
}

/** What an object write produced. */
export interface WrittenObject {
  /** Hex ids of the chunk-list blobs: the object's extents in order. */
  readonly lists: string[];
  /** Extents (chunk-list entries) in all. */
  readonly chunks: number;
  /** Hex ids of the file map blobs (empty without members, or without a file map). */
  readonly files: string[];
  /** Bytes written (of the byte stream). */
  readonly bytes: number;
  /** Hex SHA-256 of the byte stream (when hashed). */
  readonly sha256?: string;
  /** The digest ranges whose bytes did not match. */
  readonly mismatches: DigestMismatch[];
  /** New chunks and bytes, delta candidates. */
  readonly stats: ContentStats;
  /** The delta basis the writer used (undefined: none, or none asked for). */
  readonly basis: Basis | undefined;
  /** Top-level members named by their digest, with the BLAKE3 of their bytes (hashLayers). */
  readonly members: MemberHash[];
}

export class ObjectWriter {
  private readonly lists: ChunkListWriter;
  private readonly map: FileMapWriter | undefined;
  private readonly sink: ExtentSink | undefined;
  private readonly content: ContentWriter;
  private readonly sha: StreamSha | undefined;
  /** The digests of `digestRanges`, and of layers as they are found (started at the first layer when none were given). */
  private ranges: StreamRanges | undefined;
  /** The pool that hashes (undefined: nothing is hashed). */
  private readonly pool: CodecPool | undefined;
  private split: { splitter: Splitter; tar: boolean } | undefined;
  /** Pieces held until enough bytes came to choose a splitter, with their release. */
  private head: { piece: Uint8Array; release: (() => void) | undefined }[] = [];
  private headBytes = 0;
  private readonly events: SplitEvent[] = [];
  private ended = false;
  /** Bytes of the stream split and stored so far. */
  private fed = 0;
  /** Bytes given to write() (including those still held to choose a splitter). */
  written = 0;
  /** Digest-named members found since the last piece was handed to the range hasher. */
  private pendingLayers: DigestedRange[] = [];
  /** Digest-named members hashed: name -> range (`blake3:` + the basis' digest when reused). */
  private readonly layerRanges = new Map<string, DigestedRange>();
  /** The basis' hashed members that may be reused (those the index lacks blobs of: `incomplete`), by name. */
  private reusable: ReadonlyMap<string, ReusableMember> | undefined;
  /** Names of the members reused. */
  private readonly reused = new Set<string>();
  /**
   * The reusable members some of whose extents' blobs the index lacks (a damaged repository),
   * known once the lookup started with the basis settles: reusing one would reference a blob
   * that is not there, so finish() throws LayerReuseMismatch and the input is written again.
   */
  private incomplete: Promise<Set<string>> | undefined;
  /** finishBlobs(), once started. */
  private blobsDone: Promise<{ readonly lists: string[]; readonly files: string[] }> | undefined;

  constructor(
    private readonly store: BlobStore,
    session: BlobSink,
    private readonly opts: ObjectWriterOptions = {},
  ) {
    this.lists = new ChunkListWriter(session);
    this.map = opts.fileMap === false || opts.fileExtents ? undefined : new FileMapWriter(session);
    this.sink = opts.fileExtents ? new ExtentSink(this.lists) : undefined;
    const files = opts.basis || this.map ? { ...(opts.basis && { basis: opts.basis }), ...(this.map && { map: this.map }) } : undefined;
    this.content = new ContentWriter(session, store.cutter(), this.sink ?? this.lists, (d) => (markOnce('first id hashed'), store.codec.id(d)), store.cutter(), files);
    const hashes = opts.sha256 ?? !opts.fileExtents;
    const ranged = !!opts.digestRanges?.length;
    this.pool = hashes || ranged || opts.hashLayers ? store.codecs(opts.workers) : undefined;
    this.sha = hashes ? this.pool!.sha256() : undefined; // this write's own hash (the pool is shared by every operation)
    this.ranges = ranged ? this.pool!.rangeHasher(opts.digestRanges!, this.sha) : undefined;
  }

  /** New chunks and bytes so far. */
  get stats(): ContentStats {
    return this.content.stats;
  }

  /** The archive members seen (tar input). */
  get members(): readonly ArchiveMember[] {
    return this.content.members;
  }

  /** True when the byte stream is split as a tar archive (known once a splitter is chosen). */
  get tar(): boolean {
    return this.split?.tar ?? false;
  }

  /** Extents written so far. */
  get chunks(): number {
    return this.lists.count;
  }

  /**
   * Writes the next piece of the byte stream. The piece is read, never changed or kept:
   * `release` (if given) is called once the writer is done with it (split, stored and
   * hashed; a piece in shared memory is hashed in place), so its memory may be reused.
   */
  async write(piece: Uint8Array, release?: () => void): Promise<void> {
    this.written += piece.length;
    if (this.split) return this.feed(piece, release);
    // look at the first bytes before choosing a splitter
    this.head.push({ piece, release });
    this.headBytes += piece.length;
    if (this.headBytes < SNIFF_BYTES) return;
    await this.startSplit();
  }

  /** Ends the byte stream (or the events): stores what is left. Call once, before finish. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.split || this.head.length || !this.sink) {
      if (!this.split) await this.startSplit();
      this.split!.splitter.end(this.events);
      await this.content.process(this.events);
      this.events.length = 0;
    }
    await this.content.finish();
    this.sink?.close();
  }

  /**
   * Ends the input (end()) and stores the extent lists and the file map: once this resolves,
   * every blob of the object is in the write session, which may be flushed while the digests
   * (finish()) are still being computed on the codec workers. Call after every reference() of
   * a fileExtents writer was given; calling it again returns the same promise.
   */
  finishBlobs(): Promise<{ readonly lists: string[]; readonly files: string[] }> {
    this.blobsDone ??= (async () => {
      await this.end();
      await this.sink?.settled();
      const lists = await this.lists.finish();
      const files = this.map ? await this.map.finish() : [];
      return { lists, files };
    })();
    return this.blobsDone;
  }

  /**
   * The extent lists, file map and digests (finishBlobs(), then the digests); call once after
   * end() (and after every reference() of a fileExtents writer was given).
   */
  async finish(): Promise<WrittenObject> {
    const { lists, files } = await this.finishBlobs();
    const sha256 = this.sha ? await this.sha.digest() : undefined;
    const all = this.ranges ? await this.ranges.result() : [];
    // a layer's BLAKE3 comes back as a "mismatch" unless it was reused and hashed the same
    const digests = new Map<string, string>();
    for (const m of all) if (this.layerRanges.get(m.path)?.what === m.what) digests.set(m.path, m.actual);
    const incomplete = this.incomplete ? await this.incomplete : undefined;
    const wrong = [...this.reused].filter((n) => digests.has(n) || incomplete?.has(n));
    if (wrong.length) throw new LayerReuseMismatch(wrong);
    const mismatches = all.filter((m) => !digests.has(m.path));
    const members: MemberHash[] = [];
    for (const m of this.content.members) {
      const r = this.layerRanges.get(m.name);
      if (!m.nestedTar || r?.offset !== m.offset) continue;
      const digest = this.reused.has(m.name) ? r.digest : digests.get(m.name);
      if (digest?.startsWith('blake3:') && digest.length === 71) members.push({ name: m.name, offset: m.offset, size: m.size, blake3: digest.slice(7) });
    }
    const basis = this.content.basis ?? undefined;
    return { lists, chunks: this.lists.count, files, bytes: this.fed, ...(sha256 !== undefined && { sha256 }), mismatches, stats: this.content.stats, basis, members };
  }

  /** Drops this write's hashes (it failed); idempotent. Blobs already in the session stay its business. */
  discard(): void {
    this.sha?.discard();
    this.ranges?.discard();
  }

  /** Split events from a caller that splits itself (views into its pieces are used until this resolves). */
  async process(events: readonly SplitEvent[]): Promise<void> {
    await this.content.process(events);
  }

  /** fileExtents: the next `size` bytes processed are one file's; resolves to its extents once written. */
  expect(size: number): Promise<Extent[]> {
    return this.needSink().expect(size);
  }

  /** fileExtents: the last file expected got `n` bytes fewer than announced (truncated while read). */
  shrinkLast(n: number): void {
    this.needSink().shrinkLast(n);
  }

  /**
   * fileExtents: entries of the chunk lists, after those given before: the caller lists every
   * extent of the object (its files' extents as expect() gave them or reused, its tree
   * blobs), in an order of its own. A failure to store a list blob is thrown by finish().
   */
  reference(refs: readonly Extent[] | Buffer): void {
    this.needSink().other(refs);
  }

  private needSink(): ExtentSink {
    if (!this.sink) throw new Error('internal error: file extents asked of an object writer without fileExtents');
    return this.sink;
  }

  /** Chooses the splitter from the first bytes held, then feeds them. */
  private async startSplit(): Promise<void> {
    const head = this.head;
    this.head = [];
    this.headBytes = 0;
    const one = head.length === 1 ? head[0]! : undefined;
    const first = one ? one.piece : Buffer.concat(head.map((h) => h.piece));
    const hooks = this.opts.hashLayers ? { memberStart: (name: string, offset: number, size: number) => this.memberStart(name, offset, size) } : undefined;
    this.split = splitterFor(this.opts.format ?? 'auto', first, hooks);
    if (this.split.tar && this.opts.hashLayers && this.opts.reuseLayers && this.opts.basis) await this.loadReusable(this.opts.basis);
    if (first.length) await this.feed(first, one?.release);
    else one?.release?.();
    if (!one) for (const h of head) h.release?.();
  }

  /**
   * The basis (given to the content writer too) and its hashed members, and the lookup of
   * their extents' blobs in the index started (`incomplete`: finish() waits for it).
   */
  private async loadReusable(load: () => Promise<Basis | undefined>): Promise<void> {
    markOnce('basis asked');
    const basis = await load();
    markOnce('basis loaded');
    this.content.basis = basis;
    const candidates = (basis?.memberNames ?? []).map((name) => [name, basis!.member(name)!] as const).filter(([, m]) => m.size >= LAYER_REUSE_MIN);
    this.reusable = new Map(candidates);
    if (candidates.length === 0) return;
    // every extent's blob of every candidate, in one batched lookup that runs while the input
    // is split (20,000 ids took 50-80 ms before the first byte was: snapshot of docker.tar v5)
    const ids = new Map<string, Buffer>();
    for (const [, m] of candidates) for (let e = 0; e < m.entries.length; e += LIST_ENTRY_BYTES) ids.set(m.entries.toString('latin1', e, e + 32), m.entries.subarray(e, e + 32));
    const keys = [...ids.keys()];
    this.incomplete = this.store.lookup([...ids.values()]).then((found) => {
      markOnce('reusable looked up');
      const missing = new Set(keys.filter((_, i) => found[i] === undefined));
      const names = new Set<string>();
      for (const [name, m] of candidates) {
        for (let e = 0; e < m.entries.length; e += LIST_ENTRY_BYTES) {
          if (missing.has(m.entries.toString('latin1', e, e + 32))) {
            names.add(name);
            break;
          }
        }
      }
      return names;
    });
    this.incomplete.catch(() => undefined); // awaited by finish()
  }

  /** The tar splitter's hook: hash a digest-named member; reuse it when the basis hashed one of the same name and size. */
  private memberStart(name: string, offset: number, size: number): boolean {
    if (!layerDigestOf(name) || size < LAYER_REUSE_MIN || this.layerRanges.has(name)) return false;
    const old = this.reusable?.get(name);
    const reuse = old?.size === size;
    const range: DigestedRange = { path: name, offset, length: size, digest: `blake3:${reuse ? old.blake3 : ''}`, what: `member ${name}` };
    this.layerRanges.set(name, range);
    this.pendingLayers.push(range);
    if (reuse) this.reused.add(name);
    return reuse;
  }

  private async feed(piece: Uint8Array, release: (() => void) | undefined): Promise<void> {
    this.split!.splitter.push(piece, this.events);
    await this.content.process(this.events);
    this.events.length = 0;
    const at = this.fed;
    this.fed += piece.length;
    // last use of the piece: the hashing threads read it in place (a shared slot returns to
    // its ring once hashed) or get a copy (the caller's buffers are left as they were)
    const hashed = this.sha ? this.sha.update([piece]) : Promise.resolve();
    const add = this.pendingLayers.length ? this.pendingLayers.splice(0) : undefined;
    // the layer hasher starts with the first layer (a raw input or a plain tar never needs it)
    if (add && !this.ranges) this.ranges = this.pool!.rangeHasher([], this.sha);
    const ranged = this.ranges ? this.ranges.update([piece], at, add) : Promise.resolve();
    if (release) Promise.all([hashed, ranged]).then(release, release);
  }
}
