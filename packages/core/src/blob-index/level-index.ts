/**
 * The local index cache: LevelDB mapping blob id -> location.
 *
 * It is derived state, never the only copy of anything: it is built from the
 * repository's index files and can be deleted at any time. It records which index
 * files it has absorbed; `sync` absorbs new ones, and rebuilds from scratch when an
 * absorbed file has disappeared (gc or repair replaced it).
 *
 * LevelDB allows one process per database. Several processes may use one repository
 * at once, so the cache has numbered slots (`index-0` … `index-7`); each process takes
 * the first free slot and brings it up to date. A second concurrent writer therefore
 * pays for its own slot once, and later runs reuse whichever slot is free.
 *
 * Entry value layout (46 bytes): pack:32 type:u8 flags:u8 offset:u32le length:u32le rawLength:u32le.
 * About 80 bytes per blob on disk with LevelDB's overhead; memory use is LevelDB's
 * caches (a few MB), independent of the number of blobs.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Level } from 'level';
import { StowageError } from '../errors.js';
import { ID_BYTES } from '../hash/blake3.js';
import type { PackEntry } from '../pack/format.js';
import { FLAG_COMPRESSED, FLAG_DELTA, FLAG_FRAMED, blobTypeCode, blobTypeOf } from '../pack/format.js';
import type { BlobLocation, IndexedPack } from './types.js';

/** Where the index files come from (the repository supplies it). */
export interface IndexSource {
  listIndexFiles(): Promise<string[]>;
  loadIndexFile(name: string): Promise<IndexedPack[]>;
}

const SLOTS = 8;
const META_FILE = Buffer.from([0xff, 0x66]); // prefix of "absorbed index file" keys
const META_FILE_END = Buffer.from([0xff, 0x67]);
const VALUE_BYTES = ID_BYTES + 2 + 12;

type Db = Level<Buffer, Buffer>;

export class LevelIndex {
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
    await fs.mkdir(cacheDir, { recursive: true });
    for (let i = 0; i < SLOTS; i++) {
      const location = path.join(cacheDir, `index-${i}`);
      const db = await tryOpen(location);
      if (db) return new LevelIndex(db, location);
    }
    throw new StowageError('LOCKED', `all ${SLOTS} index cache slots in ${cacheDir} are in use by other processes`);
  }

  /** Brings the cache up to date with the repository's index files. Returns how many files were absorbed. */
  async sync(source: IndexSource): Promise<number> {
    const names = await source.listIndexFiles();
    const present = new Set(names);
    const absorbed = await this.absorbedFiles();
    let rebuild = false;
    for (const a of absorbed) if (!present.has(a)) rebuild = true;
    if (rebuild) {
      await this.db.clear();
      absorbed.clear();
    }
    let n = 0;
    for (const name of names) {
      if (absorbed.has(name)) continue;
      await this.absorb(name, await source.loadIndexFile(name));
      n++;
    }
    return n;
  }

  /** Adds the packs of index file `name` (already stored in the repository) in one batch. */
  async absorb(name: string, packs: readonly IndexedPack[]): Promise<void> {
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for (const p of packs) {
      const packId = Buffer.from(p.id, 'hex');
      for (const e of p.entries) ops.push({ type: 'put', key: e.id, value: encodeValue(packId, e) });
    }
    ops.push({ type: 'put', key: metaKey(name), value: Buffer.alloc(0) });
    await this.db.batch(ops);
  }

  /** Locations of `ids` in order; undefined where unknown. One LevelDB round trip. */
  async getMany(ids: readonly Buffer[]): Promise<(BlobLocation | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.db.getMany(ids as Buffer[]);
    return values.map((v) => (v ? decodeValue(v) : undefined));
  }

  /** Names of the index files this slot has absorbed. */
  async absorbedFiles(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const key of this.db.keys({ gte: META_FILE, lt: META_FILE_END })) out.add(key.subarray(META_FILE.length).toString('latin1'));
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
        await fs.rm(location, { recursive: true, force: true });
        continue;
      }
      throw new StowageError('BACKEND', `cannot open index cache ${location}: ${(err as Error).message}`, { cause: err });
    }
  }
  return undefined;
}

function metaKey(name: string): Buffer {
  return Buffer.concat([META_FILE, Buffer.from(name, 'latin1')]);
}

function encodeValue(packId: Buffer, e: PackEntry): Buffer {
  const v = Buffer.allocUnsafe(VALUE_BYTES + (e.base ? 32 : 0) + (e.frame ? 8 : 0));
  packId.copy(v, 0);
  v[32] = blobTypeCode(e.type);
  v[33] = (e.compressed ? FLAG_COMPRESSED : 0) | (e.base ? FLAG_DELTA : 0) | (e.frame ? FLAG_FRAMED : 0);
  e.base?.copy(v, VALUE_BYTES);
  if (e.frame) {
    v.writeUInt32LE(e.frame.offset, VALUE_BYTES);
    v.writeUInt32LE(e.frame.rawLength, VALUE_BYTES + 4);
  }
  v.writeUInt32LE(e.offset, 34);
  v.writeUInt32LE(e.length, 38);
  v.writeUInt32LE(e.rawLength, 42);
  return v;
}

function decodeValue(v: Buffer): BlobLocation {
  return {
    pack: v.toString('hex', 0, 32),
    type: blobTypeOf(v[32]!),
    compressed: (v[33]! & FLAG_COMPRESSED) !== 0,
    offset: v.readUInt32LE(34),
    length: v.readUInt32LE(38),
    rawLength: v.readUInt32LE(42),
    ...((v[33]! & FLAG_DELTA) !== 0 && { base: Buffer.from(v.subarray(VALUE_BYTES, VALUE_BYTES + 32)) }),
    ...((v[33]! & FLAG_FRAMED) !== 0 && { frame: { offset: v.readUInt32LE(VALUE_BYTES), rawLength: v.readUInt32LE(VALUE_BYTES + 4) } }),
  };
}
