/**
 * Snapshot: source -> object writer (object/writer.ts: splitter, chunker, BLAKE3, dedup,
 * the input's SHA-256) -> write session (workers: zstd, seal -> packs -> index file) ->
 * snapshot file (the commit point), whose manifest is built from what the writer yields.
 *
 * Memory is bounded by settings (chunk batch, encode queue, pack size, uploads),
 * never by input size: the chunk list is written out as list blobs as it grows.
 */
import type { BigIntStats } from 'node:fs';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname as osHostname, userInfo } from 'node:os';
import * as path from 'node:path';
import { StowageError, isStowageError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { lockRepository, type RepositoryLock } from '../repository/lock.js';
import { commitSnapshot } from './commit.js';
import { mark } from '../util/timeline.js';
import { inputError, pieceSlots, readPieces } from './input-reader.js';
import { LayerReuseMismatch, ObjectWriter, type WrittenObject } from '../object/writer.js';
import type { InputFormat } from '../split/detect.js';
import { imageFacts, imageRepository, type ImageFacts } from '../image/facts.js';
import { listSnapshots, loadSnapshot, peekSnapshots, resolveSnapshot } from './find.js';
import { loadBasis, type Basis } from '../object/file-map.js';
import type { Snapshot, SnapshotManifest, SnapshotSource, SourceStat } from './manifest.js';

export const PROGRAM = 'stowage 0.1.0';

export interface SnapshotOptions {
  /**
   * Default: for an image archive, its image's repository (imageRepository: "app" for
   * RepoTags "app:v5"), so a series of `docker save` files groups by image; else the
   * input's base name ("stdin" for stdin).
   */
  readonly name?: string;
  /** Store an empty input (0 bytes) as a snapshot; by default it is refused with EMPTY_INPUT. */
  readonly allowEmpty?: boolean;
  readonly tags?: readonly string[];
  readonly hostname?: string;
  readonly time?: Date;
  /** Re-read the input even when it looks unchanged since the last snapshot of its path. */
  readonly force?: boolean;
  /** Codec worker threads (default: one per core; 0 = inline). */
  readonly workers?: number;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
  /** How to split the input: auto (default) detects tar archives; raw stores a byte stream. */
  readonly format?: InputFormat;
  /**
   * Store changed files as deltas against their previous version (default true): the
   * basis is the snapshot `basis` names, else the latest snapshot of the same name with a
   * file map, else the latest snapshot with one.
   */
  readonly delta?: boolean;
  /** Snapshot id (or unique prefix) whose files serve as delta bases. */
  readonly basis?: string;
  /**
   * Image layers (members named by their digest) that the basis stored and hashed, and that
   * come again with the same name and size, reuse its extents instead of being split again;
   * their bytes are still hashed (BLAKE3), and when one does not hash the same the file is
   * read again without reuse. Default true; files only (stdin is read once).
   */
  readonly reuseLayers?: boolean;
  /**
   * Called with the finished manifest just before the snapshot file (the commit point) is
   * saved; what it returns is saved instead, and a throw stores no snapshot (copy/ keeps
   * the original's facts and checks the digest this way).
   */
  readonly finalize?: (m: SnapshotManifest) => SnapshotManifest;
}

export interface SnapshotResult {
  readonly snapshot: Snapshot;
  /** True when an unchanged file's previous content was reused without reading it. */
  readonly reused: boolean;
}

/** Inputs below this size are encoded inline: starting workers would cost more (a caller starting codec workers ahead skips them below it). */
export const INLINE_BELOW = 4 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;
/** Input pieces in flight (being split, stored, hashed). */
const READ_SLOTS = 3;

/** Snapshots a file. INPUT_UNREADABLE when it is missing, not a regular file, or unreadable. */
export async function snapshotFile(repo: Repository, file: string, opts: SnapshotOptions = {}): Promise<SnapshotResult> {
  const abs = path.resolve(file);
  let st: BigIntStats;
  try {
    st = await fs.stat(abs, { bigint: true });
  } catch (err) {
    throw inputError(abs, err);
  }
  if (!st.isFile()) throw new StowageError('INPUT_UNREADABLE', `cannot read ${abs}: not a regular file`);
  const stat: SourceStat = { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString() };
  const host = opts.hostname ?? osHostname();
  mark('snapshotFile');
  // An input that looks unchanged in the snapshots read while the repository opened (a hint:
  // the listing under the lock decides) will be reused unread, so it needs no index.
  const early = opts.force ? undefined : await peekSnapshots(repo);
  const hinted = early && findUnchanged(early, abs, stat, host);
  const looksUnchanged = hinted !== undefined && readTheSameWay(hinted, opts);
  await using lock = await lockRepository(repo, 'shared'); // held until the snapshot file is written (gc takes it exclusively)
  if (!looksUnchanged) repo.prefetchIndex(); // loads while the snapshots are listed and the input's first piece is read
  mark('locked');
  const known = await listSnapshots(repo); // for the unchanged-input check and the delta basis
  mark('snapshots listed');
  if (!opts.force) {
    const parent = findUnchanged(known, abs, stat, host);
    if (parent && readTheSameWay(parent, opts)) return { snapshot: await reuse(repo, lock, parent, opts, host), reused: true };
  }
  const workers = stat.size < INLINE_BELOW ? 0 : opts.workers;
  // restic's "file changed during backup": compare the file before and after reading
  const finalize = (m: SnapshotManifest): SnapshotManifest => {
    const changed = changedWhileRead(abs, st, m.source.size);
    const out = changed ? { ...m, changedWhileRead: changed } : m;
    return opts.finalize ? opts.finalize(out) : out;
  };
  const attempt = async (reuseLayers: boolean): Promise<Snapshot> => {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(abs, 'r');
    } catch (err) {
      throw inputError(abs, err);
    }
    try {
      const o = { ...opts, finalize, hostname: host, ...(workers === undefined ? {} : { workers }) };
      return await snapshotSource(repo, readPieces(fh, abs, READ_SLOTS, READ_BYTES), { kind: 'file', path: abs, stat }, o, known, reuseLayers);
    } finally {
      await fh.close();
    }
  };
  try {
    return { snapshot: await attempt(opts.reuseLayers !== false), reused: false };
  } catch (err) {
    // a layer reused from the basis did not hash the same: read it all again
    if (!(err instanceof LayerReuseMismatch)) throw err;
    return { snapshot: await attempt(false), reused: false };
  }
}

