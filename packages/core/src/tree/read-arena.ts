/**
 * Memory for the bytes of small files read whole and fed in batches (a tree snapshot's
 * tiny files), reused from batch to batch instead of a fresh Buffer per file.
 *
 * A file's bytes are read into room() of the current buffer and kept with commit(); a batch
 * takes the buffers it used with seal() and calls the returned release once its bytes are
 * no longer needed (the content writer copied them). A buffer is used again once every
 * batch that holds a part of it released it. A Buffer per file came from node's 8 KiB pool:
 * about 150,000 slabs per million small files, each freed only at the major collection
 * after the one that saw it dead (its views lived through young collections), so tens of MB
 * of them waited in malloc's arena (issue 11, peak RSS of a tree of 1 million files).
 */

interface Held {
  readonly buf: Buffer;
  /** Bytes used from the start. */
  pos: number;
  /** Sealed batches holding a part of it. */
  refs: number;
}

export class ReadArena {
  private current: Held | undefined;
  /** Buffers with bytes committed since the last seal. */
  private touched: Held[] = [];
  private free: Held[] = [];
  /** Buffers allocated so far (tests). */
  allocated = 0;

  constructor(
    /** Bytes of each buffer: a larger room is not served (undefined). */
    readonly bufferBytes = 256 * 1024,
    /** Free buffers kept at most. */
    private readonly keepFree = 16,
  ) {}

  /**
   * `n` bytes to read into (their contents are undefined), in the current buffer or a
   * new one; undefined when `n` exceeds a buffer. Only the bytes commit() keeps are held.
   */
  room(n: number): Buffer | undefined {
    if (n > this.bufferBytes) return undefined;
    let c = this.current;
    if (c === undefined || c.pos + n > c.buf.length) {
      if (c !== undefined) this.retire(c);
      c = this.current = this.free.pop() ?? this.fresh();
    }
    return c.buf.subarray(c.pos, c.pos + n);
  }

  /** Keeps the first `n` bytes of the last room() (for the next seal). */
  commit(n: number): void {
    const c = this.current;
    if (c === undefined || n === 0) return;
    c.pos += n;
    if (this.touched[this.touched.length - 1] !== c) this.touched.push(c);
  }

  /** The bytes committed since the last seal go to one batch: call the result once it no longer needs them. */
  seal(): () => void {
    const held = this.touched;
    this.touched = [];
    for (const h of held) h.refs++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const h of held) if (--h.refs === 0 && h !== this.current && !this.touched.includes(h)) this.reuse(h);
    };
  }

  /** A buffer that is no longer current: free once no batch holds it. */
  private retire(h: Held): void {
    if (h.refs === 0 && !this.touched.includes(h)) this.reuse(h);
  }

  private reuse(h: Held): void {
    h.pos = 0;
    if (this.free.length < this.keepFree) this.free.push(h);
  }

  private fresh(): Held {
    this.allocated++;
    return { buf: Buffer.allocUnsafeSlow(this.bufferBytes), pos: 0, refs: 0 };
  }
}
