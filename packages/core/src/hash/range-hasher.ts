/**
 * Hashing byte ranges of a stream fed in order: the SHA-256 (or SHA-512) of every blob
 * whose digest an archive states (image layers, configs, OCI manifests), computed while
 * the stream goes past, compared with the stated digests at the end; or the BLAKE3 of a
 * range, to compare with what an earlier snapshot recorded of the same member.
 */
import { createHash } from 'node:crypto';
import { blake3Stream } from './blake3.js';
import { Sha256 } from './sha256-pair.js';

/** A running hash of one range. */
interface RunningHash {
  update(data: Uint8Array): void;
  hex(): string;
}

/** `sha256`, `sha512` or `blake3`: the algorithm a digest names. */
function algorithmOf(digest: string): 'sha256' | 'sha512' | 'blake3' {
  return digest.startsWith('sha512:') ? 'sha512' : digest.startsWith('blake3:') ? 'blake3' : 'sha256';
}

function startHash(alg: 'sha256' | 'sha512' | 'blake3'): RunningHash {
  if (alg === 'blake3') {
    const b = blake3Stream();
    return { update: (d) => b.update(d), hex: () => b.digestHex() };
  }
  const h = createHash(alg);
  return { update: (d) => void h.update(d), hex: () => h.digest('hex') };
}

/** A byte range of a stream with the digest its bytes must have. */
export interface DigestedRange {
  /** Path of the member in the archive (after following links). */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /**
   * `sha256:<hex>`, `sha512:<hex>` or `blake3:<hex>`. `blake3:` alone expects nothing: the
   * range's BLAKE3 comes back as a mismatch (its `actual`).
   */
  readonly digest: string;
  /** What it is, for messages: "layer sha256:...", "config sha256:...". */
  readonly what: string;
}

export interface DigestMismatch {
  /** "layer sha256:...", "config sha256:...", "manifest sha256:..." */
  readonly what: string;
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/**
 * Hashes byte ranges of a stream fed in order (`update` with each run of pieces and its stream offset).
 *
 * With `whole` (the SHA-256 of the whole stream, fed from the stream's first byte: pairedSha256
 * must be true), the hasher feeds it every byte too, and a SHA-256 range that starts at a
 * multiple of 64 (every tar member: 512-byte records) is hashed in the same pass as the whole
 * stream (Sha256.pair: one message schedule, two chaining states), not in a second pass over
 * its bytes. At most one range is paired at any byte: a range overlapping a paired one is
 * hashed on its own. The digests are the same either way.
 */
export class RangeHasher {
  private readonly rangesSorted: DigestedRange[];
  private readonly hashes: (RunningHash | undefined)[];
  private readonly fed: number[];
  /** Per range: its SHA-256 runs paired with `whole` (started at once, fed by update's pairing). */
  private readonly paired: (Sha256 | undefined)[];
  /** Index of the first range not yet wholly behind the stream position. */
  private first = 0;

  constructor(
    ranges: readonly DigestedRange[],
    private readonly whole?: Sha256,
  ) {
    this.rangesSorted = [...ranges].sort((a, b) => a.offset - b.offset);
    this.hashes = this.rangesSorted.map(() => undefined);
    this.fed = this.rangesSorted.map(() => 0);
    this.paired = this.rangesSorted.map(() => undefined);
    this.rangesSorted.forEach((r, i) => this.pairIfAble(r, i));
  }

  /** Makes range `i` (just placed) a paired one when it can be. */
  private pairIfAble(r: DigestedRange, i: number): void {
    if (!this.whole || r.offset % 64 !== 0 || r.length === 0 || algorithmOf(r.digest) !== 'sha256') return;
    const end = r.offset + r.length;
    const overlaps = this.rangesSorted.some((o, j) => j !== i && this.paired[j] && o.offset < end && r.offset < o.offset + o.length);
    if (overlaps) return;
    const h = new Sha256();
    this.paired[i] = h;
    this.hashes[i] = { update: (d) => void h.update(d), hex: () => h.digest() };
  }

