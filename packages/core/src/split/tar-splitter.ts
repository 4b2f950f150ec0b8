/**
 * Streaming tar splitter: cuts at the boundaries of each member's data, recursing
 * into members that are themselves uncompressed tars (image layers), so every file's
 * content is chunked on its own. Headers, PAX records, padding and the end-of-archive
 * blocks become 'glue'. Anything that does not parse as tar from some point on is
 * passed through as one content unit ("raw mode"): the split is always lossless.
 */
import type { ArchiveMember, SplitEvent, Splitter, TarHooks } from './events.js';
import { BLOCK, hasData, isMetaType, isZeroBlock, parseHeader, parsePax } from './tar-header.js';

/** Members at most this large whose names look like image metadata are captured for image facts. */
const CAPTURE_MAX = 1 << 20;
/** PAX extended headers larger than this are not parsed (their size override is ignored). */
const PAX_MAX = 1 << 20;
/** Members smaller than this are never sniffed as nested tars. */
const NESTED_MIN = 2 * BLOCK;
/** Leading bytes of a top-level member kept to recognise compressed data (layers). */
const MAGIC_BYTES = 6;
/** Nesting depth limit (an image archive holds layer tars; deeper tars are content). */
const MAX_DEPTH = 2;

type Mode = 'header' | 'ext' | 'meta' | 'sniff' | 'data' | 'nested' | 'reused' | 'pad' | 'trailer' | 'raw';

export class TarSplitter implements Splitter {
  private mode: Mode = 'header';
  private readonly block = new Uint8Array(BLOCK);
  private fill = 0;
  /** Bytes left in the current data / meta / padding / extension region. */
  private left = 0;
  private padAfter = 0;
  private paxSize: number | undefined;
  private paxBuf: Uint8Array[] | undefined;
  private child: TarSplitter | undefined;
  private member: { name: string; type: string; offset: number; size: number; nested: boolean; capture?: Uint8Array[]; linkname?: string; magic?: Uint8Array; announced?: boolean } | undefined;
  /** Position in this level's stream. */
  private pos = 0;
  private rawStarted = false;

  /** `base`: offset of this level's stream in the input; `depth`: 0 for the input itself; `hooks` for the top level. */
  constructor(
    private readonly base = 0,
    private readonly depth = 0,
    private readonly hooks: TarHooks = {},
  ) {}

  push(piece: Uint8Array, out: SplitEvent[]): void {
    let off = 0;
    while (off < piece.length) off += this.step(piece, off, out);
  }

  end(out: SplitEvent[]): void {
    switch (this.mode) {
      case 'header':
      case 'ext':
        if (this.fill) this.toRaw(this.block.slice(0, this.fill), out);
        break;
      case 'sniff':
        this.emitContent(this.block.slice(0, this.fill), out);
        out.push({ kind: 'end-content' });
        break;
      case 'data':
        out.push({ kind: 'end-content' });
        break;
      case 'nested':
        this.child!.end(out);
        out.push({ kind: 'flush-glue' });
        break;
      case 'reused':
        out.push({ kind: 'flush-glue' });
        break;
      default:
        break;
    }
    if (this.mode === 'raw') out.push({ kind: 'end-content' });
    this.mode = 'trailer';
  }