/**
 * Snapshots a stream (stdin or any source). The pieces `source` yields are read, never
 * changed, kept or detached: the caller's buffers stay usable (the whole-input SHA-256 is
 * computed on a copy when it runs on a worker thread).
 */
export async function snapshotStream(repo: Repository, source: AsyncIterable<Uint8Array>, src: StreamSource, opts: SnapshotOptions = {}): Promise<Snapshot> {
  return snapshotSource(repo, source, src, opts, undefined, false);
}

/**
 * snapshotStream, given the repository's snapshots when the caller listed them already;
 * `reuseLayers` for an input that can be read again (LayerReuseMismatch: read it again without).
 */
async function snapshotSource(
  repo: Repository,
  source: AsyncIterable<Uint8Array>,
  src: StreamSource,
  opts: SnapshotOptions,
  known: readonly Snapshot[] | undefined,
  reuseLayers: boolean,
): Promise<Snapshot> {
  const t0 = performance.now();
  await using lock = await lockRepository(repo, 'shared'); // re-entrant: one lock file with snapshotFile
  repo.prefetchIndex();
  // stop at once (LOCKED) when the lock is lost, not only at the commit point
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  const session = new WriteSession(repo, opts.workers === undefined ? {} : { workers: opts.workers });
  let object: ObjectWriter | undefined;
  try {
    const inputName = opts.name ?? (src.kind === 'stdin' ? 'stdin' : path.basename(src.path));
    const deltas = opts.format !== 'raw' && opts.delta !== false;
    object = new ObjectWriter(repo, session, {
      ...(opts.format && { format: opts.format }),
      ...(opts.workers !== undefined && { workers: opts.workers }),
      ...(deltas && { basis: () => chooseBasis(repo, inputName, opts.basis, known) }),
      hashLayers: opts.format !== 'raw',
      reuseLayers: reuseLayers && deltas,
    });
    await writeInput(object, source, src, opts, signal);
    mark('input written');
    const facts = imageOf(object, opts);
    await object.finishBlobs();
    mark('object blobs stored');
    // the session's last pack goes up while the codec workers finish the input's digests (the
    // SHA-256 stream waits behind the last encode jobs: 1-25 ms per docker.tar snapshot); no
    // snapshot is committed before they are in and match (a reused layer that did not hash the
    // same throws LayerReuseMismatch here: the packs stored stay unreferenced, as after a crash)
    const finished = object.finish();
    finished.catch(() => undefined); // awaited in the commit, or the flush failed first
    // the lock is checked beside the last index file's save; the snapshot file goes up beside its absorption into the index cache
    const snapshot = await session.flush(
      () => lock.verify(),
      async () => {
        const written = await finished;
        mark('flushed');
        const manifest = manifestOf(written, session, facts, src, opts, inputName, t0);
        const saved = opts.finalize ? opts.finalize(manifest) : manifest;
        return { id: await commitSnapshot(repo, lock, saved, { verified: true }), ...saved };
      },
    );
    mark('committed');
    return snapshot;
  } catch (err) {
    object?.discard();
    await session.abort(err);
    throw err;
  }
}

