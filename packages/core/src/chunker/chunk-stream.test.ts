/**
 * Tests of the stream batcher: streamed cuts equal one-shot cuts for every
 * implementation whatever the read sizes, batches are contiguous, fresh and
 * bounded, and empty / tiny inputs behave.
 */
import { describe, expect, it } from 'vitest';
import { chunkBatches, chunkBuffer, type ChunkBatch } from './chunk-stream.js';
import { createCutter } from './cutter.js';
import type { ChunkerParams } from './params.js';

function params(min: number, avg: number, max: number, level = 1, seed = 0n): ChunkerParams {
  return { minSize: min, avgSize: avg, maxSize: max, level, seed };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 24;
  }
  return out;
}

/** Seeded integer PRNG in [lo, hi] (mulberry32). */
function prng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo + 1));
  };
}

/**
 * Yields `data` in pieces of random size (1 byte .. 1 MiB, skewed so tiny
 * reads also occur), reusing one scratch buffer to prove pieces are copied.
 */
async function* pieces(data: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const rand = prng(seed);
  const scratch = new Uint8Array(1 << 20);
  let off = 0;
  while (off < data.length) {
    const bits = rand(0, 20);
    const size = Math.min(data.length - off, rand(1, 2 ** bits));
    scratch.set(data.subarray(off, off + size));
    yield scratch.subarray(0, size);
    scratch.fill(0xee, 0, size); // clobber: the batcher must have copied it
    off += size;
    if (rand(0, 9) === 0) yield new Uint8Array(0);
  }
}

async function collect(source: AsyncIterable<Uint8Array>, p: ChunkerParams, impl: 'js' | 'wasm', batchBytes?: number) {
  const batches: ChunkBatch[] = [];
  for await (const b of chunkBatches(source, createCutter(p, impl), batchBytes)) batches.push(b);
  return batches;
}

// ~8 MiB: random data, with a run of zeros and a short repeated pattern so
// that max-size cuts (which depend on the streaming tail rule) occur too
const data = randomBytes(8 << 20, 4242);
data.fill(0, 3 << 20, (3 << 20) + 700_000);
for (let i = 5 << 20; i < (5 << 20) + 900_000; i++) data[i] = (i % 13) * 17;

for (const impl of ['js', 'wasm'] as const) {
  describe(`chunkBatches (${impl})`, () => {
    const cases: [ChunkerParams, number | undefined][] = [
      [params(16384, 65536, 262144), undefined],
      [params(4096, 16384, 65535, 2, 666n), 1 << 20],
      [params(65, 300, 1100, 3), 100_000],
      [params(64, 256, 1024, 1, 7n), 4096],
      [params(262144, 1 << 20, 4 << 20), 2 << 20],
    ];
    for (const [p, batchBytes] of cases) {
      it(`random reads give the one-shot cuts: ${p.minSize}/${p.avgSize}/${p.maxSize} batch ${batchBytes ?? 'default'}`, async () => {
        const expected = chunkBuffer(data, createCutter(p, impl));
        for (const seed of [1, 2]) {
          const batches = await collect(pieces(data, seed), p, impl, batchBytes);
          const lengths = batches.flatMap((b) => [...b.lengths]);
          expect(lengths).toEqual(expected);
          let offset = 0;
          const limit = batchBytes ?? 8 << 20;
          batches.forEach((b, i) => {
            expect(b.lengths.reduce((s, l) => s + l, 0)).toBe(b.data.length);
            expect(Buffer.from(b.data).equals(data.subarray(offset, offset + b.data.length))).toBe(true);
            if (i < batches.length - 1) expect(b.data.length).toBeGreaterThanOrEqual(limit);
            expect(b.data.length).toBeLessThanOrEqual(limit + p.maxSize);
            expect(b.data.buffer.byteLength).toBeLessThanOrEqual(b.data.length + (b.data.length >>> 3));
            offset += b.data.length;
          });
          expect(offset).toBe(data.length);
          const buffers = new Set(batches.map((b) => b.data.buffer));
          expect(buffers.size).toBe(batches.length); // each batch owns a distinct buffer
        }
      });
    }

    it('yields nothing for an empty input', async () => {
      expect(await collect(pieces(new Uint8Array(0), 1), params(64, 256, 1024), impl)).toEqual([]);
      async function* empties(): AsyncGenerator<Uint8Array> {
        yield new Uint8Array(0);
        yield new Uint8Array(0);
      }
      expect(await collect(empties(), params(64, 256, 1024), impl)).toEqual([]);
    });

    it('covers every byte of [], [0;10], [0;50000]', async () => {
      for (const size of [0, 10, 50000]) {
        const input = new Uint8Array(size);
        const p = params(64, 256, 1024);
        const streamed = (await collect(pieces(input, size), p, impl, 4096)).flatMap((b) => [...b.lengths]);
        const oneShot = chunkBuffer(input, createCutter(p, impl));
        expect(streamed).toEqual(oneShot);
        expect(oneShot.every((l) => l > 0)).toBe(true);
        expect(oneShot.reduce((s, l) => s + l, 0)).toBe(size);
      }
    });

    it('rejects a bad batch size', async () => {
      const gen = chunkBatches(pieces(data, 1), createCutter(params(64, 256, 1024), impl), 0);
      await expect(gen.next()).rejects.toThrow(RangeError);
    });
  });
}
