/**
 * Tests of the FastCDC scanners (wasm and js) against the fastcdc-rs vectors,
 * the masks table, parameter validation and wasm/js agreement on random data.
 *
 * Fixtures: /work/main/../shared/fixtures/fastcdc (resolved from this file).
 * When absent the fixture tests are skipped, unless CI=true, where they fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { createCutter, type Cutter } from './cutter.js';
import { MASKS, gearTables, logarithm2, masksFor } from './gear.js';
import { validateChunkerParams, type ChunkerParams } from './params.js';

const FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/fastcdc');
const HAVE_FIXTURES = existsSync(resolve(FIXTURE_DIR, 'vectors.json'));

/** `it` for fixture tests: skipped with a message when ../shared is absent, failing when CI=true. */
function fixtureIt(name: string, fn: () => void): void {
  if (HAVE_FIXTURES) it(name, fn);
  else if (process.env['CI'] === 'true') {
    it(name, () => {
      throw new Error(`shared FastCDC fixtures are required when CI=true, but ${FIXTURE_DIR} is absent`);
    });
  } else it.skip(`${name} [skipped: ../shared fixtures absent at ${FIXTURE_DIR}]`, fn);
}

interface VectorCase {
  algorithm: 'v2016' | 'v2020';
  min: number;
  avg: number;
  max: number;
  level: number;
  seed: number;
  chunks: [number, number, string][];
}
interface Vectors {
  cases: VectorCase[];
  blake3: { seed0: Record<string, string>; seed666: string[] };
  zeros: { min: number; avg: number; max: number; length: number; chunkLength: number; hash: string };
  masks: Record<string, string>;
}

const vectors: Vectors | undefined = HAVE_FIXTURES ? (JSON.parse(readFileSync(resolve(FIXTURE_DIR, 'vectors.json'), 'utf8')) as Vectors) : undefined;
const fixture: Uint8Array = HAVE_FIXTURES ? new Uint8Array(readFileSync(resolve(FIXTURE_DIR, 'SekienAkashita.jpg'))) : new Uint8Array(0);

function params(min: number, avg: number, max: number, level = 1, seed = 0n): ChunkerParams {
  return { minSize: min, avgSize: avg, maxSize: max, level, seed };
}

