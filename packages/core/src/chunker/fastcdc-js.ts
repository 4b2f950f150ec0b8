/**
 * FastCDC v2020 scanner in plain JavaScript (fallback for the wasm scanner).
 *
 * Owns: the JS hot loop and the gear-hash reconstruction for reported hashes.
 *
 * The 64-bit gear hash is kept as two int32 values without BigInt: `lo` holds
 * bits 0..23 and `hi` bits 24..55. Every mask lies below bit 49, and bits of a
 * shift-and-add hash only ever influence higher bits, so these 56 bits decide
 * every cut exactly as the full 64-bit hash does. The 24-bit split makes the
 * carry a plain `lo >>> 24` (no unsigned compare), ~4x faster than a 32/32 split.
 * The full 64-bit hash at a cut (only when asked for) is recomputed from the
 * last <= 64 bytes, since older bytes have been shifted out of it.
 */
import type { CutResult, Cutter } from './scanner.js';
import { gearTables, masksFor } from './gear.js';
import type { ChunkerParams } from './params.js';

const U64 = (1n << 64n) - 1n;

/** Scanner state with a fixed shape (monomorphic for the optimizer). */
interface Kernel {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly gLo: Int32Array;
  readonly gHi: Int32Array;
  readonly lsLo: Int32Array;
  readonly lsHi: Int32Array;
  readonly msLo: number;
  readonly msHi: number;
  readonly mlLo: number;
  readonly mlHi: number;
  readonly mslsLo: number;
  readonly mslsHi: number;
  readonly mllsLo: number;
  readonly mllsHi: number;
}

const lo24 = (v: bigint): number => Number(v & 0xffffffn);
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 24n));

function splitTable(table: BigUint64Array): [Int32Array, Int32Array] {
  const lo = new Int32Array(256);
  const hi = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const v = table[i] ?? 0n;
    lo[i] = lo24(v);
    hi[i] = hi32(v);
  }
  return [lo, hi];
}

function makeKernel(p: ChunkerParams): Kernel {
  const { gear, gearLs } = gearTables(p.seed);
  const m = masksFor(p);
  const [gLo, gHi] = splitTable(gear);
  const [lsLo, lsHi] = splitTable(gearLs);
  return {
    min: p.minSize,
    avg: p.avgSize,
    max: p.maxSize,
    gLo,
    gHi,
    lsLo,
    lsHi,
    msLo: lo24(m.maskS),
    msHi: hi32(m.maskS),
    mlLo: lo24(m.maskL),
    mlHi: hi32(m.maskL),
    mslsLo: lo24(m.maskSLs),
    mslsHi: hi32(m.maskSLs),
    mllsLo: lo24(m.maskLLs),
    mllsHi: hi32(m.maskLLs),
  };
}

/** fastcdc-rs v2020 `cut()` on data[pos, pos+len): returns the chunk length. */
function cutLength(data: Uint8Array, pos: number, len: number, k: Kernel): number {
  let rem = len;
  if (rem <= k.min) return rem;
  let center = k.avg;
  if (rem > k.max) rem = k.max;
  else if (rem < center) center = rem;
  const gLo = k.gLo,
    gHi = k.gHi,
    lsLo = k.lsLo,
    lsHi = k.lsHi;
  let lo = 0;
  let hi = 0;
  let a = pos + (k.min & ~1);
  let stop = pos + (center & ~1);
  // `lo &= 0xffffff` keeps bits 0..23; a literal, since a module-level const costs a TDZ check per use.
  // pairs [min/2, center/2) against the strict masks
  const sLsLo = k.mslsLo,
    sLsHi = k.mslsHi,
    sLo = k.msLo,
    sHi = k.msHi;
  for (; a < stop; a += 2) {
    let b = data[a]!;
    lo = (lo << 2) + lsLo[b]!;
    hi = ((hi << 2) + lsHi[b]! + (lo >>> 24)) | 0;
    lo &= 0xffffff;
    if (((lo & sLsLo) | (hi & sLsHi)) === 0) return a - pos;
    b = data[a + 1]!;
    lo = lo + gLo[b]!;
    hi = (hi + gHi[b]! + (lo >>> 24)) | 0;
    lo &= 0xffffff;
    if (((lo & sLo) | (hi & sHi)) === 0) return a + 1 - pos;
  }
  // then up to remaining/2 against the loose masks (same body; duplicated for speed)
  stop = pos + (rem & ~1);
  const lLsLo = k.mllsLo,
    lLsHi = k.mllsHi,
    lLo = k.mlLo,
    lHi = k.mlHi;
  for (; a < stop; a += 2) {
    let b = data[a]!;
    lo = (lo << 2) + lsLo[b]!;
    hi = ((hi << 2) + lsHi[b]! + (lo >>> 24)) | 0;
    lo &= 0xffffff;
    if (((lo & lLsLo) | (hi & lLsHi)) === 0) return a - pos;
    b = data[a + 1]!;
    lo = lo + gLo[b]!;
    hi = (hi + gHi[b]! + (lo >>> 24)) | 0;
    lo &= 0xffffff;
    if (((lo & lLo) | (hi & lHi)) === 0) return a + 1 - pos;
  }
  return rem;
}