  /** Consumes bytes from piece[off..]; returns how many. */
  private step(piece: Uint8Array, off: number, out: SplitEvent[]): number {
    const avail = piece.length - off;
    switch (this.mode) {
      case 'header':
      case 'ext': {
        if (this.fill === 0 && avail >= BLOCK) {
          // the common case: the whole block lies in this piece, so its glue is a view of the
          // piece (valid as long as the piece), not a copy: one 512-byte allocation less per member
          const blk = piece.subarray(off, off + BLOCK);
          this.pos += BLOCK;
          if (this.mode === 'header') this.onHeader(blk, true, out);
          else this.onExtension(blk, true, out);
          return BLOCK;
        }
        const n = Math.min(avail, BLOCK - this.fill);
        this.block.set(piece.subarray(off, off + n), this.fill);
        this.fill += n;
        this.pos += n;
        if (this.fill === BLOCK) {
          this.fill = 0;
          if (this.mode === 'header') this.onHeader(this.block, false, out);
          else this.onExtension(this.block, false, out);
        }
        return n;
      }
      case 'trailer':
        out.push({ kind: 'glue', bytes: piece.subarray(off) });
        this.pos += avail;
        return avail;
      case 'raw':
        out.push({ kind: 'content', bytes: piece.subarray(off) });
        this.pos += avail;
        return avail;
      case 'meta':
      case 'pad': {
        const n = Math.min(avail, this.left);
        const bytes = piece.subarray(off, off + n);
        out.push({ kind: 'glue', bytes });
        if (this.mode === 'meta' && this.paxBuf) this.paxBuf.push(new Uint8Array(bytes));
        this.left -= n;
        this.pos += n;
        if (this.left === 0) this.afterRegion(out);
        return n;
      }
      case 'sniff': {
        if (this.fill === 0 && avail >= BLOCK) {
          // the whole first block is in this piece: look without copying, consume nothing
          this.decide(piece.subarray(off, off + BLOCK), out);
          return 0;
        }
        const n = Math.min(avail, BLOCK - this.fill, this.left);
        this.block.set(piece.subarray(off, off + n), this.fill);
        this.fill += n;
        this.left -= n;
        this.pos += n;
        if (this.fill === BLOCK || this.left === 0) this.onSniffed(out);
        return n;
      }
      case 'data': {
        const n = Math.min(avail, this.left);
        const bytes = piece.subarray(off, off + n);
        this.emitContent(bytes, out);
        this.left -= n;
        this.pos += n;
        if (this.left === 0) {
          out.push({ kind: 'end-content' });
          this.afterRegion(out);
        }
        return n;
      }
      case 'reused': {
        const n = Math.min(avail, this.left);
        out.push({ kind: 'reused', bytes: piece.subarray(off, off + n) });
        this.left -= n;
        this.pos += n;
        if (this.left === 0) {
          out.push({ kind: 'flush-glue' });
          this.afterRegion(out);
        }
        return n;
      }
      case 'nested': {
        const n = Math.min(avail, this.left);
        this.child!.push(piece.subarray(off, off + n), out);
        this.left -= n;
        this.pos += n;
        if (this.left === 0) {
          this.child!.end(out);
          this.child = undefined;
          out.push({ kind: 'flush-glue' });
          this.afterRegion(out);
        }
        return n;
      }
    }
  }

  /** A header block: `blk` is a view of the input piece (`inPiece`), else this.block, copied for the events. */
  private onHeader(blk: Uint8Array, inPiece: boolean, out: SplitEvent[]): void {
    const bytes = inPiece ? blk : blk.slice();
    if (isZeroBlock(blk)) {
      out.push({ kind: 'glue', bytes });
      this.mode = 'trailer';
      return;
    }
    const h = parseHeader(blk);
    if (!h) return this.toRaw(bytes, out);
    out.push({ kind: 'glue', bytes });
    let size = hasData(h.type) ? h.size : 0;
    if (this.paxSize !== undefined && hasData(h.type) && !isMetaType(h.type)) size = this.paxSize;
    if (!isMetaType(h.type)) this.paxSize = undefined;
    this.left = size;
    this.padAfter = (BLOCK - (size % BLOCK)) % BLOCK;
    const dataOffset = this.base + this.pos;
    if (isMetaType(h.type)) {
      this.paxBuf = h.type === 'x' && size <= PAX_MAX ? [] : undefined;
      this.mode = 'meta';
    } else {
      this.member = { name: h.name, type: h.type, offset: dataOffset, size, nested: false, ...(this.wantsCapture(h.name, size) && { capture: [] }), ...(h.linkname && { linkname: h.linkname }) };
      const regular = h.type === '0' || h.type === '\0' || h.type === '7';
      if (h.sparseExtended) this.mode = 'ext';
      else if (this.depth === 0 && regular && size >= NESTED_MIN && this.hooks.memberStart?.(h.name, dataOffset, size)) {
        // an earlier snapshot's copy of this member is reused (its bytes are checked by the caller)
        this.member.nested = true;
        out.push({ kind: 'flush-glue' }, { kind: 'reuse', name: h.name, size });
        this.mode = 'reused';
      } else this.mode = size >= NESTED_MIN && this.depth < MAX_DEPTH && regular ? 'sniff' : 'data';
    }
    if (this.mode !== 'ext' && size === 0) this.afterRegion(out);
  }

  /** GNU old-sparse extension block: glue; another follows while byte 504 is set. */
  private onExtension(blk: Uint8Array, inPiece: boolean, out: SplitEvent[]): void {
    out.push({ kind: 'glue', bytes: inPiece ? blk : blk.slice() });
    if (blk[504] !== 0) return;
    this.mode = 'data';
    if (this.left === 0) this.afterRegion(out);
  }