/** [offset, length, hash] of every chunk of `data` (eof = true). */
function chunksOf(cutter: Cutter, data: Uint8Array): [number, number, string][] {
  const r = cutter.cuts(data, true, true);
  const out: [number, number, string][] = [];
  let offset = 0;
  for (let i = 0; i < r.count; i++) {
    out.push([offset, r.lengths[i]!, String(r.hashes![i])]);
    offset += r.lengths[i]!;
  }
  return out;
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

const IMPLS = ['js', 'wasm'] as const;

for (const impl of IMPLS) {
  describe(`FastCDC ${impl} scanner vs fastcdc-rs vectors`, () => {
    it('reports its implementation', () => {
      expect(createCutter(params(4096, 16384, 65535), impl).impl).toBe(impl);
    });

    if (vectors === undefined) fixtureIt('every case of vectors.json', () => {});
    for (const c of vectors?.cases ?? []) {
      const name = `${c.algorithm} ${c.min}/${c.avg}/${c.max} level ${c.level} seed ${c.seed}`;
      fixtureIt(name, () => {
        const cutter = createCutter(params(c.min, c.avg, c.max, c.level, BigInt(c.seed)), impl);
        const got = chunksOf(cutter, fixture);
        if (c.algorithm === 'v2020') {
          expect(got).toEqual(c.chunks);
        } else {
          // v2016 cuts at the same offsets; its hashes differ at even cut positions
          expect(got.map(([o, l]) => [o, l])).toEqual(c.chunks.map(([o, l]) => [o, l]));
        }
      });
    }

    fixtureIt('BLAKE3 of the chunks, seed 0 (4096/16384/65535)', () => {
      const v = vectors!;
      const got: Record<string, string> = {};
      for (const [offset, length] of chunksOf(createCutter(params(4096, 16384, 65535), impl), fixture)) {
        got[String(offset)] = blake3(fixture.subarray(offset, offset + length)).toString('hex');
      }
      expect(got).toEqual(v.blake3.seed0);
    });

    fixtureIt('BLAKE3 of the chunks, seed 666', () => {
      const v = vectors!;
      const chunks = chunksOf(createCutter(params(4096, 16384, 65535, 1, 666n), impl), fixture);
      const got = chunks.map(([o, l]) => blake3(fixture.subarray(o, o + l)).toString('hex'));
      expect(got).toEqual(v.blake3.seed666);
    });

    fixtureIt('all zeros: ten max-size chunks with the reference hash', () => {
      const z = vectors!.zeros;
      const got = chunksOf(createCutter(params(z.min, z.avg, z.max), impl), new Uint8Array(z.length));
      expect(got).toEqual(Array.from({ length: z.length / z.chunkLength }, (_, i) => [i * z.chunkLength, z.chunkLength, z.hash]));
    });

    fixtureIt('fixture prefix and streaming tail rule (eof = false keeps undecided bytes)', () => {
      const cutter = createCutter(params(4096, 16384, 65535), impl);
      const r = cutter.cuts(fixture, false);
      const lengths = Array.from(r.lengths);
      // only chunks starting >= max (65535) bytes before the end are final
      expect(lengths).toEqual([21325, 17140, 28084]);
      expect(chunksOf(cutter, fixture.subarray(0, 4096))).toEqual([[0, 4096, '0']]);
    });

    it('eof = false emits a chunk only while >= maxSize bytes remain from its start', () => {
      const cutter = createCutter(params(64, 256, 1024), impl);
      // zeros never hit a mask: every decided chunk is exactly max
      expect(Array.from(cutter.cuts(new Uint8Array(3 * 1024 - 1), false).lengths)).toEqual([1024, 1024]);
      expect(Array.from(cutter.cuts(new Uint8Array(3 * 1024), false).lengths)).toEqual([1024, 1024, 1024]);
      expect(cutter.cuts(new Uint8Array(1023), false).count).toBe(0);
      expect(Array.from(cutter.cuts(new Uint8Array(1023), true).lengths)).toEqual([1023]);
      const data = randomBytes(200_000, 3);
      const all = Array.from(cutter.cuts(data, true).lengths);
      const partial = Array.from(cutter.cuts(data, false).lengths);
      expect(all.slice(0, partial.length)).toEqual(partial);
      expect(data.length - partial.reduce((s, l) => s + l, 0)).toBeLessThan(1024);
    });

    it('covers every byte of [], [0;10], [0;50000]', () => {
      const cutter = createCutter(params(64, 256, 1024), impl);
      for (const size of [0, 10, 50000]) {
        const r = cutter.cuts(new Uint8Array(size), true);
        let sum = 0;
        for (const len of r.lengths) {
          expect(len).toBeGreaterThan(0);
          sum += len;
        }
        expect(sum).toBe(size);
        expect(r.count).toBe(size === 0 ? 0 : Math.ceil(size / 1024));
      }
    });

    it('reuses a cutter with the same result as a fresh one', () => {
      const data = randomBytes(300_000, 7);
      const p = params(4096, 16384, 65535);
      const a = createCutter(p, impl);
      const first = chunksOf(a, data);
      a.cuts(randomBytes(1 << 20, 8), true, true);
      expect(chunksOf(a, data)).toEqual(first);
      expect(chunksOf(createCutter(p, impl), data)).toEqual(first);
    });
  });
}

describe('MASKS and mask selection', () => {
  fixtureIt('MASKS equals the vectors table', () => {
    for (const [idx, hex] of Object.entries(vectors!.masks)) {
      if (!/^\d+$/.test(idx)) continue;
      expect(MASKS[Number(idx)]).toBe(BigInt(hex));
    }
    expect(MASKS.length).toBe(26);
  });

  it('selects masks like fastcdc-rs test_masks', () => {
    const pick = (min: number, avg: number, max: number): [number, number] => {
      validateChunkerParams(params(min, avg, max));
      const m = masksFor(params(min, avg, max));
      expect(m.maskS).toBe(MASKS[m.bitsS]);
      expect(m.maskL).toBe(MASKS[m.bitsL]);
      expect(m.maskSLs).toBe(m.maskS << 1n);
      return [m.bitsL, m.bitsS];
    };
    expect(pick(64, 256, 1024)).toEqual([7, 9]);
    expect(pick(8192, 16384, 32768)).toEqual([13, 15]);
    expect(pick(1 << 20, 4 << 20, 16 << 20)).toEqual([21, 23]);
  });

  it('uses a rounded logarithm2', () => {
    expect(logarithm2(1500)).toBe(11);
    expect(logarithm2(12288)).toBe(14);
    expect(logarithm2(24576)).toBe(15);
    expect(logarithm2(1100)).toBe(10);
    expect(logarithm2(65536)).toBe(16);
  });

  it('generates GEAR / GEAR_LS from the MD5 recipe, seeded by XOR', () => {
    const { gear, gearLs } = gearTables(0n);
    expect(gear[0]).toBe(0x3b5d3c7d207e37dcn);
    expect(gear[1]).toBe(0x784d68ba91123086n);
    expect(gear[2]).toBe(0xcd52880f882e7298n);
    expect(gear[255]).toBe(0xaabd2b2a451504e1n);
    expect(gearLs[0]).toBe(0x76ba78fa40fc6fb8n);
    const seeded = gearTables(666n);
    expect(seeded.gear[0]).toBe(0x3b5d3c7d207e37dcn ^ 666n);
    expect(seeded.gearLs[0]).toBe(0x76ba78fa40fc6fb8n ^ (666n << 1n));
  });
});

describe('chunker parameter validation', () => {
  const valid = params(4096, 16384, 65535);
  const bad: [string, ChunkerParams][] = [
    ['min below 64', { ...valid, minSize: 63 }],
    ['min above 1 MiB', params((1 << 20) + 1, 4 << 20, 16 << 20)],
    ['avg below 256', params(64, 255, 1024)],
    ['avg above 4 MiB', params(4096, (4 << 20) + 1, 16 << 20)],
    ['max below 1 KiB', params(64, 256, 1023)],
    ['max above 16 MiB', params(4096, 65536, (16 << 20) + 1)],
    ['min > avg', params(32768, 16384, 65536)],
    ['avg > max', params(4096, 65536, 32768)],
    ['non-integer size', { ...valid, avgSize: 16384.5 }],
    ['NaN size', { ...valid, maxSize: Number.NaN }],
    ['level 4', { ...valid, level: 4 }],
    ['level -1', { ...valid, level: -1 }],
    ['negative seed', { ...valid, seed: -1n }],
    ['seed >= 2^64', { ...valid, seed: 1n << 64n }],
    ['number seed', { ...valid, seed: 5 as unknown as bigint }],
  ];
  for (const [name, p] of bad) {
    it(`rejects ${name} with INVALID_ARGUMENT`, () => {
      let caught: unknown;
      try {
        validateChunkerParams(p);
      } catch (err) {
        caught = err;
      }
      expect(isStowageError(caught, 'INVALID_ARGUMENT')).toBe(true);
      for (const impl of ['js', 'wasm', 'auto'] as const) {
        expect(() => createCutter(p, impl)).toThrow(/chunker/);
      }
    });
  }

  it('accepts the bounds', () => {
    expect(() => validateChunkerParams(params(64, 256, 1024, 0, 0n))).not.toThrow();
    expect(() => validateChunkerParams(params(1 << 20, 4 << 20, 16 << 20, 3, (1n << 64n) - 1n))).not.toThrow();
  });
});

describe('wasm and js agree', () => {
  const sets: ChunkerParams[] = [
    params(64, 256, 1024, 1),
    params(65, 300, 1100, 3), // odd min / non-power-of-two sizes
    params(2048, 8192, 65536, 0, 0x0123456789abcdefn),
    params(4096, 16384, 65535, 2, 666n),
    params(16384, 65536, 262144, 1),
    params(262144, 1 << 20, 4 << 20, 1, (1n << 64n) - 1n),
    params(1 << 20, 4 << 20, 16 << 20, 3),
  ];
  const random = randomBytes(8 << 20, 12345);
  // low-entropy data: runs of zeros and a short repeated pattern, forcing max-size cuts
  const lowEntropy = new Uint8Array(3 << 20);
  for (let i = 1 << 20; i < 2 << 20; i++) lowEntropy[i] = (i % 7) * 31;
  lowEntropy.set(randomBytes(1 << 20, 99), 2 << 20);

  for (const p of sets) {
    it(`${p.minSize}/${p.avgSize}/${p.maxSize} level ${p.level} seed ${p.seed}`, () => {
      const js = createCutter(p, 'js');
      const wasm = createCutter(p, 'wasm');
      const edges = [
        p.minSize - 1,
        p.minSize,
        p.minSize + 1,
        p.minSize + 2,
        p.minSize + 3,
        p.avgSize - 1,
        p.avgSize,
        p.avgSize + 1,
        p.maxSize - 1,
        p.maxSize,
        p.maxSize + 1,
        p.maxSize + 2,
        2 * p.maxSize + 1,
      ];
      for (const data of [random, lowEntropy, ...edges.map((n) => random.subarray(0, n)), ...edges.map((n) => lowEntropy.subarray(0, n))]) {
        for (const eof of [true, false]) {
          const a = js.cuts(data, eof, true);
          const aLengths = Array.from(a.lengths);
          const aHashes = Array.from(a.hashes!);
          const b = wasm.cuts(data, eof, true);
          expect(Array.from(b.lengths)).toEqual(aLengths);
          expect(Array.from(b.hashes!)).toEqual(aHashes);
          expect(wasm.cuts(data, eof).hashes).toBeUndefined();
        }
      }
    });
  }
});
