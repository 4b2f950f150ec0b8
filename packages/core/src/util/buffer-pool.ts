/**
 * Byte buffers lent out and taken back in rounds, instead of fresh memory per use.
 *
 * A user takes buffers (`take`), hands views of them on, and once every holder of those
 * views is done (for the object writer: the write session copied the chunks), calls
 * `recycle`: the buffers taken since become free and the next `take` reuses them. Memory
 * stays at what the largest round needed (at most `keepFree` spare buffers), with no garbage
 * and no zero-filling: a docker.tar snapshot allocated about 150 MB of fresh 0.25-2 MiB
 * buffers per version on the main thread for its carried chunk tails and slice streams,
 * garbage that V8 frees only at its next collection (issue 13, peak RSS).
 */
export class BufferPool {
  private free: Uint8Array[] = [];
  private lent: Uint8Array[] = [];
  /** Buffers allocated so far (not reused): for tests and diagnostics. */
  allocated = 0;

  constructor(
    /** Spare buffers kept after a recycle (the largest ones); the rest are dropped. Default: all. */
    private readonly keepFree = Infinity,
    /** Smallest buffer allocated; sizes are rounded up to a power of two from here. */
    private readonly minBytes = 64 * 1024,
  ) {}

  /** A buffer of at least `n` bytes (its contents are undefined), in use until the next recycle. */
  take(n: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) if (this.free[i]!.length >= n && (best < 0 || this.free[i]!.length < this.free[best]!.length)) best = i;
    let b: Uint8Array;
    if (best >= 0) b = this.free.splice(best, 1)[0]!;
    else {
      let size = this.minBytes;
      while (size < n) size *= 2;
      b = Buffer.allocUnsafeSlow(size);
      this.allocated++;
    }
    this.lent.push(b);
    return b;
  }

  /**
   * Every buffer taken since the last recycle is free again, except those whose memory
   * one of `keep` (views) still uses: they stay lent.
   */
  recycle(...keep: (Uint8Array | undefined)[]): void {
    const kept: Uint8Array[] = [];
    for (const b of this.lent) {
      if (keep.some((k) => k !== undefined && k.buffer === b.buffer)) kept.push(b);
      else this.free.push(b);
    }
    this.lent = kept;
    if (this.free.length > this.keepFree) this.free = this.free.sort((a, b) => b.length - a.length).slice(0, this.keepFree);
  }

  /** Bytes of the buffers held (lent and free). */
  get bytes(): number {
    let n = 0;
    for (const b of this.lent) n += b.length;
    for (const b of this.free) n += b.length;
    return n;
  }
}
