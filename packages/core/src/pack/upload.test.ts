/**
 * The one pack uploader (upload.ts): a pack is saved, its tail read back and compared; a
 * backend that returns other bytes fails loudly, and an existing file of the pack's name is
 * accepted only when its content matches the name.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { NULL_CIPHER } from '../crypto/cipher.js';
import { blake3 } from '../hash/blake3.js';
import { readPackTrailer } from './pack-reader.js';
import { PackWriter, type FinishedPack } from './pack-writer.js';
import { joinAdjacent, uploadPack } from './upload.js';

function somePack(seed: number): FinishedPack {
  const w = new PackWriter(NULL_CIPHER);
  for (let i = 0; i < 5; i++) {
    const b = Buffer.alloc(1000 + i, seed + i);
    w.add(blake3(b), 'data', b, b.length, false);
  }
  return w.finalize();
}

/** A memory backend whose ranged pack loads return the bytes with one bit flipped. */
function lyingOnRangedReads(): MemoryBackend {
  const mem = new MemoryBackend();
  const load = mem.load.bind(mem);
  mem.load = async (h, range, o) => {
    const b = Buffer.from(await load(h, range, o));
    if (h.type === 'pack' && range) b[0]! ^= 1;
    return b;
  };
  return mem;
}

describe('uploadPack', () => {
  it('saves the pack whole; the trailer reads back', async () => {
    const be = new MemoryBackend();
    const pack = somePack(1);
    await uploadPack(be, pack);
    expect(Buffer.from(await be.load({ type: 'pack', name: pack.id })).equals(pack.bytes)).toBe(true);
    expect((await readPackTrailer(be, pack.id, NULL_CIPHER)).entries.map((e) => e.id.toString('hex'))).toEqual(pack.entries.map((e) => e.id.toString('hex')));
  });

  it('fails loudly (BACKEND, naming the pack) when the trailer reads back different', async () => {
    const be = lyingOnRangedReads();
    const pack = somePack(2);
    await expect(uploadPack(be, pack)).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(new RegExp(`pack ${pack.id}: trailer read back from .* differs from what was written`)),
    });
  });

  it('accepts an identical pack stored before, and refuses a file of that name with other content (CORRUPT)', async () => {
    const be = new MemoryBackend();
    const pack = somePack(3);
    await be.save({ type: 'pack', name: pack.id }, pack.bytes);
    await uploadPack(be, pack);
    const other = somePack(4);
    const liar: Backend = new MemoryBackend();
    await liar.save({ type: 'pack', name: other.id }, pack.bytes); // the wrong bytes under other's name
    await expect(uploadPack(liar, other)).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringContaining(`pack ${other.id} exists in the repository but its content does not match its name`),
    });
  });

  it('joins views that follow each other in one buffer, and only those', () => {
    const buf = new Uint8Array(30);
    const other = new Uint8Array(10);
    const out = joinAdjacent([buf.subarray(0, 10), buf.subarray(10, 20), other, buf.subarray(20, 30), buf.subarray(0, 5)]);
    expect(out.map((p) => [p.buffer === buf.buffer, p.byteOffset, p.byteLength])).toEqual([
      [true, 0, 20],
      [false, 0, 10],
      [true, 20, 10],
      [true, 0, 5],
    ]);
  });
});
