/**
 * The repository, a blob store shared by every operation at once: config and keys
 * (opened by open.ts), sealed files, blobs in and out (verified reads here, writes in an
 * operation's WriteSession, write-session.ts), the index cache, the codec pools. It keeps
 * no state of any one operation; the object layer sees it through blob-store.ts.
 *
 * Reads are open to all; writes happen in a WriteSession. Every file name is the
 * BLAKE3 of its stored bytes and is checked on load; every blob is checked against
 * its id. Factories return fully opened objects.
 *
 * Encrypted repositories (keys.ts has the key scheme) open with a password: the key
 * file it opens yields the master keys, from which come the cipher of every stored
 * file (cipherSpec), the keyed id hash (codecSpec.idKey) and the chunker seed.
 */
import * as path from 'node:path';
import type { Backend, FileInfo, FileType, OpOptions } from '../backend/backend.js';
import { loadRangeInto } from '../backend/backend.js';
import { createCutter, type Cutter } from '../chunker/index.js';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { decodeIndexFile, encodeIndexFile } from '../blob-index/index-file.js';
import { LevelIndex } from '../blob-index/level-index.js';
import type { AnyIndexedPack, BlobLocation, IndexedPack } from '../blob-index/types.js';
import { BlobCodec, decodeItem, type CodecSpec } from './blob-codec.js';
import { planWholeBlobReads, readWholeBlobsInto } from './blob-reads.js';
import { defaultCacheRoot, repoCacheDir } from './cache-dir.js';
import { EarlyFiles } from './early-files.js';
import { FileCache } from './file-cache.js';
import { isRemoteLocation } from './kdf-hint.js';
import type { Cipher } from '../crypto/cipher.js';
import { cipherFromSpec, type CipherSpec } from '../crypto/cipher-spec.js';
import { CodecPool, defaultWorkerCount } from './codec-pool.js';
import { mark } from '../util/timeline.js';
import { prestartCodecWorkers } from './codec-warm.js';
import type { RepoConfig } from './config.js';
import { chunkerParams } from './config.js';
import { chunkerSeedFor, cipherSpecFor, listKeys, resolveKey, saveKey, type KdfParams, type KeyInfo, type KeyListing } from './keys.js';

import { LockState } from './lock-state.js';
import { initRepository, openRepository, type OpenOptions, type RepositoryInitOptions, type Secrets } from './open.js';

export type { OpenOptions, PasswordSource, RepositoryInitOptions } from './open.js';

/** Options of Repository.loadFile. */
export interface LoadFileOptions extends OpOptions {
  /** Read the stored file even when the local cache has a copy (check: the repository's bytes are what is checked). */
  readonly fresh?: boolean;
}

/** Every file of a type, listed. */
async function listAll(backend: Backend, type: FileType): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of backend.list(type)) out.push(f);
  return out;
}

/** Reads loadBlobs keeps in flight (the backend's connection limit bounds them further). */
const LOAD_BLOBS_AT_ONCE = 8;

/** The local copies of a remote repository's snapshot files (file-cache.ts), in its cache dir `cacheDir`; none for a local one. */
function snapshotCache(backend: Backend, cacheDir: string): FileCache | undefined {
  return isRemoteLocation(backend.info.location) ? new FileCache(path.join(cacheDir, 'snapshots')) : undefined;
}

export class Repository {
  readonly cipher: Cipher;
  /** The cipher's serialisable form (holds the data key of encrypted repositories). */
  readonly cipherSpec: CipherSpec;
  readonly codecSpec: CodecSpec;
  /** The codec on the calling thread (ids, small blobs). */
  readonly codec: BlobCodec;
  readonly cacheDir: string;
  private indexCache: LevelIndex | undefined;
  private indexOpening: Promise<LevelIndex> | undefined;
  /** The index cache's database, opened while the key was derived (OpenOptions.openIndexEarly); index() syncs it. */
  private levelOpening: Promise<LevelIndex> | undefined;
  private readonly pools = new Map<number, CodecPool>();
  /** This process's lock on the repository (repository/lock.ts keeps it). */
  readonly lockState = new LockState();
  readonly #secrets: Secrets | undefined;
  readonly #chunkerSeed: bigint | undefined;
  /** Snapshot files kept in the cache dir (remote repositories only: file-cache.ts). */
  readonly #snapshotFiles: FileCache | undefined;
  /** The lock files listed while the repository opened (OpenOptions.listLocksEarly), until the first lock takes them. */
  #earlyLocks: Promise<FileInfo[]> | undefined;
  #earlySnapshots: EarlyFiles | undefined;