  /** Sniffing without a copy: the member's first block is `head`, not yet consumed. */
  private decide(head: Uint8Array, out: SplitEvent[]): void {
    if (parseHeader(head)?.ustar === true) {
      this.member!.nested = true;
      this.child = new TarSplitter(this.base + this.pos, this.depth + 1);
      out.push({ kind: 'flush-glue' });
      this.mode = 'nested';
    } else {
      this.mode = 'data';
    }
  }

  private onSniffed(out: SplitEvent[]): void {
    const head = this.block.slice(0, this.fill);
    this.fill = 0;
    const nested = head.length === BLOCK && parseHeader(head)?.ustar === true;
    if (nested) {
      this.member!.nested = true;
      this.child = new TarSplitter(this.base + this.pos - head.length, this.depth + 1);
      out.push({ kind: 'flush-glue' });
      this.child.push(head, out);
      this.mode = 'nested';
      if (this.left === 0) {
        this.child.end(out);
        this.child = undefined;
        out.push({ kind: 'flush-glue' });
        this.afterRegion(out);
      }
      return;
    }
    this.emitContent(head, out);
    this.mode = 'data';
    if (this.left === 0) {
      out.push({ kind: 'end-content' });
      this.afterRegion(out);
    }
  }

  /** After a member's data (or meta region): padding, then the next header. */
  private afterRegion(out: SplitEvent[]): void {
    if (this.mode === 'meta' && this.paxBuf) {
      const pax = parsePax(Buffer.concat(this.paxBuf));
      const s = pax?.get('size');
      this.paxSize = s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
      this.paxBuf = undefined;
    }
    const m = this.member;
    if (m && this.mode !== 'meta') {
      if (this.depth === 0) out.push({ kind: 'member', member: this.memberEvent(m) });
      this.member = undefined;
    }
    if (this.padAfter > 0) {
      this.left = this.padAfter;
      this.padAfter = 0;
      this.mode = 'pad';
    } else {
      this.mode = 'header';
    }
  }

  private memberEvent(m: NonNullable<TarSplitter['member']>): ArchiveMember {
    const compression = m.magic && !m.nested ? compressionOf(m.magic) : undefined;
    return {
      name: m.name,
      type: m.type,
      offset: m.offset,
      size: m.size,
      nestedTar: m.nested,
      ...(m.capture && !m.nested && { data: Buffer.concat(m.capture) }),
      ...(m.linkname !== undefined && { linkname: m.linkname }),
      ...(compression && { compression }),
    };
  }

  private emitContent(bytes: Uint8Array, out: SplitEvent[]): void {
    if (bytes.length === 0) return;
    const f = this.member;
    if (f && !f.announced) {
      f.announced = true;
      if (f.type === '0' || f.type === '\0' || f.type === '7') out.push({ kind: 'file', name: f.name, size: f.size });
    }
    out.push({ kind: 'content', bytes });
    const c = this.member?.capture;
    // every file captured is JSON (manifests, configs, indexes): a blob that does not start like JSON
    // (a small compressed layer) is not kept, so captured bytes stay a few KiB per image
    if (c && c.length === 0 && bytes[0] !== 0x7b && bytes[0] !== 0x5b && bytes[0] !== 0x20 && bytes[0] !== 0x0a && bytes[0] !== 0x09 && bytes[0] !== 0x0d) delete this.member!.capture;
    else c?.push(new Uint8Array(bytes)); // copies: pieces are Buffers, whose slice() is a view
    const m = this.member;
    if (m && this.depth === 0 && (m.magic === undefined || m.magic.length < MAGIC_BYTES))
      m.magic = Buffer.concat([m.magic ?? new Uint8Array(0), bytes.subarray(0, MAGIC_BYTES - (m.magic?.length ?? 0))]);
  }

  /** From here on, everything at this level is one content unit. */
  private toRaw(first: Uint8Array, out: SplitEvent[]): void {
    if (!this.rawStarted) out.push({ kind: 'flush-glue' });
    this.rawStarted = true;
    this.mode = 'raw';
    out.push({ kind: 'content', bytes: first });
  }

  private wantsCapture(name: string, size: number): boolean {
    if (this.depth !== 0 || size > CAPTURE_MAX) return false;
    const n = name.replace(/^\.\//, '');
    return n === 'manifest.json' || n === 'index.json' || n === 'oci-layout' || n === 'repositories' || n.endsWith('.json') || /^blobs\/[a-z0-9]+\/[0-9a-f]{32,}$/.test(n);
  }
}

/** The compression format whose magic number starts `b`, if any. */
export function compressionOf(b: Uint8Array): ArchiveMember['compression'] {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2';
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0x00) return 'xz';
  return undefined;
}
