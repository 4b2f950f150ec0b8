/**
 * The one index-entry codec (entry.ts): every combination of flags round-trips through the
 * pack trailer, the index file, the LevelDB value and the in-memory table, and the bytes are
 * the ones the format has always had (golden slots written by the code before the codec was
 * shared), so existing repositories and index caches still read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeIndexFile, encodeIndexFile, scanIndexFile } from '../blob-index/index-file.js';
import { IndexTable } from '../blob-index/index-table.js';
import { LevelIndex } from '../blob-index/level-index.js';
import { isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { decodeTrailer, encodeTrailer } from './format.js';
import {
  BASE_REF_CODE,
  ENTRY_BYTES,
  FLAG_COMPRESSED,
  FLAG_DELTA,
  FLAG_FRAMED,
  FRAME_REF_CODE,
  decodeLocationValue,
  encodeEntries,
  encodeLocationValue,
  locationValueOfSlot,
  entryFlags,
  readEntries,
  slotCount,
  writeEntry,
  type PackEntry,
} from './entry.js';

const id = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const base = Buffer.alloc(32, 0xbb);
const packId = Buffer.alloc(32, 0xcc);

/** Every valid combination of type and flags (a delta is always compressed; never delta and framed). */
const CASES: { name: string; entry: PackEntry; slot: string; value: string }[] = [
  {
    name: 'data, stored raw',
    entry: { id, type: 'data', compressed: false, offset: 1, length: 2, rawLength: 3 },
    slot: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f200000010000000200000003000000',
    value: 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc0000010000000200000003000000',
  },
  {
    name: 'list, compressed, large numbers',
    entry: { id, type: 'list', compressed: true, offset: 0x01020304, length: 0x0a0b0c0d, rawLength: 0xfffffffe },
    slot: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f200101040302010d0c0b0afeffffff',
    value: 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc0101040302010d0c0b0afeffffff',
  },
  {
    name: 'data, compressed delta',
    entry: { id, type: 'data', compressed: true, offset: 10, length: 20, rawLength: 30, base },
    slot:
      '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2000030a000000140000001e000000' + 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbff00000000000000000000000000',
    value: 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc00030a000000140000001e000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  },
  {
    name: 'data, framed in a compressed frame',
    entry: { id, type: 'data', compressed: true, offset: 10, length: 20, rawLength: 5, frame: { offset: 7, rawLength: 100 } },
    slot:
      '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2000050a0000001400000005000000' + '0000000000000000000000000000000000000000000000000000000000000000fe00070000000000000064000000',
    value: 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc00050a00000014000000050000000700000064000000',
  },
  {
    name: 'list, framed in a raw frame',
    entry: { id, type: 'list', compressed: false, offset: 10, length: 20, rawLength: 5, frame: { offset: 0, rawLength: 20 } },
    slot:
      '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2001040a0000001400000005000000' + '0000000000000000000000000000000000000000000000000000000000000000fe00000000000000000014000000',
    value: 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc01040a00000014000000050000000000000014000000',
  },
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-entry-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const plain = (e: PackEntry) => ({ ...e, id: e.id.toString('hex'), base: e.base?.toString('hex') });

describe('one index-entry codec', () => {
  it('one set of flag bits: compressed 1, delta 2, framed 4; ref slot codes 0xff and 0xfe', () => {
    expect([FLAG_COMPRESSED, FLAG_DELTA, FLAG_FRAMED, BASE_REF_CODE, FRAME_REF_CODE, ENTRY_BYTES]).toEqual([1, 2, 4, 0xff, 0xfe, 46]);
    expect(CASES.map((c) => entryFlags(c.entry))).toEqual([0, 1, 3, 5, 4]);
  });

  it.each(CASES)("$name: the slot bytes are the format's, and read back", ({ entry, slot }) => {
    const raw = encodeEntries([entry]);
    expect(raw.toString('hex')).toBe(slot);
    expect(slotCount([entry]) * ENTRY_BYTES).toBe(raw.length);
    const b = Buffer.alloc(raw.length);
    expect(writeEntry(b, 0, entry)).toBe(raw.length);
    expect(b.equals(raw)).toBe(true);
    expect(readEntries(raw, 0, raw.length / ENTRY_BYTES, 'x').map(plain)).toEqual([plain(entry)]);
  });

  it('every case round-trips through a pack trailer and an index file', () => {
    const entries = CASES.map((c) => c.entry);
    expect(decodeTrailer(encodeTrailer(entries), 'trailer').map(plain)).toEqual(entries.map(plain));
    const file = encodeIndexFile([{ id: packId.toString('hex'), entries }]);
    const back = decodeIndexFile(file, 'index');
    expect(back.map((p) => p.id)).toEqual([packId.toString('hex')]);
    expect(back[0]!.entries.map(plain)).toEqual(entries.map(plain));
    // whole files: the bytes the code before this codec wrote (their BLAKE3)
    expect(blake3Hex(file)).toBe('246db2455dc6d19ff9669eac65703e9584573a6fca03687f7af7656618796aa3');
    expect(blake3Hex(encodeTrailer(entries))).toBe('31717618090be43cee650a1ce1bc891faca97377e520dc8803f65baa1266410a');
    // the index file holds exactly the slots
    const seen: Buffer[] = [];
    scanIndexFile(file, 'index', (_p, raw) => seen.push(Buffer.from(raw)));
    expect(seen[0]!.toString('hex')).toBe(CASES.map((c) => c.slot).join(''));
  });

  it.each(CASES)("$name: the LevelDB value bytes are the format's, and read back", ({ entry, value }) => {
    const v = encodeLocationValue(packId, entry);
    expect(v.toString('hex')).toBe(value);
    // the same value straight from the slots (what a write session absorbs), after another entry
    const slots = encodeEntries([CASES[0]!.entry, entry]);
    expect(locationValueOfSlot(packId, slots, ENTRY_BYTES).toString('hex')).toBe(value);
    const { id: _id, ...loc } = entry;
    expect(decodeLocationValue(v)).toEqual({ pack: packId.toString('hex'), ...loc });
  });

  it('every case round-trips through a real LevelDB index cache', async () => {
    const db = await LevelIndex.open(path.join(tmp, 'cache'));
    try {
      const entries = CASES.map((c, i) => ({ ...c.entry, id: Buffer.alloc(32, i + 1) }));
      await db.absorb('idx', [{ id: packId.toString('hex'), entries }]);
      const got = await db.getMany(entries.map((e) => e.id));
      expect(got).toEqual(entries.map(({ id: _id, ...loc }) => ({ pack: packId.toString('hex'), ...loc })));
      // and as raw slots (a write session's packs): the same answers
      const raw = entries.map((e) => ({ ...e, id: Buffer.alloc(32, 0x40 + e.id[0]!) }));
      await db.absorb('raw', [{ id: packId.toString('hex'), slots: encodeEntries(raw), slotCount: slotCount(raw) }]);
      expect(await db.getMany(raw.map((e) => e.id))).toEqual(got);
    } finally {
      await db.close();
    }
  });

  it('every case round-trips through the in-memory table: fields, and the slots written back unchanged', () => {
    const entries = CASES.map((c, i) => ({ ...c.entry, id: Buffer.alloc(32, i + 1) }));
    const raw = encodeEntries(entries);
    const t = new IndexTable();
    t.addPack('idx', packId.toString('hex'), raw, raw.length / ENTRY_BYTES);
    expect(t.count).toBe(slotCount(entries));
    expect(t.refs).toBe(3);
    for (const e of entries) {
      const n = t.find(e.id);
      expect(n).toBeGreaterThanOrEqual(0);
      expect([t.type(n), t.compressed(n), t.isDelta(n), t.isFramed(n), t.isRef(n)]).toEqual([e.type, e.compressed, !!e.base, !!e.frame, false]);
      const { id: _id, type: _type, ...loc } = e;
      expect(t.location(n)).toEqual(loc);
      if (e.base || e.frame) expect(t.isRef(n + 1)).toBe(true);
    }
    const all = Array.from({ length: t.count }, (_, i) => i);
    expect(t.encodeEntries(all).equals(raw)).toBe(true);
  });

  it('contradictory or stray slots are CORRUPT', () => {
    const bad = (mut: (b: Buffer) => void, entry: PackEntry) => {
      const raw = encodeEntries([entry]);
      mut(raw);
      const err = (() => {
        try {
          readEntries(raw, 0, raw.length / ENTRY_BYTES, 'x');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      return isStowageError(err, 'CORRUPT') ? (err as Error).message : `not CORRUPT: ${String(err)}`;
    };
    const [rawCase, , delta, framed] = CASES.map((c) => c.entry);
    expect(bad((b) => (b[33] = FLAG_DELTA | FLAG_FRAMED | FLAG_COMPRESSED), delta!)).toMatch(/both delta and framed/);
    expect(bad((b) => (b[33] = FLAG_DELTA), delta!)).toMatch(/delta blob not marked compressed/);
    expect(bad((b) => (b[32 + ENTRY_BYTES] = 0), delta!)).toMatch(/delta blob without its base reference/);
    expect(bad((b) => (b[32 + ENTRY_BYTES] = BASE_REF_CODE), framed!)).toMatch(/framed blob without its frame reference/);
    expect(bad((b) => (b[32] = BASE_REF_CODE), rawCase!)).toMatch(/base reference without a delta blob/);
    expect(bad((b) => (b[32] = FRAME_REF_CODE), rawCase!)).toMatch(/frame reference without a framed blob/);
    expect(bad((b) => (b[32] = 7), rawCase!)).toMatch(/unknown blob type code 7/);
    expect(bad((b) => b.writeUInt32LE(99, ENTRY_BYTES + 34), framed!)).toMatch(/framed blob lies outside its frame/);
  });
});
