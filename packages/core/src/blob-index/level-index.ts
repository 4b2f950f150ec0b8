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
 * About 90 bytes per blob on disk with LevelDB's overhead.
 *
 * In front of LevelDB, an id filter (id-filter.ts) of the blob ids the slot holds: `getMany`
 * asks LevelDB only for the ids the filter may hold, so looking up new blobs costs the same
 * in a repository of ten million blobs as in an empty one (a LevelDB miss walks every
 * level, charges seeks that schedule compactions and touches pages of the mapped tables).
 * The filter knows which index files' ids it holds (`covered`); ids are added before their
 * batch is written, and `clear` empties both, so it never misses a key of a covered file.
 * It is used only while it covers every index file the slot has absorbed: `open` reads it
 * from the slot's directory (FILTER_FILE, written at `close`), and `sync` adds the ids of
 * absorbed files it lacks (a process that ended without closing: only the files it
 * absorbed; a slot from before the filter: every file, once) from the index files.
 * Memory: 2-4 bytes per blob (about 33 MB at 13 million blobs; id-filter.ts).
 */
import * as fs from 'node:fs/promises';
import { mark } from '../util/timeline.js';
import * as path from 'node:path';
import { Level } from 'level';
import { StowageError } from '../errors.js';
import { ID_BYTES } from '../hash/blake3.js';
import { ENTRY_BYTES, decodeLocationValue, encodeLocationValue, isRefCode, locationValueOfSlot } from '../pack/entry.js';
import { IdFilter } from './id-filter.js';
import { cacheWriteError } from '../util/fs-error.js';
import type { AnyIndexedPack, BlobLocation, IndexedPack } from './types.js';
import { mkdirs } from '../util/mkdirs.js';

/** Where the index files come from (the repository supplies it). */
export interface IndexSource {
  listIndexFiles(): Promise<string[]>;
  loadIndexFile(name: string): Promise<IndexedPack[]>;
}

const SLOTS = 8;
/**
 * LevelDB tables open at once (classic-level's default is 1000). LevelDB memory-maps the
 * tables it has open, and every lookup that finds a blob faults in pages around its block
 * (the kernel maps up to 64 KiB around each fault): with all tables open, 163,000 lookups
 * that found their blob in a cache of 10.7 million blobs left 960 MB of the tables mapped
 * into the process (peak RSS), against 58 MB with 64 open tables and the keys of each
 * batch sorted (getMany), at about 25 % more CPU for those lookups (2.2 -> 2.8 CPU-s).
 */
const MAX_OPEN_TABLES = 64;
const META_FILE = Buffer.from([0xff, 0x66]); // prefix of "absorbed index file" keys
const META_FILE_END = Buffer.from([0xff, 0x67]);
/** The id filter's file in the slot's directory (LevelDB leaves names it does not know alone). */
export const FILTER_FILE = 'stowage-id-filter';

type Db = Level<Buffer, Buffer>;

