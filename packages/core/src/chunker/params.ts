/**
 * FastCDC chunker parameters and their validation.
 *
 * Owns: the `ChunkerParams` shape and the bounds check. The bounds are the
 * ones fastcdc-rs (v2020) asserts, so every valid parameter set here is one the
 * reference crate accepts and produces the same cut points for.
 */
import { StowageError } from '../errors.js';

/** Parameters of a FastCDC (v2020, fastcdc-rs compatible) chunker. Sizes are in bytes. */
export interface ChunkerParams {
  /** No cut is made before this many bytes (the final chunk of a stream may be shorter). 64..1 MiB. */
  readonly minSize: number;
  /** Target average chunk size; selects the masks via round(log2(avgSize)). 256..4 MiB. */
  readonly avgSize: number;
  /** A chunk is cut at this length if no content-defined cut point was found. 1 KiB..16 MiB. */
  readonly maxSize: number;
  /** Normalization level (NC) 0..3; fastcdc-rs's default is 1. */
  readonly level: number;
  /** Gear table seed, 0..2^64-1 (0 = the unseeded reference tables). */
  readonly seed: bigint;
}

/** fastcdc-rs MINIMUM_MIN / MINIMUM_MAX. */
export const MIN_SIZE_LOWER = 64;
export const MIN_SIZE_UPPER = 1 << 20;
/** fastcdc-rs AVERAGE_MIN / AVERAGE_MAX. */
export const AVG_SIZE_LOWER = 256;
export const AVG_SIZE_UPPER = 4 << 20;
/** fastcdc-rs MAXIMUM_MIN / MAXIMUM_MAX. */
export const MAX_SIZE_LOWER = 1024;
export const MAX_SIZE_UPPER = 16 << 20;

const U64_MAX = (1n << 64n) - 1n;

function checkInt(name: string, value: unknown, lo: number, hi: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    throw new StowageError('INVALID_ARGUMENT', `chunker ${name} must be an integer in [${lo}, ${hi}], got ${String(value)}`);
  }
}

/**
 * Throws StowageError('INVALID_ARGUMENT') unless `p` is within the fastcdc-rs
 * bounds: minSize 64..1 MiB, avgSize 256..4 MiB, maxSize 1 KiB..16 MiB,
 * minSize <= avgSize <= maxSize, level 0..3, seed a bigint in 0..2^64-1.
 */
export function validateChunkerParams(p: ChunkerParams): void {
  checkInt('minSize', p.minSize, MIN_SIZE_LOWER, MIN_SIZE_UPPER);
  checkInt('avgSize', p.avgSize, AVG_SIZE_LOWER, AVG_SIZE_UPPER);
  checkInt('maxSize', p.maxSize, MAX_SIZE_LOWER, MAX_SIZE_UPPER);
  checkInt('level', p.level, 0, 3);
  if (p.minSize > p.avgSize || p.avgSize > p.maxSize) {
    throw new StowageError('INVALID_ARGUMENT', `chunker sizes must satisfy minSize <= avgSize <= maxSize, got ${p.minSize} / ${p.avgSize} / ${p.maxSize}`);
  }
  if (typeof p.seed !== 'bigint' || p.seed < 0n || p.seed > U64_MAX) {
    throw new StowageError('INVALID_ARGUMENT', `chunker seed must be a bigint in [0, 2^64-1], got ${String(p.seed)}`);
  }
}