type StreamSource = { readonly kind: 'file' | 'stdin'; readonly path: string; readonly stat?: SourceStat };

/**
 * Reads the input into the object writer, piece by piece (pieces read by readPieces
 * return to their ring once hashed); EMPTY_INPUT for an empty input unless allowed. Ends
 * the object's input.
 */
async function writeInput(object: ObjectWriter, source: AsyncIterable<Uint8Array>, src: StreamSource, opts: SnapshotOptions, signal: AbortSignal): Promise<void> {
  for await (const piece of source) {
    signal.throwIfAborted();
    const slot = pieceSlots.get(piece);
    await object.write(piece, slot?.release);
    opts.progress?.({ op: 'snapshot', done: object.written, total: src.stat?.size });
  }
  if (object.written === 0 && !opts.allowEmpty) {
    throw new StowageError(
      'EMPTY_INPUT',
      `the input ${src.kind === 'stdin' ? '(stdin)' : src.path} is empty: nothing to back up (did the program writing it fail?); nothing was stored (--allow-empty stores an empty snapshot on purpose)`,
    );
  }
  await object.end();
}

/**
 * The image facts of a tar input: a complete image keeps its kind; an incomplete one is
 * stored as a plain tar, with warnings. INVALID_ARGUMENT when --format docker/oci was asked
 * for and the input is not that (before anything is committed).
 */
