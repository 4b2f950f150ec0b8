/**
 * SHA-256 whose state is ours (over the SHA-NI compression addon, @stowage/sha256-pair), so
 * that two hashes running over the same bytes can be fed in one pass: `Sha256.pair(whole,
 * part, bytes)` runs each 64-byte block through both chaining states at once, with one
 * message schedule (sha256_pair.c). A restore hashes every byte of an image layer twice, for
 * the whole output's recorded sha256 and for the layer's digest; paired, that costs about
 * 1 / 1.45 of two passes (1.36-1.40 GB/s for one state, 0.99-1.01 GB/s for two on this
 * project's Xeon). The digests are plain SHA-256: the pairing changes only how the blocks are
 * scheduled, never what is hashed (the tests check every result against node:crypto).
 *
 * `pairedSha256()` is false when the addon is not built or the CPU lacks SHA-NI; then nothing
 * here may be used and callers hash with node:crypto.
 */
import { createRequire } from 'node:module';

type Addon = NonNullable<typeof import('@stowage/sha256-pair')>;

/** The addon, loaded on first use (only image restores need it: other commands' start-up does not pay for it, about 2 ms); null when not built or not supported. */
let loaded: Addon | null | undefined;
function load(): Addon | null {
  if (loaded === undefined) loaded = createRequire(import.meta.url)('@stowage/sha256-pair') as Addon | null;
  return loaded;
}

/** True when Sha256 and Sha256.pair can be used (the addon is built and the CPU has SHA-NI). */
export function pairedSha256(): boolean {
  return load() !== null;
}

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

function addon(): Addon {
  const native = load();
  if (!native) throw new Error('internal error: SHA-256 addon used without SHA-NI (check pairedSha256)');
  return native;
}

/** A running SHA-256 (same results as node:crypto's createHash('sha256')). */
export class Sha256 {
  /** H0..H7 */
  readonly state = Uint32Array.from(IV);
  /** The bytes of the block not yet full. */
  private readonly block = new Uint8Array(64);
  /** Bytes in `block`. */
  private held = 0;
  /** Bytes hashed so far (in all). */
  private total = 0;

  /** Bytes fed so far. */
  get length(): number {
    return this.total;
  }

  update(data: Uint8Array): this {
    const c = addon();
    let at = 0;
    if (this.held > 0) {
      at = Math.min(64 - this.held, data.length);
      this.block.set(data.subarray(0, at), this.held);
      this.held += at;
      if (this.held < 64) {
        this.total += at;
        return this;
      }
      c.compress(this.state, this.block);
      this.held = 0;
    }
    const whole = (data.length - at) & ~63;
    if (whole > 0) c.compress(this.state, data.subarray(at, at + whole));
    const rest = data.length - at - whole;
    if (rest > 0) this.block.set(data.subarray(at + whole), 0);
    this.held = rest;
    this.total += data.length;
    return this;
  }

  /** The digest of everything fed (hex); the hash must not be used afterwards. */
  digest(): string {
    const c = addon();
    const bits = this.total * 8;
    const b = this.block;
    b[this.held] = 0x80;
    b.fill(0, this.held + 1);
    if (this.held >= 56) {
      c.compress(this.state, b);
      b.fill(0);
    }
    const view = new DataView(b.buffer, b.byteOffset, 64);
    view.setUint32(56, Math.floor(bits / 2 ** 32));
    view.setUint32(60, bits >>> 0);
    c.compress(this.state, b);
    const out = Buffer.alloc(32);
    for (let i = 0; i < 8; i++) out.writeUInt32BE(this.state[i]!, i * 4);
    return out.toString('hex');
  }

  /**
   * Feeds `data` to both `a` and `b`, which must hold the same number of bytes of an unfinished
   * block (true of a stream's hash and of a range starting at a multiple of 64 in it); the
   * whole blocks go through both states in one pass.
   */
  static pair(a: Sha256, b: Sha256, data: Uint8Array): void {
    if (a.held !== b.held) throw new Error('internal error: paired SHA-256 states out of phase');
    let at = 0;
    if (a.held > 0) {
      at = Math.min(64 - a.held, data.length);
      a.update(data.subarray(0, at));
      b.update(data.subarray(0, at));
    }
    const whole = (data.length - at) & ~63;
    if (whole > 0) {
      addon().compress2(a.state, b.state, data.subarray(at, at + whole));
      a.total += whole;
      b.total += whole;
    }
    if (at + whole < data.length) {
      a.update(data.subarray(at + whole));
      b.update(data.subarray(at + whole));
    }
  }
}
