/**
 * The index cache under many operations of one process (issue 9's shared Repository): a
 * write session absorbing its index file while a lock refresh syncs must never make the
 * sync believe an absorbed file disappeared (which cleared the whole cache under a
 * running restore: concurrent.test.ts's "blob ... is not in the index").
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PackEntry } from '../pack/entry.js';
import { FILTER_FILE, LevelIndex, type IndexSource } from './level-index.js';
import type { IndexedPack } from './types.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function cacheDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'level-index-'));
  dirs.push(d);
  return d;
}

const blob = (n: number): Buffer => Buffer.alloc(32, n);
const packOf = (n: number): IndexedPack => ({
  id: Buffer.alloc(32, 0x80 + n).toString('hex'),
  entries: [{ id: blob(n), type: 'data', compressed: false, offset: 0, length: 10, rawLength: 10 } satisfies PackEntry],
});

/** A repository's index files, kept in a map; listing can be held until released. */
class Files implements IndexSource {
  readonly files = new Map<string, IndexedPack[]>();
  hold?: Promise<void>;
  listed?: () => void;
  async listIndexFiles(): Promise<string[]> {
    const names = [...this.files.keys()];
    this.listed?.();
    if (this.hold) await this.hold;
    return names;
  }
  async loadIndexFile(name: string): Promise<IndexedPack[]> {
    const f = this.files.get(name);
    if (!f) throw new Error(`no index file ${name}`);
    return f;
  }
}

describe('LevelIndex', () => {
  it('a file absorbed while a sync lists is not taken for a removed one: nothing already known is dropped', async () => {
    const idx = await LevelIndex.open(cacheDir());
    try {
      const files = new Files();
      files.files.set('a', [packOf(1)]);
      expect(await idx.sync(files)).toBe(1);

      // A lock refresh starts a sync; its listing is taken before the write session stores "b"...
      let release!: () => void;
      files.hold = new Promise<void>((r) => (release = r));
      const listed = new Promise<void>((r) => (files.listed = r));
      const syncing = idx.sync(files);
      await listed;
      // ...which then stores and absorbs "b" while the sync still waits for its listing.
      files.files.set('b', [packOf(2)]);
      const absorbing = idx.absorb('b', [packOf(2)]);
      release();
      await Promise.all([syncing, absorbing]);

      const [one, two] = await idx.getMany([blob(1), blob(2)]);
      expect(one?.pack).toBe(packOf(1).id);
      expect(two?.pack).toBe(packOf(2).id);
      expect([...(await idx.absorbedFiles())].sort()).toEqual(['a', 'b']);
    } finally {
      await idx.close();
    }
  });

  it('a file that really disappeared (gc replaced it) still makes the next sync rebuild', async () => {
    const idx = await LevelIndex.open(cacheDir());
    try {
      const files = new Files();
      files.files.set('a', [packOf(1)]);
      files.files.set('b', [packOf(2)]);
      await idx.sync(files);
      files.files.delete('a');
      files.files.delete('b');
      files.files.set('c', [packOf(2)]);
      await idx.sync(files);
      const [one, two] = await idx.getMany([blob(1), blob(2)]);
      expect(one).toBeUndefined();
      expect(two?.pack).toBe(packOf(2).id);
      expect([...(await idx.absorbedFiles())]).toEqual(['c']);
    } finally {
      await idx.close();
    }
  });

  it('a failed sync does not stop later ones', async () => {
    const idx = await LevelIndex.open(cacheDir());
    try {
      const files = new Files();
      files.files.set('a', [packOf(1)]);
      const broken: IndexSource = { listIndexFiles: async () => ['x'], loadIndexFile: async () => Promise.reject(new Error('unreadable')) };
      await expect(idx.sync(broken)).rejects.toThrow('unreadable');
      expect(await idx.sync(files)).toBe(1);
    } finally {
      await idx.close();
    }
  });
  it('a blob whose id starts like the absorbed-file keys (ff 66) is not taken for an absorbed file (no rebuild at every sync)', async () => {
    const idx = await LevelIndex.open(cacheDir());
    try {
      // keyed blob ids are random: about one blob in 65,536 starts with the bytes ff 66
      const odd = Buffer.concat([Buffer.from([0xff, 0x66]), Buffer.alloc(30, 7)]);
      const pack: IndexedPack = { id: Buffer.alloc(32, 0x90).toString('hex'), entries: [{ id: odd, type: 'data', compressed: false, offset: 0, length: 10, rawLength: 10 }] };
      const files = new Files();
      files.files.set('a', [pack]);
      expect(await idx.sync(files)).toBe(1);
      expect([...(await idx.absorbedFiles())]).toEqual(['a']);
      // a later sync finds nothing to do: before, it saw a "file" that is no longer listed,
      // cleared the cache (under any lookup running beside it) and absorbed everything again
      expect(await idx.sync(files)).toBe(0);
      expect((await idx.getMany([odd]))[0]?.pack).toBe(pack.id);
    } finally {
      await idx.close();
    }
  });
});

