/**
 * The repository: config, sealed files, verified blob reads, the index cache, and
 * write sessions (write-session.ts).
 *
 * Reads are open to all; writes happen in a WriteSession. Every file name is the
 * BLAKE3 of its stored bytes and is checked on load; every blob is checked against
 * its id. Factories return fully opened objects.
 */
import type { Backend, FileType, OpOptions } from '../backend/backend.js';
import { CONFIG_HANDLE } from '../backend/backend.js';
import { createCutter, type Cutter } from '../chunker/index.js';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { decodeIndexFile, encodeIndexFile } from '../index/index-file.js';
import { LevelIndex } from '../index/level-index.js';
import type { BlobLocation, IndexedPack } from '../index/types.js';
import { BlobCodec, type CodecSpec } from './blob-codec.js';
import { defaultCacheRoot, repoCacheDir } from './cache-dir.js';
import type { Cipher } from './cipher.js';
import { cipherFromSpec, type CipherSpec } from './cipher-spec.js';
import { CodecPool, defaultWorkerCount } from './codec-pool.js';
import type { InitOptions, RepoConfig } from './config.js';
import { chunkerParams, newConfig, parseConfig } from './config.js';

export interface OpenOptions {
  /** Root of local caches (default: defaultCacheRoot()). */
  readonly cacheRoot?: string;
}

export class Repository {
  readonly cipher: Cipher;
  readonly codecSpec: CodecSpec;
  /** The codec on the calling thread (ids, small blobs). */
  readonly codec: BlobCodec;
  readonly cacheDir: string;
  private indexCache: LevelIndex | undefined;
  private indexOpening: Promise<LevelIndex> | undefined;
  private pool: CodecPool | undefined;

  private constructor(
    readonly backend: Backend,
    readonly config: RepoConfig,
    cipherSpec: CipherSpec,
    opts: OpenOptions,
  ) {
    this.cipher = cipherFromSpec(cipherSpec);
    this.codecSpec = { level: config.compression.level, cipher: cipherSpec };
    this.codec = new BlobCodec(this.codecSpec);
    this.cacheDir = repoCacheDir(opts.cacheRoot ?? defaultCacheRoot(), config.id);
  }

  /** Creates a repository at an empty location. REPOSITORY_EXISTS when it is not empty. */
  static async init(backend: Backend, opts: InitOptions & OpenOptions = {}): Promise<Repository> {
    const config = newConfig(opts);
    if (!(await backend.isEmpty())) {
      const what = (await backend.exists(CONFIG_HANDLE)) ? 'a repository already exists' : 'the directory is not empty';
      throw new StowageError('REPOSITORY_EXISTS', `cannot init ${backend.info.location}: ${what}`);
    }
    await backend.create();
    await backend.save(CONFIG_HANDLE, Buffer.from(JSON.stringify(config, null, 2) + '\n'));
    return new Repository(backend, config, { algorithm: 'none' }, opts);
  }

  /** Opens an existing repository. NO_REPOSITORY when there is none at the location. */
  static async open(backend: Backend, opts: OpenOptions = {}): Promise<Repository> {
    let raw: Uint8Array;
    try {
      raw = await backend.load(CONFIG_HANDLE);
    } catch (err) {
      if (isStowageError(err, 'NOT_FOUND')) throw new StowageError('NO_REPOSITORY', `no repository at ${backend.info.location} (config not found; run "stowage init" first)`);
      throw err;
    }
    const config = parseConfig(raw);
    if (config.encryption.algorithm !== 'none') {
      throw new StowageError('UNSUPPORTED_FORMAT', `repository is encrypted with ${config.encryption.algorithm}, which this build cannot open`);
    }
    return new Repository(backend, config, { algorithm: 'none' }, opts);
  }

  /** A fresh chunker for this repository's parameters. */
  cutter(impl?: 'wasm' | 'js' | 'auto'): Cutter {
    return createCutter(chunkerParams(this.config), impl);
  }

  /** The shared codec pool (workers = 0: inline). Created on first use; later calls get the same pool. */
  codecs(workers = defaultWorkerCount()): CodecPool {
    this.pool ??= new CodecPool(this.codecSpec, workers);
    return this.pool;
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
    return name;
  }

  /** Loads a file, checks its name against the hash of its bytes, and opens it. */
  async loadFile(type: Exclude<FileType, 'config' | 'pack'>, name: string, opts?: OpOptions): Promise<Buffer> {
    const stored = await this.backend.load({ type, name }, undefined, opts);
    const what = `${type} file ${name}`;
    if (blake3Hex(stored) !== name) throw corrupt(`${what}: content does not match its name (damaged)`);
    return this.cipher.open(stored, what);
  }

  /** Names of all files of a type. */
  async listNames(type: FileType, opts?: OpOptions): Promise<string[]> {
    const out: string[] = [];
    for await (const f of this.backend.list(type, opts)) out.push(f.name);
    return out;
  }

  /** Loads and decodes an index file. */
  async loadIndexFile(name: string): Promise<IndexedPack[]> {
    return decodeIndexFile(await this.loadFile('index', name), `index file ${name}`);
  }

  /** Stores an index file for `packs`; returns its name. */
  async saveIndexFile(packs: readonly IndexedPack[]): Promise<string> {
    return this.saveFile('index', encodeIndexFile(packs));
  }

  /** The local index cache, opened and synced with the repository's index files on first use. */
  async index(): Promise<LevelIndex> {
    if (this.indexCache) return this.indexCache;
    this.indexOpening ??= (async () => {
      const idx = await LevelIndex.open(this.cacheDir);
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

  /** Locations of blobs (undefined where unknown), one batched lookup. */
  async lookup(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]> {
    return (await this.index()).getMany(ids);
  }

  /**
   * Loads and verifies blobs (small ones: chunk lists and such) on the calling thread.
   * NOT_FOUND names a blob missing from the index; CORRUPT names the blob and pack.
   */
  async loadBlobs(ids: readonly Buffer[]): Promise<Buffer[]> {
    const locs = await this.lookup(ids);
    const out: Buffer[] = [];
    for (let i = 0; i < ids.length; i++) {
      const loc = locs[i];
      const id = ids[i]!;
      if (!loc) throw new StowageError('NOT_FOUND', `blob ${id.toString('hex')} is not in the index (repository damaged, or try "stowage repair index")`);
      out.push(await this.loadBlobAt(id, loc));
    }
    return out;
  }

  /** Reads one blob at a known location and verifies it. */
  async loadBlobAt(id: Buffer, loc: BlobLocation): Promise<Buffer> {
    const stored = await this.readPackRange(loc.pack, loc.offset, loc.length);
    return this.codec.decode(stored, [{ offset: 0, length: loc.length, rawLength: loc.rawLength, compressed: loc.compressed, id }], `pack ${loc.pack}`).plain;
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
    await this.pool?.close();
    this.pool = undefined;
    if (this.indexCache) await this.indexCache.close();
    this.indexCache = undefined;
    this.indexOpening = undefined;
    await this.backend.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
