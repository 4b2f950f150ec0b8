/**
 * FastCDC gear tables and normalization masks, bit-for-bit as in fastcdc-rs v2020.
 *
 * Owns: GEAR / GEAR_LS generation (GEAR[i] = first 8 bytes big-endian of
 * MD5(64 bytes all equal to i), GEAR_LS[i] = GEAR[i] << 1 mod 2^64; seeded:
 * GEAR[i] ^= seed, GEAR_LS[i] ^= seed << 1), the MASKS table, the rounded
 * logarithm2 and the mask selection for a parameter set. Shared by both scanners.
 */
import { createHash } from 'node:crypto';
import type { ChunkerParams } from './params.js';

const U64 = (1n << 64n) - 1n;

/**
 * fastcdc-rs `MASKS`, indexed by the number of bits (entries 0..4 are padding;
 * 5 and 25 are reachable only at normalization level 3).
 */
export const MASKS: readonly bigint[] = Object.freeze([
  0n,
  0n,
  0n,
  0n,
  0n,
  0x0000000001804110n, // 5 (NC3 only)
  0x0000000001803110n, // 6  64 B
  0x0000000018035100n, // 7  128 B
  0x0000001800035300n, // 8  256 B
  0x0000019000353000n, // 9  512 B
  0x0000590003530000n, // 10 1 KiB
  0x0000d90003530000n, // 11 2 KiB
  0x0000d90103530000n, // 12 4 KiB
  0x0000d90303530000n, // 13 8 KiB
  0x0000d90313530000n, // 14 16 KiB
  0x0000d90f03530000n, // 15 32 KiB
  0x0000d90303537000n, // 16 64 KiB
  0x0000d90703537000n, // 17 128 KiB
  0x0000d90707537000n, // 18 256 KiB
  0x0000d91707537000n, // 19 512 KiB
  0x0000d91747537000n, // 20 1 MiB
  0x0000d91767537000n, // 21 2 MiB
  0x0000d93767537000n, // 22 4 MiB
  0x0000d93777537000n, // 23 8 MiB
  0x0000d93777577000n, // 24 16 MiB
  0x0000db3777577000n, // 25 (NC3 only)
]);

/** round(log2(value)), as fastcdc-rs `logarithm2` (rounded, not floored: 1500 -> 11, 12288 -> 14). */
export function logarithm2(value: number): number {
  return Math.round(Math.log2(value));
}

/** The four masks a v2020 scanner tests against. */
export interface ChunkerMasks {
  /** Stricter mask used before the average size: MASKS[bits + level]. */
  readonly maskS: bigint;
  /** Looser mask used after the average size: MASKS[bits - level]. */
  readonly maskL: bigint;
  /** maskS << 1 (tested after the two-byte step). */
  readonly maskSLs: bigint;
  /** maskL << 1. */
  readonly maskLLs: bigint;
  /** The indices into MASKS used for maskS and maskL. */
  readonly bitsS: number;
  readonly bitsL: number;
}

/** Masks for validated params (bits = logarithm2(avgSize); s = bits + level, l = bits - level). */
export function masksFor(params: Pick<ChunkerParams, 'avgSize' | 'level'>): ChunkerMasks {
  const bits = logarithm2(params.avgSize);
  const bitsS = bits + params.level;
  const bitsL = bits - params.level;
  const maskS = MASKS[bitsS];
  const maskL = MASKS[bitsL];
  if (maskS === undefined || maskL === undefined || bitsL < 5) {
    throw new RangeError(`no FastCDC mask for avgSize ${params.avgSize} at level ${params.level}`);
  }
  return { maskS, maskL, maskSLs: (maskS << 1n) & U64, maskLLs: (maskL << 1n) & U64, bitsS, bitsL };
}

/** The 256-entry gear tables as unsigned 64-bit values. Treat as read-only (they are cached). */
export interface GearTables {
  readonly gear: BigUint64Array;
  readonly gearLs: BigUint64Array;
}

let baseGear: BigUint64Array | undefined;
const cache = new Map<bigint, GearTables>();

function computeBaseGear(): BigUint64Array {
  const out = new BigUint64Array(256);
  const input = Buffer.alloc(64);
  for (let i = 0; i < 256; i++) {
    input.fill(i);
    out[i] = createHash('md5').update(input).digest().readBigUInt64BE(0);
  }
  return out;
}

/** GEAR and GEAR_LS for a seed (0n = the reference tables). Results are cached per seed. */
export function gearTables(seed: bigint = 0n): GearTables {
  const hit = cache.get(seed);
  if (hit !== undefined) return hit;
  baseGear ??= computeBaseGear();
  const gear = new BigUint64Array(256);
  const gearLs = new BigUint64Array(256);
  const seedLs = (seed << 1n) & U64;
  for (let i = 0; i < 256; i++) {
    const g = baseGear[i] ?? 0n;
    gear[i] = g ^ seed;
    gearLs[i] = ((g << 1n) & U64) ^ seedLs;
  }
  const tables: GearTables = { gear, gearLs };
  if (cache.size >= 16) cache.clear();
  cache.set(seed, tables);
  return tables;
}