  private constructor(
    readonly backend: Backend,
    readonly config: RepoConfig,
    secrets: Secrets | undefined,
    opts: OpenOptions,
  ) {
    this.#secrets = secrets;
    this.cipherSpec = secrets ? cipherSpecFor(secrets.master) : { algorithm: 'none' };
    this.cipher = cipherFromSpec(this.cipherSpec);
    this.codecSpec = { level: config.compression.level, cipher: this.cipherSpec, ...(secrets && { idKey: secrets.master.id }) };
    this.codec = new BlobCodec(this.codecSpec);
    this.#chunkerSeed = secrets ? chunkerSeedFor(secrets.master) : undefined;
    this.cacheDir = repoCacheDir(opts.cacheRoot ?? defaultCacheRoot(), config.id);
    this.#snapshotFiles = snapshotCache(backend, this.cacheDir);
  }

  /**
   * Creates a repository at an empty location. REPOSITORY_EXISTS when it is not empty.
   * Encrypted when `encryption` is 'aes-256-gcm' or, by default, when a password is given
   * (then the first key file is written before the config, which is the commit point).
   */
  static async init(backend: Backend, opts: RepositoryInitOptions = {}): Promise<Repository> {
    const { config, secrets } = await initRepository(backend, opts);
    return new Repository(backend, config, secrets, opts);
  }

  /** Opens an existing repository. NO_REPOSITORY when there is none at the location. */
  static async open(backend: Backend, opts: OpenOptions = {}): Promise<Repository> {
    if (opts.prestartWorkers) {
      prestartCodecWorkers(opts.prestartWorkers); // they start while the key is derived
      mark('codec workers prestarted');
    }
    const locks = opts.listLocksEarly && isRemoteLocation(backend.info.location) ? listAll(backend, 'lock') : undefined;
    locks?.catch(() => undefined); // the lock lists again when this failed
    let early: Promise<LevelIndex> | undefined;
    let snapshots: EarlyFiles | undefined;
    const onConfig = (config: RepoConfig): void => {
      const dir = repoCacheDir(opts.cacheRoot ?? defaultCacheRoot(), config.id);
      if (opts.openIndexEarly) {
        early = LevelIndex.open(dir);
        early.catch(() => undefined); // reported by index(), the first use
      }
      if (opts.readSnapshotsEarly) snapshots = new EarlyFiles(backend, snapshotCache(backend, dir));
    };
    let parts;
    try {
      parts = await openRepository(backend, opts, opts.openIndexEarly || opts.readSnapshotsEarly ? onConfig : undefined);
    } catch (err) {
      await early?.then((idx) => idx.close()).catch(() => undefined);
      await snapshots?.settled();
      throw err;
    }
    const repo = new Repository(backend, parts.config, parts.secrets, opts);
    repo.levelOpening = early;
    repo.#earlyLocks = locks;
    repo.#earlySnapshots = snapshots;
    return repo;
  }

  /** True for an encrypted repository. */
  get encrypted(): boolean {
    return this.#secrets !== undefined;
  }

  /** Name of the key file this repository was opened with (encrypted repositories). */
  get keyName(): string | undefined {
    return this.#secrets?.key;
  }

