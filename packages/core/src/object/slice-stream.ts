/**
 * A stream of bytes gathered from many places of the input (small files, tar
 * headers) and stored as blobs cut by a policy: content-defined (FastCDC, so the
 * same run of small files gives the same blobs in another layer or version) or
 * fixed (glue: close a blob at a size). The input's extents become slices of
 * these blobs: `append` returns where the bytes went in the stream, and once blobs
 * covering that range are cut, `resolve` maps the range to (blob, offset, length).
 */
import type { Cutter } from '../chunker/index.js';

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
  private len = 0;
  /** Blobs cut and not yet fully consumed by resolve(). */
  private readonly blobs: { start: number; end: number; id: Buffer }[] = [];

  /**
   * `cutter`: content-defined cuts; undefined: fixed blobs of `fixedBytes`.
   * `onBlob` receives each new blob (its bytes are valid until the next call on this stream).
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
    if (this.len + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + bytes.length, 64 * 1024));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
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
      const r = this.cutter.cuts(this.buf.subarray(0, this.len), final);
      lengths = r.lengths;
      count = r.count;
    } else {
      if (!final && this.len < this.fixedBytes) return;
      lengths = [this.len];
      count = 1;
    }
    if (count === 0) return;
    const data = this.buf;
    let off = 0;
    for (let i = 0; i < count; i++) {
      const n = lengths[i]!;
      const bytes = data.subarray(off, off + n);
      const id = this.idOf(bytes);
      this.blobs.push({ start: this.cutUpTo, end: this.cutUpTo + n, id });
      this.onBlob({ start: this.cutUpTo, bytes, id });
      this.cutUpTo += n;
      off += n;
    }
    // the cut blobs' bytes stay with their consumer: continue in a fresh buffer
    const rest = this.len - off;
    const next = new Uint8Array(Math.max(this.buf.length, 64 * 1024));
    next.set(data.subarray(off, this.len));
    this.buf = next;
    this.len = rest;
  }
}