export class LevelIndex {
  /** The tail of the queue that makes sync and absorb run one at a time. */
  private turn: Promise<unknown> = Promise.resolve();
  /** The ids of the index files in `covered` (and perhaps more): see the class comment. */
  private filter = new IdFilter();
  /** Names of the index files whose ids are all in the filter. */
  private covered = new Set<string>();
  /** True while `covered` holds every index file the slot has absorbed: only then may getMany trust the filter. */
  private filterComplete = false;
  /** True when the filter changed since it was read or written. */
  private filterDirty = false;

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
      if (!db) continue;
      const idx = new LevelIndex(db, location);
      try {
        await idx.loadFilter();
      } catch (err) {
        await db.close().catch(() => undefined);
        throw err;
      }
      mark('leveldb open');
      return idx;
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
      this.resetFilter();
      await this.db.clear().catch((err: unknown) => {
        throw cacheWriteError(err, `index cache ${this.location}`);
      });
      absorbed.clear();
    }
    // absorbed files the filter lacks: their ids from the index files (all present here). One
    // that cannot be read (damaged since it was absorbed) leaves the filter unused: LevelDB
    // still answers every lookup, as before the filter, and check reports the damage
    try {
      for (const name of absorbed) {
        if (this.covered.has(name)) continue;
        for (const p of await source.loadIndexFile(name)) for (const e of p.entries) this.filter.add(e.id);
        this.covered.add(name);
        this.filterDirty = true;
      }
      this.filterComplete = true;
    } catch {
      this.filterComplete = false;
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
  async absorb(name: string, packs: readonly AnyIndexedPack[]): Promise<void> {
    return this.inTurn(async () => {
      // after this turn of the event loop: a request started beside the absorption (a write
      // session's commit: the snapshot file's PUT) goes out before this thread builds the batch
      // (771-2,059 entries per docker.tar snapshot, 5-13 ms that delayed that PUT by as much)
      await new Promise<void>((resolve) => setImmediate(resolve));
      return this.absorbNow(name, packs);
    });
  }

  /** Runs `fn` after every sync and absorb queued before it. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async absorbNow(name: string, packs: readonly AnyIndexedPack[]): Promise<void> {
    // a chained batch: each put goes straight into LevelDB's write batch, no op object per
    // entry (100,000 entries: about 0.1 CPU-s less, and less garbage, than an array of ops)
    const batch = this.db.batch();
    for (const p of packs) {
      const packId = Buffer.from(p.id, 'hex');
      if ('slots' in p) {
        // raw slots (a write session's packs): keys and values straight from the bytes
        const { slots } = p;
        for (let off = 0, end = p.slotCount * ENTRY_BYTES; off < end; off += ENTRY_BYTES) {
          if (isRefCode(slots[off + 32]!)) continue;
          const id = slots.subarray(off, off + ID_BYTES);
          this.filter.add(id); // before the batch: the filter never misses a stored key
          batch.put(id, locationValueOfSlot(packId, slots, off));
        }
        continue;
      }
      for (const e of p.entries) {
        this.filter.add(e.id); // before the batch: the filter never misses a stored key
        batch.put(e.id, encodeLocationValue(packId, e));
      }
    }
    batch.put(metaKey(name), Buffer.alloc(0));
    this.covered.add(name);
    this.filterDirty = true;
    await batch.write().catch((err: unknown) => {
      throw cacheWriteError(err, `index cache ${this.location}`); // full or read-only: a code, not a bug
    });
  }

  /** Locations of `ids` in order; undefined where unknown. At most one LevelDB round trip, for the ids the filter may hold (asked in key order). */
  async getMany(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]> {
    const out: (BlobLocation | undefined)[] = new Array<BlobLocation | undefined>(ids.length).fill(undefined);
    const ask: Buffer[] = [];
    const at: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (this.filterComplete && !this.filter.mayHave(ids[i]!)) continue;
      ask.push(ids[i]!);
      at.push(i);
    }
    if (ask.length === 0) return out;
    // in key order: consecutive lookups fall in the same few tables (MAX_OPEN_TABLES)
    const order = at.map((_, j) => j).sort((x, y) => Buffer.compare(ask[x]!, ask[y]!));
    const values = await this.db.getMany(order.map((j) => ask[j]!));
    for (let k = 0; k < values.length; k++) if (values[k]) out[at[order[k]!]!] = decodeLocationValue(values[k]!);
    return out;
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
    this.resetFilter();
    await this.db.clear();
  }

  /** Writes the id filter (when it changed; best effort: a cache) and closes LevelDB. */
  async close(): Promise<void> {
    await this.turn;
    if (this.filterDirty) await this.saveFilter().catch(() => undefined);
    await this.db.close();
  }

  private resetFilter(): void {
    this.filter = new IdFilter();
    this.covered = new Set();
    this.filterDirty = true;
  }

  /** Reads the filter file (missing or damaged: an empty filter, which sync fills); complete when it covers every absorbed index file. */
  private async loadFilter(): Promise<void> {
    try {
      const { filter, stamp } = IdFilter.deserialize(await fs.readFile(path.join(this.location, FILTER_FILE)));
      this.filter = filter;
      this.covered = new Set(stamp.length ? stamp.toString('latin1').split('\n') : []);
    } catch {
      this.resetFilter();
    }
    const absorbed = await this.absorbedFiles();
    this.filterComplete = [...absorbed].every((n) => this.covered.has(n));
  }

  /** Writes the filter and the names of the index files it covers, atomically (tmp + rename). */
  private async saveFilter(): Promise<void> {
    const file = path.join(this.location, FILTER_FILE);
    const tmp = `${file}.tmp`;
    try {
      await fs.writeFile(tmp, this.filter.serialize(Buffer.from([...this.covered].join('\n'), 'latin1')));
      await fs.rename(tmp, file);
      this.filterDirty = false;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
}

async function tryOpen(location: string): Promise<Db | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const db: Db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer', maxOpenFiles: MAX_OPEN_TABLES });
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