/**
 * The 64-bit gear hash fastcdc-rs v2020 reports for the chunk data[pos, pos+len)
 * found by `cutLength` from a remaining length `avail`.
 */
function reportedHash(data: Uint8Array, pos: number, len: number, avail: number, p: ChunkerParams, gear: BigUint64Array): bigint {
  if (avail <= p.minSize) return 0n;
  const first = pos + (p.minSize & ~1);
  const rem = Math.min(avail, p.maxSize);
  let last: number; // last byte folded into the hash
  let shift = 0n;
  if (len === rem) {
    last = pos + (rem & ~1) - 1; // fallback: hash after the last full pair
    if (last < first) return 0n;
  } else {
    last = pos + len;
    if ((len & 1) === 0) shift = 1n; // cut after the GEAR_LS step: v2020 reports h << 1
  }
  let h = 0n;
  for (let j = Math.max(first, last - 63); j <= last; j++) {
    h = ((h << 1n) + (gear[data[j]!] ?? 0n)) & U64;
  }
  return (h << shift) & U64;
}

class JsCutter implements Cutter {
  readonly impl = 'js' as const;
  readonly params: ChunkerParams;
  readonly #kernel: Kernel;
  readonly #gear: BigUint64Array;
  #lengths = new Uint32Array(64);
  #hashes = new BigUint64Array(0);

  constructor(params: ChunkerParams) {
    this.params = params;
    this.#kernel = makeKernel(params);
    this.#gear = gearTables(params.seed).gear;
  }

  cuts(data: Uint8Array, eof: boolean, wantHashes = false): CutResult {
    const k = this.#kernel;
    const n = data.length;
    let lengths = this.#lengths;
    let hashes = this.#hashes;
    let pos = 0;
    let count = 0;
    while (pos < n) {
      const avail = n - pos;
      if (!eof && avail < k.max) break;
      const len = cutLength(data, pos, avail, k);
      if (count === lengths.length) {
        const grown = new Uint32Array(lengths.length * 2);
        grown.set(lengths);
        lengths = this.#lengths = grown;
      }
      lengths[count] = len;
      if (wantHashes) {
        if (count >= hashes.length) {
          const grown = new BigUint64Array(Math.max(64, lengths.length));
          grown.set(hashes);
          hashes = this.#hashes = grown;
        }
        hashes[count] = reportedHash(data, pos, len, avail, this.params, this.#gear);
      }
      count++;
      pos += len;
    }
    return {
      count,
      lengths: lengths.subarray(0, count),
      hashes: wantHashes ? hashes.subarray(0, count) : undefined,
    };
  }
}

/** A plain-JS FastCDC v2020 Cutter for already validated params. */
export function createJsCutter(params: ChunkerParams): Cutter {
  return new JsCutter(params);
}
