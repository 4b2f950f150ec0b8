/**
 * A stream of bytes gathered from many places of the input (small files, tar
 * headers) and stored as blobs cut by a policy: content-defined (FastCDC, so the
 * same run of small files gives the same blobs in another layer or version) or
 * fixed (glue: close a blob at a size). The input's extents become slices of
 * these blobs: `append` returns where the bytes went in the stream, and once blobs
 * covering that range are cut, `resolve` maps the range to (blob, offset, length).
 */
import type { Cutter } from '../chunker/index.js';
import { BufferPool } from '../util/buffer-pool.js';
import { copyBytes } from '../util/copy-bytes.js';

export interface CutBlob {
  /** Stream offset of the blob's first byte. */
  readonly start: number;
  readonly bytes: Uint8Array;
  readonly id: Buffer;
}

export class SliceStream {
  /** Bytes appended so far (stream offset of the next byte). */
  pos = 0;
  /** Bytes of the stream already cut into blobs. */
  cutUpTo = 0;
  private buf: Uint8Array = new Uint8Array(0);
  /** The bytes not cut yet: buf[from, from + len). Before `from`: cut blobs, possibly still in use. */
  private from = 0;
  private len = 0;
  /** The stream's buffers: a cut blob's bytes are views of them until `recycle`. */
  private readonly pool = new BufferPool();
  /** Blobs cut and not yet fully consumed by resolve(). */
  private readonly blobs: { start: number; end: number; id: Buffer }[] = [];

  /**
   * `cutter`: content-defined cuts; undefined: fixed blobs of `fixedBytes`.
   * `onBlob` receives each new blob; its bytes are a view of the stream's memory, valid
   * until `recycle` is called.
   */
  constructor(
    private readonly cutter: Cutter | undefined,
    private readonly fixedBytes: number,
    private readonly idOf: (d: Uint8Array) => Buffer,
    private readonly onBlob: (b: CutBlob) => void,
  ) {}

  /** Appends a copy of `bytes`; returns its stream offset. Cuts the blobs that are decided. */
  append(bytes: Uint8Array): number {
    const at = this.pos;
    if (this.from + this.len + bytes.length > this.buf.length) {
      // the cut blobs before `from` may still be in use: continue in another buffer
      const next = this.pool.take(Math.max(this.buf.length, this.len + bytes.length));
      copyBytes(next, this.buf.subarray(this.from, this.from + this.len));
      this.buf = next;
      this.from = 0;
    }
    copyBytes(this.buf, bytes, this.from + this.len); // bytes: usually a view of a shared read slot
    this.len += bytes.length;
    this.pos += bytes.length;
    // nothing can be decided below one maximum chunk (content-defined) or the fixed size
    if (this.len >= (this.cutter ? this.cutter.params.maxSize : this.fixedBytes)) this.cut(false);
    return at;
  }

  /** Cuts everything appended so far into blobs (a flush point: layer end, input end). */
  flush(): void {
    this.cut(true);
  }

  /**
   * The consumer is done with the bytes of every blob handed out so far (the write session
   * copied them): the stream's memory is reused from here on.
   */
  recycle(): void {
    this.pool.recycle(this.buf);
    if (this.from > 0) {
      this.buf.copyWithin(0, this.from, this.from + this.len);
      this.from = 0;
    }
  }

  /** Buffers the stream allocated so far (tests: memory is reused, not allocated per cut). */
  get allocations(): number {
    return this.pool.allocated;
  }

  /**
   * Maps stream range [start, start + length) to blob slices, if every byte of it is in
   * a cut blob; undefined otherwise. Ranges must be resolved in stream order.
   */
  resolve(start: number, length: number): { id: Buffer; offset: number; length: number }[] | undefined {
    if (start + length > this.cutUpTo) return undefined;
    const out: { id: Buffer; offset: number; length: number }[] = [];
    let p = start;
    const end = start + length;
    while (p < end) {
      const b = this.blobs[0]!;
      if (p >= b.end) {
        this.blobs.shift();
        continue;
      }
      const n = Math.min(end, b.end) - p;
      out.push({ id: b.id, offset: p - b.start, length: n });
      p += n;
    }
    return out;
  }

  private cut(final: boolean): void {
    if (this.len === 0) return;
    let lengths: ArrayLike<number>;
    let count: number;
    if (this.cutter) {
      const r = this.cutter.cuts(this.buf.subarray(this.from, this.from + this.len), final);
      lengths = r.lengths;
      count = r.count;
    } else {
      if (!final && this.len < this.fixedBytes) return;
      lengths = [this.len];
      count = 1;
    }
    if (count === 0) return;
    const data = this.buf;
    let off = this.from;
    for (let i = 0; i < count; i++) {
      const n = lengths[i]!;
      const bytes = data.subarray(off, off + n);
      const id = this.idOf(bytes);
      this.blobs.push({ start: this.cutUpTo, end: this.cutUpTo + n, id });
      this.onBlob({ start: this.cutUpTo, bytes, id });
      this.cutUpTo += n;
      off += n;
    }
    // the cut blobs' bytes stay with their consumer until recycle: the rest follows them
    this.len -= off - this.from;
    this.from = off;
  }
}