  /** A fresh chunker for this repository's parameters (seeded from the master keys when encrypted). */
  cutter(impl?: 'wasm' | 'js' | 'auto'): Cutter {
    return createCutter(chunkerParams(this.config, this.#chunkerSeed), impl);
  }

  /** Every key file of the repository (damaged ones with their error). */
  async listKeys(): Promise<KeyListing[]> {
    return listKeys(this.backend);
  }

  /** Adds a key file holding this repository's master keys under `password`. */
  async addKey(password: string, opts: { kdf?: KdfParams; hostname?: string; username?: string } = {}): Promise<KeyInfo> {
    const s = this.#needSecrets();
    return saveKey(this.backend, s.master, password, s.configHash, opts);
  }

  /**
   * Removes a key file (full name or unique prefix). Refuses the key in use (open with
   * another key's password to remove it) and the last intact key. Returns the name removed.
   */
  async removeKey(ref: string, o: OpOptions = {}): Promise<string> {
    const s = this.#needSecrets();
    const name = await resolveKey(this.backend, ref);
    if (name === s.key) {
      throw new StowageError('INVALID_ARGUMENT', `key ${name.slice(0, 8)} is the key in use; open the repository with another key's password to remove it`);
    }
    const intact = (await listKeys(this.backend)).filter((k) => k.error === undefined && k.name !== name);
    if (intact.length === 0) throw new StowageError('INVALID_ARGUMENT', `refusing to remove the last key of the repository`);
    await this.backend.remove({ type: 'key', name }, o);
    return name;
  }

  /** Changes the password of the key in use: adds a key file for `password`, then removes the old one. */
  async changePassword(password: string, opts: { kdf?: KdfParams; hostname?: string; username?: string; signal?: AbortSignal } = {}): Promise<KeyInfo> {
    const s = this.#needSecrets();
    const old = s.key;
    const key = await saveKey(this.backend, s.master, password, s.configHash, opts);
    s.key = key.name;
    await this.backend.remove({ type: 'key', name: old }, opts.signal ? { signal: opts.signal } : {});
    return key;
  }

  #needSecrets(): Secrets {
    if (!this.#secrets) throw new StowageError('INVALID_ARGUMENT', 'the repository is not encrypted: it has no keys');
    return this.#secrets;
  }

  /**
   * The codec pool of `workers` threads (0: inline on the calling thread), shared by every
   * operation that asks for the same count: created on first use, closed with the
   * repository. The pool keeps no state of any one operation.
   */
  codecs(workers = defaultWorkerCount()): CodecPool {
    if (!Number.isSafeInteger(workers) || workers < 0) throw new TypeError(`workers must be a whole number >= 0, not ${workers}`);
    let pool = this.pools.get(workers);
    if (!pool) this.pools.set(workers, (pool = new CodecPool(this.codecSpec, workers)));
    return pool;
  }

  /** Seals `plain` and stores it as a file of `type` named by the hash of the stored bytes. Returns the name. */
  async saveFile(type: Exclude<FileType, 'config' | 'pack'>, plain: Uint8Array, opts?: OpOptions): Promise<string> {
    const stored = this.cipher.seal(plain);
    const name = blake3Hex(stored);
    try {
      await this.backend.save({ type, name }, stored, opts);
    } catch (err) {
      // Same name = same bytes: an identical file already stored is success.
      if (!isStowageError(err, 'ALREADY_EXISTS')) throw err;
    }
    if (type === 'snapshot') this.#snapshotFiles?.put(name, stored);
    return name;
  }

  /**
   * Loads a file, checks its name against the hash of its bytes, and opens it. Snapshot files
   * of a remote repository come from the local cache when it has them (file-cache.ts: the
   * same bytes, checked the same way), unless `fresh` asks for the stored file (check).
   */
  async loadFile(type: Exclude<FileType, 'config' | 'pack'>, name: string, opts?: LoadFileOptions): Promise<Buffer> {
    const what = `${type} file ${name}`;
    const cache = type === 'snapshot' ? this.#snapshotFiles : undefined;
    const cached = opts?.fresh ? undefined : cache?.get(name);
    if (cached) return this.cipher.open(cached, what);
    // read while the repository opened (OpenOptions.readSnapshotsEarly): used when it is the file of that name
    const early = type === 'snapshot' && !opts?.fresh ? await this.#earlySnapshots?.bytes(name) : undefined;
    const earlyIntact = early !== undefined && blake3Hex(early) === name;
    const stored = earlyIntact ? early : await this.backend.load({ type, name }, undefined, opts);
    if (!earlyIntact && blake3Hex(stored) !== name) throw corrupt(`${what}: content does not match its name (damaged)`);
    const plain = this.cipher.open(stored, what);
    cache?.put(name, stored); // once it opened: a file sealed with another key is never kept
    return plain;
  }

  /** Names of all files of a type. A listing of snapshot files drops cached copies of the ones gone (forgotten). */
  async listNames(type: FileType, opts?: OpOptions): Promise<string[]> {
    const out: string[] = [];
    for await (const f of this.backend.list(type, opts)) out.push(f.name);
    if (type === 'snapshot') this.#snapshotFiles?.keepOnly(out);
    return out;
  }

  /** Loads and decodes an index file. */
  async loadIndexFile(name: string): Promise<IndexedPack[]> {
    return decodeIndexFile(await this.loadFile('index', name), `index file ${name}`);
  }

  /** Stores an index file for `packs`; returns its name. */
  async saveIndexFile(packs: readonly AnyIndexedPack[]): Promise<string> {
    return this.saveFile('index', encodeIndexFile(packs));
  }

  /** The local index cache, opened and synced with the repository's index files on first use. */
  async index(): Promise<LevelIndex> {
    if (this.indexCache) return this.indexCache;
    this.indexOpening ??= (async () => {
      const early = this.levelOpening;
      this.levelOpening = undefined;
      const idx = await (early ?? LevelIndex.open(this.cacheDir));
      try {
        await idx.sync({ listIndexFiles: () => this.listNames('index'), loadIndexFile: (n) => this.loadIndexFile(n) });
      } catch (err) {
        await idx.close();
        throw err;
      }
      this.indexCache = idx;
      return idx;
    })();
    return this.indexOpening;
  }

  /**
   * Starts opening (and syncing) the index cache in the background, so that on a remote
   * backend its listing and new index files load while the caller does other requests
   * (snapshot listing, the input's first read). The first lookup waits for it and gets its
   * error, if any. Call it only under a lock: gc may replace index files otherwise.
   */
  prefetchIndex(): void {
    if (this.indexCache || this.indexOpening) return;
    this.index().catch(() => undefined); // rethrown to the first caller of index()
  }

  /**
   * The snapshot files listed while the repository opened (OpenOptions.readSnapshotsEarly),
   * before any lock: a hint of what there is, never what exists now; undefined without that
   * listing (or when it failed).
   */
  async earlySnapshotNames(): Promise<readonly string[] | undefined> {
    return this.#earlySnapshots?.names;
  }

  /** The lock listing taken while the repository opened (OpenOptions.listLocksEarly), once; undefined after that or without one. */
  takeEarlyLockListing(): Promise<FileInfo[]> | undefined {
    const p = this.#earlyLocks;
    this.#earlyLocks = undefined;
    return p;
  }

  /** Brings an open index cache up to date with the index files (lock.ts calls it after taking a lock: gc may have replaced them). */
  async refreshIndex(): Promise<void> {
    if (this.indexCache) await this.indexCache.sync({ listIndexFiles: () => this.listNames('index'), loadIndexFile: (n) => this.loadIndexFile(n) });
  }

  /** Locations of blobs (undefined where unknown), one batched lookup. */
  async lookup(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]> {
    return (await this.index()).getMany(ids);
  }

  /**
   * Loads and verifies blobs (small ones: chunk lists and such) on the calling thread, in
   * order. NOT_FOUND names a blob missing from the index (before anything is read); CORRUPT
   * names the blob and pack. Up to LOAD_BLOBS_AT_ONCE reads are in flight: on S3 a
   * snapshot's chunk lists and file maps (a delta basis: 8-12 blobs) took one round trip
   * each, one after another (50-100 ms before its first changed chunk could be stored).
   */
  async loadBlobs(ids: readonly Buffer[]): Promise<Buffer[]> {
    const locs = await this.lookup(ids);
    const found: BlobLocation[] = [];
    for (let i = 0; i < ids.length; i++) {
      const loc = locs[i];
      if (!loc) throw new StowageError('NOT_FOUND', `blob ${ids[i]!.toString('hex')} is not in the index (repository damaged, or try "stowage repair index")`);
      found.push(loc);
    }
    const out: Buffer[] = new Array<Buffer>(ids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const i = next++;
        out[i] = await this.loadBlobAt(ids[i]!, found[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_BLOBS_AT_ONCE, ids.length) }, worker));
    return out;
  }

  /** Reads one blob at a known location and verifies it (a delta blob's base is read first). */
  async loadBlobAt(id: Buffer, loc: BlobLocation): Promise<Buffer> {
    const base = loc.base ? await this.loadBase(loc.base, id) : undefined;
    const stored = await this.readPackRange(loc.pack, loc.offset, loc.length);
    return this.codec.decode(stored, [decodeItem(loc, id, 0, base)], `pack ${loc.pack}`).plain;
  }

  /** The plaintext of the base of delta blob `of`; CORRUPT when it is missing or itself a delta. */
  async loadBase(base: Buffer, of: Uint8Array): Promise<Buffer> {
    const [loc] = await this.lookupBases([{ base, of }]);
    return this.loadBlobAt(base, loc!);
  }

  /**
   * Locations of the bases of delta blobs (one batched lookup); CORRUPT naming the base and
   * its delta when a base is missing from the index or is itself a delta.
   */
  async lookupBases(bases: readonly { readonly base: Buffer; readonly of: Uint8Array }[]): Promise<BlobLocation[]> {
    const found = await this.lookup(bases.map((b) => b.base));
    return bases.map(({ base, of }, i) => {
      const loc = found[i];
      const what = `base ${base.toString('hex')} of delta blob ${Buffer.from(of).toString('hex')}`;
      if (!loc) throw corrupt(`${what} is not in the index`);
      if (loc.base) throw corrupt(`${what} is itself a delta (chains are one step long)`);
      return loc;
    });
  }

  /**
   * Loads whole (non-delta) blobs at known locations, keyed by latin1 id: reads grouped
   * by pack, decoded and verified by `pool` (workers when it has them), into fresh memory.
   */
  async loadWholeBlobs(locs: ReadonlyMap<string, BlobLocation>, pool: CodecPool): Promise<Map<string, Uint8Array>> {
    const plan = planWholeBlobReads(locs);
    return readWholeBlobsInto(this, pool, plan, Buffer.allocUnsafe(plan.plainBytes));
  }

  /** A ranged pack read into `target` (which may be shared memory); errors as readPackRange. */
  async readPackRangeInto(pack: string, offset: number, length: number, target: Uint8Array): Promise<void> {
    try {
      await loadRangeInto(this.backend, { type: 'pack', name: pack }, { offset, length }, target);
    } catch (err) {
      if (isStowageError(err, 'NOT_FOUND')) throw corrupt(`pack ${pack} is missing`, err);
      if (isStowageError(err, 'CORRUPT')) throw corrupt(`pack ${pack}: ${err.message}`, err);
      throw err;
    }
  }

  /** A ranged pack read; a missing or short pack is CORRUPT naming the pack. */
  async readPackRange(pack: string, offset: number, length: number): Promise<Uint8Array> {
    try {
      return await this.backend.load({ type: 'pack', name: pack }, { offset, length });
    } catch (err) {
      if (isStowageError(err, 'NOT_FOUND')) throw corrupt(`pack ${pack} is missing`, err);
      if (isStowageError(err, 'CORRUPT')) throw corrupt(`pack ${pack}: ${err.message}`, err);
      throw err;
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    // the codec workers end (terminate: 5-6 ms at a snapshot's end) while LevelDB closes (3-11 ms)
    const closing = Promise.all(pools.map((p) => p.close()));
    closing.catch(() => undefined); // awaited below (unless closing the index throws first)
    await this.indexOpening?.catch(() => undefined); // one still opening (prefetchIndex) is closed too
    if (this.indexCache) await this.indexCache.close();
    else await this.levelOpening?.then((idx) => idx.close()).catch(() => undefined); // opened early, never used
    await closing;
    await this.#earlySnapshots?.settled();
    this.levelOpening = undefined;
    this.indexCache = undefined;
    this.indexOpening = undefined;
    this.#earlySnapshots = undefined;
    await this.backend.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