function imageOf(object: ObjectWriter, opts: SnapshotOptions): { format: NonNullable<SnapshotManifest['format']>; image: ImageFacts | undefined; repository: string | undefined } {
  const image = object.tar ? imageFacts(object.members) : undefined;
  const format = !object.tar ? 'raw' : image && !image.warnings ? image.kind : 'tar';
  if (
    (opts.format === 'docker' || opts.format === 'oci') &&
    (!image || image.warnings || (image.kind !== opts.format && !object.members.some((m) => m.name.replace(/^\.\//, '') === 'manifest.json')))
  ) {
    const what = opts.format === 'docker' ? 'a docker-archive (no manifest.json)' : 'an OCI image archive (no oci-layout and index.json)';
    const why = image?.warnings ? `not a complete ${image.kind === 'docker' ? 'docker-archive' : 'OCI image archive'}: ${image.warnings.join('; ')}` : `not ${what}`;
    throw new StowageError('INVALID_ARGUMENT', `input is ${why}; nothing was stored under a snapshot (without --format ${opts.format} it is stored as a plain tar)`);
  }
  return { format, image, repository: image && !image.warnings ? imageRepository(image) : undefined };
}

/** The snapshot manifest of a written object (before finalize and the commit point). */
function manifestOf(written: WrittenObject, session: WriteSession, facts: ReturnType<typeof imageOf>, src: StreamSource, opts: SnapshotOptions, inputName: string, t0: number): SnapshotManifest {
  const { image, format } = facts;
  const sourceInfo: SnapshotSource = { kind: src.kind, path: src.path, size: written.bytes, sha256: written.sha256!, ...(src.stat ? { stat: src.stat } : {}) };
  const stats = written.stats;
  return {
    ...manifestHead(opts, opts.hostname ?? osHostname(), opts.name ?? facts.repository ?? inputName),
    source: sourceInfo,
    format,
    ...(image && { image }),
    content: { chunks: written.chunks, lists: written.lists, ...(written.files.length && { files: written.files }), ...(written.members.length && { members: written.members }) },
    summary: {
      bytesRead: written.bytes,
      bytesNew: stats.bytesNew,
      bytesStored: session.stats.storedBytes,
      chunks: written.chunks,
      newChunks: stats.newChunks,
      seconds: (performance.now() - t0) / 1000,
      ...(stats.deltaCandidates && { deltaCandidates: stats.deltaCandidates }),
      ...(stats.reusedBytes && { bytesReused: stats.reusedBytes }),
      ...(session.stats.deltaBlobs && { deltaBlobs: session.stats.deltaBlobs, deltaBytesStored: session.stats.deltaStoredBytes }),
    },
    ...(written.basis && session.stats.deltaBlobs && { basis: written.basis.snapshot }),
  };
}

/**
 * The snapshot whose files serve as delta bases: `wanted` (an id or prefix) when given
 * (errors if it cannot be read), else the latest snapshot named `name` that has a file
 * map, else the latest one that has (none when it cannot be read).
 */
async function chooseBasis(repo: Repository, name: string, wanted: string | undefined, known?: readonly Snapshot[]): Promise<Basis | undefined> {
  if (wanted) return loadBasis(repo, await loadSnapshot(repo, await resolveSnapshot(repo, wanted)));
  const all = (known ?? (await listSnapshots(repo))).filter((s) => s.content.files?.length);
  const pick = all.findLast((s) => s.name === name) ?? all[all.length - 1];
  if (!pick) return undefined;
  try {
    return await loadBasis(repo, pick);
  } catch (err) {
    // a basis that cannot be read (a damaged repository: check reports it) only costs the deltas
    if (isStowageError(err, 'CORRUPT', 'NOT_FOUND')) return undefined;
    throw err;
  }
}

/** The latest snapshot of `abs` on this host whose recorded stat equals `stat`. */
function findUnchanged(all: readonly Snapshot[], abs: string, stat: SourceStat, host: string): Snapshot | undefined {
  for (let i = all.length - 1; i >= 0; i--) {
    const s = all[i]!;
    if (s.source.path !== abs || s.hostname !== host) continue;
    const p = s.source.stat;
    const same = p && p.dev === stat.dev && p.ino === stat.ino && p.size === stat.size && p.mtimeNs === stat.mtimeNs && p.ctimeNs === stat.ctimeNs;
    return same ? s : undefined;
  }
  return undefined;
}

/**
 * True when reading the input with `opts` would store what `parent` stored, so its content
 * may be reused unread. An explicit --format must be the format the parent was stored as (a
 * `--format docker` of an input stored as a tar is checked, and refused when it is no
 * docker-archive, instead of reusing the tar); `auto` reuses whatever the parent is.
 */
function readTheSameWay(parent: Snapshot, opts: SnapshotOptions): boolean {
  if (opts.format === undefined || opts.format === 'auto') return true;
  return (parent.format ?? 'raw') === opts.format;
}

/** What changed in file `abs` since `before` (stat before reading), given `read` bytes read; undefined when nothing did. */
function changedWhileRead(abs: string, before: BigIntStats, read: number): string | undefined {
  let after: BigIntStats;
  try {
    after = fsSync.statSync(abs, { bigint: true });
  } catch (err) {
    return `it could no longer be found after reading (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const what: string[] = [];
  if (after.size !== before.size) what.push(`size ${before.size} -> ${after.size} bytes`);
  if (BigInt(read) !== before.size) what.push(`${read} bytes read of ${before.size}`);
  if (after.mtimeNs !== before.mtimeNs) what.push('mtime changed');
  if (after.ctimeNs !== before.ctimeNs) what.push('ctime changed');
  if (after.ino !== before.ino || after.dev !== before.dev) what.push('replaced by another file');
  return what.length ? what.join(', ') : undefined;
}

/** A new snapshot with the parent's content, without reading the input. */
async function reuse(repo: Repository, lock: RepositoryLock, parent: Snapshot, opts: SnapshotOptions, host: string): Promise<Snapshot> {
  const t0 = performance.now();
  const manifest: SnapshotManifest = {
    ...manifestHead(opts, host, opts.name ?? parent.name),
    source: parent.source,
    ...(parent.format && { format: parent.format }),
    ...(parent.image && { image: parent.image }),
    content: parent.content,
    summary: { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: parent.content.chunks, newChunks: 0, seconds: (performance.now() - t0) / 1000 },
    parent: parent.id,
  };
  const id = await commitSnapshot(repo, lock, manifest);
  return { id, ...manifest };
}

/** The fields every new snapshot's manifest starts with: format version, time, host, user, program, name and tags. */
export function manifestHead(
  opts: { readonly time?: Date | undefined; readonly tags?: readonly string[] | undefined },
  hostname: string,
  name: string,
): Pick<SnapshotManifest, 'version' | 'time' | 'hostname' | 'username' | 'program' | 'name' | 'tags'> {
  return { version: 1, time: (opts.time ?? new Date()).toISOString(), hostname, username: safeUsername(), program: PROGRAM, name, tags: [...(opts.tags ?? [])] };
}

/** The user name recorded in snapshots ("" when the system has none for this uid). */
export function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}