  /** The ranges, in offset order (to hash them elsewhere, e.g. on a worker thread). */
  get ranges(): readonly DigestedRange[] {
    return this.rangesSorted;
  }

  get count(): number {
    return this.rangesSorted.length;
  }

  /** Bytes covered by the ranges (what the check costs to hash). */
  get bytes(): number {
    return this.rangesSorted.reduce((a, r) => a + r.length, 0);
  }

  /**
   * More ranges, found while the stream goes past (an archive member announced by its
   * header): each must start at or after every byte fed so far.
   */
  add(ranges: readonly DigestedRange[]): void {
    for (const r of ranges) {
      let i = this.rangesSorted.length;
      while (i > this.first && this.rangesSorted[i - 1]!.offset > r.offset) i--;
      this.rangesSorted.splice(i, 0, r);
      this.hashes.splice(i, 0, undefined);
      this.fed.splice(i, 0, 0);
      this.paired.splice(i, 0, undefined);
      this.pairIfAble(r, i);
    }
  }

  /** Feeds `pieces`, which start at stream offset `offset`. */
  update(pieces: readonly Uint8Array[], offset: number): void {
    let pos = offset;
    for (const p of pieces) {
      if (this.whole) this.wholeAndPaired(p, pos);
      this.piece(p, pos);
      pos += p.length;
    }
  }

  /** Feeds piece `p` (at stream offset `pos`) to `whole`, paired with the paired range at each byte. */
  private wholeAndPaired(p: Uint8Array, pos: number): void {
    const whole = this.whole!;
    if (whole.length !== pos) throw new Error(`internal error: stream hash at byte ${whole.length}, fed a piece at ${pos}`);
    const end = pos + p.length;
    let at = pos;
    let i = this.first;
    while (at < end) {
      // the next paired range not wholly behind `at`
      while (i < this.rangesSorted.length && (!this.paired[i] || this.rangesSorted[i]!.offset + this.rangesSorted[i]!.length <= at)) i++;
      const r = this.rangesSorted[i];
      if (!r || r.offset >= end) {
        whole.update(p.subarray(at - pos));
        return;
      }
      if (r.offset > at) {
        whole.update(p.subarray(at - pos, r.offset - pos));
        at = r.offset;
      }
      const to = Math.min(end, r.offset + r.length);
      Sha256.pair(whole, this.paired[i]!, p.subarray(at - pos, to - pos));
      this.fed[i]! += to - at;
      at = to;
    }
  }

  private piece(p: Uint8Array, pos: number): void {
    const end = pos + p.length;
    while (this.first < this.rangesSorted.length && this.rangesSorted[this.first]!.offset + this.rangesSorted[this.first]!.length <= pos) this.first++;
    for (let i = this.first; i < this.rangesSorted.length; i++) {
      const r = this.rangesSorted[i]!;
      if (r.offset >= end) break;
      if (this.paired[i]) continue;
      const from = Math.max(r.offset, pos);
      const to = Math.min(r.offset + r.length, end);
      if (to <= from) continue;
      let h = this.hashes[i];
      if (!h) this.hashes[i] = h = startHash(algorithmOf(r.digest));
      h.update(p.subarray(from - pos, to - pos));
      this.fed[i]! += to - from;
    }
  }

  /** The whole stream's hex SHA-256 (with `whole`); the hasher must not be fed afterwards. */
  wholeDigest(): string {
    if (!this.whole) throw new Error('internal error: no whole-stream hash');
    return this.whole.digest();
  }

  /** The ranges whose bytes do not hash to their digest (or were not all seen). */
  mismatches(): DigestMismatch[] {
    const out: DigestMismatch[] = [];
    this.rangesSorted.forEach((r, i) => {
      const alg = algorithmOf(r.digest);
      const h = this.hashes[i] ?? startHash(alg);
      const actual = this.fed[i] === r.length ? `${alg}:${h.hex()}` : `(only ${this.fed[i]} of ${r.length} bytes)`;
      if (actual !== r.digest) out.push({ what: r.what, path: r.path, expected: r.digest, actual });
    });
    return out;
  }
}
