/**
 * The local index cache: LevelDB mapping blob id -> location.
 *
 * It is derived state, never the only copy of anything: it is built from the
 * repository's index files and can be deleted at any time. It records which index
 * files it has absorbed; `sync` absorbs new ones, and rebuilds from scratch when an
 * absorbed file has disappeared (gc or repair replaced it).
 *
 * Within one process, `sync` and `absorb` run one at a time (many operations share one
 * Repository, so a write session may absorb its index file while another operation's lock
 * refresh syncs). `sync` reads what it has absorbed BEFORE it lists the index files: a file
 * is stored before it is absorbed, so every absorbed name it sees is in the listing unless
 * the file was really removed, and a file absorbed meanwhile never looks "disappeared" (that
 * race used to clear the whole cache under a running restore).
 *
 * LevelDB allows one process per database. Several processes may use one repository
 * at once, so the cache has numbered slots (`index-0` … `index-7`); each process takes
 * the first free slot and brings it up to date. A second concurrent writer therefore
 * pays for its own slot once, and later runs reuse whichever slot is free.
 *
 * Entry value: the entry's slot with the pack id in place of the blob id, then the base id
 * of a delta blob or the frame ref of a framed one (pack/entry.ts encodeLocationValue).
 * About 80 bytes per blob on disk with LevelDB's overhead; memory use is LevelDB's
 * caches (a few MB), independent of the number of blobs.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Level } from 'level';
import { StowageError } from '../errors.js';
import { ID_BYTES } from '../hash/blake3.js';
import { decodeLocationValue, encodeLocationValue } from '../pack/entry.js';
import { cacheWriteError } from '../util/fs-error.js';
import type { BlobLocation, IndexedPack } from './types.js';
import { mkdirs } from '../util/mkdirs.js';

/** Where the index files come from (the repository supplies it). */
export interface IndexSource {
  listIndexFiles(): Promise<string[]>;
  loadIndexFile(name: string): Promise<IndexedPack[]>;
}

const SLOTS = 8;
const META_FILE = Buffer.from([0xff, 0x66]); // prefix of "absorbed index file" keys
const META_FILE_END = Buffer.from([0xff, 0x67]);

type Db = Level<Buffer, Buffer>;

export class LevelIndex {
  /** The tail of the queue that makes sync and absorb run one at a time. */
  private turn: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Db,
    /** Directory of the slot in use. */
    readonly location: string,
  ) {}

  /**
   * Opens the first free slot under `cacheDir` (created if missing). LOCKED when every
   * slot is held by another process. A slot that fails to open for another reason
   * (damaged) is deleted and recreated: it is only a cache.
   */
  static async open(cacheDir: string): Promise<LevelIndex> {
    await mkdirs(cacheDir).catch((err: unknown) => {
      throw cacheWriteError(err, `index cache ${cacheDir}`);
    });
    for (let i = 0; i < SLOTS; i++) {
      const location = path.join(cacheDir, `index-${i}`);
      const db = await tryOpen(location);
      if (db) return new LevelIndex(db, location);
    }
    throw new StowageError('LOCKED', `all ${SLOTS} index cache slots in ${cacheDir} are in use by other processes`);
  }

  /** Brings the cache up to date with the repository's index files. Returns how many files were absorbed. */
  async sync(source: IndexSource): Promise<number> {
    return this.inTurn(() => this.syncNow(source));
  }

  private async syncNow(source: IndexSource): Promise<number> {
    const absorbed = await this.absorbedFiles(); // first: see the class comment
    const names = await source.listIndexFiles();
    const present = new Set(names);
    let rebuild = false;
    for (const a of absorbed) if (!present.has(a)) rebuild = true;
    if (rebuild) {
      await this.db.clear().catch((err: unknown) => {
        throw cacheWriteError(err, `index cache ${this.location}`);
      });
      absorbed.clear();
    }
    let n = 0;
    for (const name of names) {
      if (absorbed.has(name)) continue;
      await this.absorbNow(name, await source.loadIndexFile(name));
      n++;
    }
    return n;
  }

  /** Adds the packs of index file `name` (already stored in the repository) in one batch. */
  async absorb(name: string, packs: readonly IndexedPack[]): Promise<void> {
    return this.inTurn(() => this.absorbNow(name, packs));
  }

  /** Runs `fn` after every sync and absorb queued before it. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async absorbNow(name: string, packs: readonly IndexedPack[]): Promise<void> {
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for (const p of packs) {
      const packId = Buffer.from(p.id, 'hex');
      for (const e of p.entries) ops.push({ type: 'put', key: e.id, value: encodeLocationValue(packId, e) });
    }
    ops.push({ type: 'put', key: metaKey(name), value: Buffer.alloc(0) });
    await this.db.batch(ops).catch((err: unknown) => {
      throw cacheWriteError(err, `index cache ${this.location}`); // full or read-only: a code, not a bug
    });
  }

  /** Locations of `ids` in order; undefined where unknown. One LevelDB round trip. */
  async getMany(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.db.getMany(ids as Buffer[]);
    return values.map((v) => (v ? decodeLocationValue(v) : undefined));
  }

  /** Names of the index files this slot has absorbed. */
  async absorbedFiles(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const key of this.db.keys({ gte: META_FILE, lt: META_FILE_END })) {
      // blob ids share the key space: one in 65,536 starts with the prefix too (2 + 64 bytes
      // for a file, 32 for a blob); taken for a file no longer listed, it made every sync
      // clear the cache under the lookups running beside it
      if (key.length === ID_BYTES) continue; // a blob key is its id; a file's is META_FILE plus a 64-hex name
      out.add(key.subarray(META_FILE.length).toString('latin1'));
    }
    return out;
  }

  /** Drops everything (the next sync rebuilds). */
  async clear(): Promise<void> {
    await this.db.clear();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

async function tryOpen(location: string): Promise<Db | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const db: Db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
      return db;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') return undefined;
      if (attempt === 0) {
        await fs.rm(location, { recursive: true, force: true }).catch(() => undefined); // a read-only cache: the second open says so
        continue;
      }
      const mapped = cacheWriteError(err, `cannot open index cache ${location}`);
      throw mapped instanceof StowageError ? mapped : new StowageError('BACKEND', `cannot open index cache ${location}: ${(err as Error).message}`, { cause: err });
    }
  }
  return undefined;
}

function metaKey(name: string): Buffer {
  return Buffer.concat([META_FILE, Buffer.from(name, 'latin1')]);
}