describe('LevelIndex id filter', () => {
  const many = (seed: number, n: number): IndexedPack => ({
    id: Buffer.alloc(32, seed).toString('hex'),
    entries: Array.from({ length: n }, (_, i) => ({
      id: Buffer.from(createHash('sha256').update(`${seed}/${i}`).digest()),
      type: 'data' as const,
      compressed: false,
      offset: i,
      length: 1,
      rawLength: 1,
    })),
  });
  const ids = (p: IndexedPack): Buffer[] => p.entries.map((e) => e.id);
  const found = async (idx: LevelIndex, list: Buffer[]): Promise<number> => (await idx.getMany(list)).filter(Boolean).length;

  it('is written at close and read at open; lookups find every stored blob and nothing else', async () => {
    const dir = cacheDir();
    const files = new Files();
    files.files.set('a', [many(1, 500)]);
    let idx = await LevelIndex.open(dir);
    await idx.sync(files);
    await idx.close();
    expect(fs.existsSync(path.join(idx.location, FILTER_FILE))).toBe(true);
    idx = await LevelIndex.open(dir);
    try {
      expect(await found(idx, ids(many(1, 500)))).toBe(500); // before any sync: the saved filter covers "a"
      expect(await found(idx, ids(many(2, 500)))).toBe(0);
    } finally {
      await idx.close();
    }
  });

  it('a process that ended without closing (its filter not written): the next one still finds everything, and adds only the files it lacks', async () => {
    const dir = cacheDir();
    const files = new Files();
    files.files.set('a', [many(1, 300)]);
    let idx = await LevelIndex.open(dir);
    await idx.sync(files);
    await idx.close(); // filter covers "a"
    const filterFile = path.join(idx.location, FILTER_FILE);
    const saved = fs.readFileSync(filterFile);
    idx = await LevelIndex.open(dir);
    files.files.set('b', [many(2, 300)]);
    await idx.absorb('b', [many(2, 300)]);
    await idx.close();
    fs.writeFileSync(filterFile, saved); // as if that process had died before writing its filter

    idx = await LevelIndex.open(dir);
    try {
      // the filter lacks "b": until a sync it is not trusted, so LevelDB answers
      expect(await found(idx, ids(many(2, 300)))).toBe(300);
      const loaded: string[] = [];
      await idx.sync({ listIndexFiles: () => files.listIndexFiles(), loadIndexFile: (n) => (loaded.push(n), files.loadIndexFile(n)) });
      expect(loaded).toEqual(['b']);
      expect(await found(idx, [...ids(many(1, 300)), ...ids(many(2, 300))])).toBe(600);
    } finally {
      await idx.close();
    }
  });

  it('a damaged or missing filter file is rebuilt from the index files by sync', async () => {
    const dir = cacheDir();
    const files = new Files();
    files.files.set('a', [many(1, 200)]);
    files.files.set('b', [many(2, 200)]);
    let idx = await LevelIndex.open(dir);
    await idx.sync(files);
    await idx.close();
    fs.writeFileSync(path.join(idx.location, FILTER_FILE), 'garbage');
    idx = await LevelIndex.open(dir);
    try {
      expect(await found(idx, ids(many(1, 200)))).toBe(200);
      await idx.sync(files);
      expect(await found(idx, [...ids(many(1, 200)), ...ids(many(2, 200))])).toBe(400);
      expect(await found(idx, ids(many(3, 200)))).toBe(0);
    } finally {
      await idx.close();
    }
  });

  it('a rebuild (an absorbed file gone: gc replaced it) empties the filter with the cache', async () => {
    const dir = cacheDir();
    const files = new Files();
    files.files.set('a', [many(1, 100)]);
    const idx = await LevelIndex.open(dir);
    try {
      await idx.sync(files);
      files.files.delete('a');
      files.files.set('c', [many(3, 100)]);
      await idx.sync(files);
      expect(await found(idx, ids(many(1, 100)))).toBe(0);
      expect(await found(idx, ids(many(3, 100)))).toBe(100);
    } finally {
      await idx.close();
    }
  });
});

describe('LevelIndex id filter and damaged index files', () => {
  it('an absorbed index file that can no longer be read (filter missing) does not fail the sync: LevelDB answers', async () => {
    const dir = cacheDir();
    const files = new Files();
    files.files.set('a', [packOf(1)]);
    let idx = await LevelIndex.open(dir);
    await idx.sync(files);
    await idx.close();
    fs.rmSync(path.join(idx.location, FILTER_FILE));
    idx = await LevelIndex.open(dir);
    try {
      const damaged: IndexSource = { listIndexFiles: () => files.listIndexFiles(), loadIndexFile: () => Promise.reject(new Error('index file a: checksum mismatch')) };
      expect(await idx.sync(damaged)).toBe(0);
      expect((await idx.getMany([blob(1), blob(2)])).map(Boolean)).toEqual([true, false]);
    } finally {
      await idx.close();
    }
  });
});
