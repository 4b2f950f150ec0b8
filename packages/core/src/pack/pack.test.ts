/**
 * Pack format: what the writer builds, the reader gets back; damage is CORRUPT.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { blake3, blake3Hex } from '../hash/blake3.js';
import { NULL_CIPHER } from '../crypto/cipher.js';
import { decodeIndexFile, encodeIndexFile } from '../blob-index/index-file.js';
import { readPackTrailer } from './pack-reader.js';
import { PackWriter } from './pack-writer.js';
import { ENTRY_BYTES, encodeEntries } from './entry.js';

function buildPack(n: number) {
  const w = new PackWriter(NULL_CIPHER);
  const blobs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(100 + i * 7, i);
    blobs.push(b);
    w.add(blake3(b), i % 2 ? 'list' : 'data', b, b.length, false);
  }
  return { pack: w.finalize(), blobs };
}

describe('packs', () => {
  it('round-trips entries through the trailer; the name is the BLAKE3 of the bytes', async () => {
    const { pack, blobs } = buildPack(50);
    expect(pack.id).toBe(blake3Hex(pack.bytes));
    const be = new MemoryBackend();
    await be.save({ type: 'pack', name: pack.id }, pack.bytes);
    const tail = await readPackTrailer(be, pack.id, NULL_CIPHER);
    expect(tail.entries).toHaveLength(50);
    tail.entries.forEach((e, i) => {
      expect(e.id.equals(blake3(blobs[i]!))).toBe(true);
      expect(e.type).toBe(i % 2 ? 'list' : 'data');
      expect(pack.bytes.subarray(e.offset, e.offset + e.length).equals(blobs[i]!)).toBe(true);
    });
  });

  it('hashes the pack with SHA-256 as it is built when asked (for a backend that signs uploads with it), drained or not; not otherwise', () => {
    const fill = (w: PackWriter) => {
      const batch = Buffer.alloc(3000, 7);
      for (let i = 0; i < 30; i++) w.add(Buffer.alloc(32, i), 'data', batch.subarray(i * 100, (i + 1) * 100), 100, false);
    };
    const plain = new PackWriter(NULL_CIPHER);
    fill(plain);
    expect(plain.finalize().sha256).toBeUndefined();
    const w = new PackWriter(NULL_CIPHER, { sha256: true });
    fill(w);
    const pack = w.finalize();
    expect(pack.sha256).toBe(createHash('sha256').update(pack.bytes).digest('hex'));
    const d = new PackWriter(NULL_CIPHER, { sha256: true });
    fill(d);
    const drained = Buffer.concat(d.drain());
    d.add(Buffer.alloc(32, 99), 'list', Buffer.alloc(10, 1), 10, false);
    const rest = d.finalize();
    expect(rest.sha256).toBe(createHash('sha256').update(drained).update(Buffer.concat(rest.parts)).digest('hex'));
  });

  it('keeps no object per blob: entries are the trailer slots, and blobs that follow each other in one buffer are one part', () => {
    const w = new PackWriter(NULL_CIPHER);
    const batch = Buffer.alloc(3000, 7); // an encoded batch: 30 blobs of 100 bytes, one after another
    for (let i = 0; i < 30; i++) w.add(Buffer.alloc(32, i), 'data', batch.subarray(i * 100, (i + 1) * 100), 100, false);
    const other = Buffer.alloc(50, 9); // another batch's buffer: a new part
    w.addFrame(other, 80, true, [
      { id: Buffer.alloc(32, 0xa1), type: 'data', offset: 0, rawLength: 40 },
      { id: Buffer.alloc(32, 0xa2), type: 'list', offset: 40, rawLength: 40 },
    ]);
    w.add(Buffer.alloc(32, 0xb0), 'data', batch.subarray(0, 10), 10, false); // not after `other`: a third part
    const pack = w.finalize();
    expect(pack.parts.map((p) => p.length)).toEqual([3000, 50, 10, pack.parts[3]!.length]); // blobs, then the tail
    expect(pack.parts[0]!.buffer).toBe(batch.buffer);
    expect(pack.count).toBe(33);
    expect(pack.slotCount).toBe(35);
    expect(pack.slots.length).toBe(35 * ENTRY_BYTES);
    expect(encodeEntries(pack.entries).equals(pack.slots)).toBe(true);
    expect(pack.entries.map((e) => e.offset)).toEqual([...Array.from({ length: 30 }, (_, i) => i * 100), 3000, 3000, 3050]);
    expect(pack.entries[31]!.frame).toEqual({ offset: 40, rawLength: 80 });
  });

  it('drain hands out the bytes added so far and forgets them; the finished pack is the same pack, named by all its bytes', () => {
    const { pack: whole } = buildPack(20);
    const w = new PackWriter(NULL_CIPHER);
    const out: Uint8Array[] = [];
    const area = Buffer.concat(Array.from({ length: 20 }, (_, i) => Buffer.alloc(100 + i * 7, i)));
    for (let i = 0, off = 0; i < 20; off += 100 + i * 7, i++) {
      const b = area.subarray(off, off + 100 + i * 7);
      w.add(blake3(b), i % 2 ? 'list' : 'data', b, b.length, false);
      if (i % 6 === 5) {
        out.push(...w.drain());
        expect(w.holds(area.buffer)).toBe(false);
      }
    }
    expect(w.holds(area.buffer)).toBe(true); // blobs 18 and 19: not drained, in the finished pack's parts
    const pack = w.finalize();
    const drained = Buffer.concat(out);
    expect(pack.drained).toBe(drained.length);
    expect(Buffer.concat([drained, ...pack.parts]).equals(whole.bytes)).toBe(true);
    expect(pack.id).toBe(whole.id);
    expect(pack.size).toBe(whole.size);
    expect(() => pack.bytes).toThrow(TypeError);
  });

  it('reads trailers larger than the first tail read', async () => {
    const { pack } = buildPack(3000); // 3000 * 46-byte entries > 64 KiB
    const be = new MemoryBackend();
    await be.save({ type: 'pack', name: pack.id }, pack.bytes);
    expect((await readPackTrailer(be, pack.id, NULL_CIPHER)).entries).toHaveLength(3000);
  });

  it('a flipped trailer byte, a truncated pack or garbage is CORRUPT', async () => {
    const { pack } = buildPack(10);
    const be = new MemoryBackend();
    const flipped = Buffer.from(pack.bytes);
    flipped[flipped.length - 40]! ^= 1;
    await be.save({ type: 'pack', name: 'f1' }, flipped);
    await be.save({ type: 'pack', name: 't1' }, pack.bytes.subarray(0, pack.bytes.length - 5));
    await be.save({ type: 'pack', name: 'g1' }, Buffer.from('not a pack at all'));
    for (const name of ['f1', 't1', 'g1']) {
      const err = await readPackTrailer(be, name, NULL_CIPHER).catch((e: unknown) => e);
      expect(isStowageError(err, 'CORRUPT'), `${name}: ${String(err)}`).toBe(true);
    }
  });

  it('index files round-trip and detect damage', () => {
    const { pack } = buildPack(20);
    const file = encodeIndexFile([{ id: pack.id, entries: pack.entries }]);
    const back = decodeIndexFile(file, 'test');
    expect(back[0]!.id).toBe(pack.id);
    expect(back[0]!.entries.map((e) => e.offset)).toEqual(pack.entries.map((e) => e.offset));
    const bad = Buffer.from(file);
    bad[20]! ^= 0x80;
    expect(() => decodeIndexFile(bad, 'test')).toThrow(/checksum/);
  });
});

describe('delta entries (baseRef slots)', () => {
  const base = blake3(Buffer.from('the base'));
  function deltaPack() {
    const w = new PackWriter(NULL_CIPHER);
    const a = Buffer.alloc(300, 1);
    const b = Buffer.alloc(200, 2);
    w.add(blake3(a), 'data', a, 1000, true, base); // a delta blob
    w.add(blake3(b), 'data', b, b.length, false);
    return w.finalize();
  }

  it('round-trip through trailers and index files; slots count the baseRefs', async () => {
    const pack = deltaPack();
    expect(pack.entries[0]!.base!.equals(base)).toBe(true);
    const be = new MemoryBackend();
    await be.save({ type: 'pack', name: pack.id }, pack.bytes);
    const tail = await readPackTrailer(be, pack.id, NULL_CIPHER);
    expect(tail.entries).toHaveLength(2);
    expect(tail.entries[0]!.base!.equals(base)).toBe(true);
    expect(tail.entries[1]!.base).toBeUndefined();
    const file = encodeIndexFile([{ id: pack.id, entries: tail.entries }]);
    expect(file.readUInt32LE(8 + 4 + 32)).toBe(3); // slots: delta entry, its baseRef, the other blob
    const back = decodeIndexFile(file, 'test');
    expect(back[0]!.entries[0]!.base!.equals(base)).toBe(true);
    expect(back[0]!.entries[1]!.id.equals(pack.entries[1]!.id)).toBe(true);
  });

  it('a delta entry without its baseRef, or a stray baseRef, is CORRUPT', () => {
    const pack = deltaPack();
    const file = encodeIndexFile([{ id: pack.id, entries: pack.entries }]);
    const slots = 8 + 4 + 36;
    // swap the baseRef (slot 1) and the plain entry (slot 2): the delta's next slot is not a baseRef
    const swapped = Buffer.from(file);
    file.copy(swapped, slots + 46, slots + 92, slots + 138);
    file.copy(swapped, slots + 92, slots + 46, slots + 92);
    blake3(swapped.subarray(0, swapped.length - 32)).copy(swapped, swapped.length - 32);
    expect(() => decodeIndexFile(swapped, 'test')).toThrow(/without its base reference/);
    // clear the delta flag: the baseRef is stray
    const stray = Buffer.from(file);
    stray[slots + 33] = 1;
    blake3(stray.subarray(0, stray.length - 32)).copy(stray, stray.length - 32);
    expect(() => decodeIndexFile(stray, 'test')).toThrow(/base reference without a delta blob/);
    try {
      decodeIndexFile(stray, 'test');
    } catch (err) {
      expect(isStowageError(err, 'CORRUPT')).toBe(true);
    }
  });
});

describe('framed entries (frameRef slots)', () => {
  it('round-trip through trailers and index files; a framed entry without its frameRef is CORRUPT', async () => {
    const w = new PackWriter(NULL_CIPHER);
    const a = Buffer.alloc(100, 1);
    const b = Buffer.alloc(50, 2);
    const frame = Buffer.concat([a, b]);
    w.addFrame(frame, frame.length, false, [
      { id: blake3(a), type: 'data', offset: 0, rawLength: 100 },
      { id: blake3(b), type: 'list', offset: 100, rawLength: 50 },
    ]);
    const pack = w.finalize();
    const be = new MemoryBackend();
    await be.save({ type: 'pack', name: pack.id }, pack.bytes);
    const tail = await readPackTrailer(be, pack.id, NULL_CIPHER);
    expect(tail.entries.map((e) => [e.offset, e.length, e.rawLength, e.frame?.offset, e.frame?.rawLength, e.type])).toEqual([
      [0, 150, 100, 0, 150, 'data'],
      [0, 150, 50, 100, 150, 'list'],
    ]);
    const file = encodeIndexFile([{ id: pack.id, entries: tail.entries }]);
    expect(decodeIndexFile(file, 'test')[0]!.entries[1]!.frame).toEqual({ offset: 100, rawLength: 150 });
    // drop the frame flag of the first entry: its frameRef is stray
    const stray = Buffer.from(file);
    stray[8 + 4 + 36 + 33] = 0;
    blake3(stray.subarray(0, stray.length - 32)).copy(stray, stray.length - 32);
    expect(() => decodeIndexFile(stray, 'test')).toThrow(/frame reference without a framed blob/);
    // a member claimed past the end of its frame
    const past = Buffer.from(file);
    past.writeUInt32LE(120, 8 + 4 + 36 + 46 * 3 + 34);
    blake3(past.subarray(0, past.length - 32)).copy(past, past.length - 32);
    expect(() => decodeIndexFile(past, 'test')).toThrow(/outside its frame/);
  });
});
