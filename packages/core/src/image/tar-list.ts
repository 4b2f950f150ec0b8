/**
 * A streaming tar lister: push the bytes of a tar (a layer) in pieces of any size, get
 * one entry per file (path, type, size, mode) in archive order. Memory is bounded: data
 * is skipped, only headers and metadata records (PAX, GNU long names, at most META_MAX
 * bytes each) are held.
 *
 * Reads ustar, GNU (long names 'L'/'K', old sparse 'S' with extension blocks,
 * base-256 numbers) and PAX (path, linkpath, size; GNU sparse 0.x/1.0 names and real
 * sizes). Where the bytes stop being a tar, listing stops with `problem` set.
 */
import { BLOCK, checksum, isZeroBlock, parseNumber, parsePax } from '../split/tar-header.js';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

export interface TarEntry {
  readonly path: string;
  readonly type: TarEntryType;
  /** File size (a sparse file's real size); 0 for links, directories and devices. */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly linkname?: string;
  /** Offset of the entry's header in the tar. */
  readonly offset: number;
}

/** Metadata records larger than this are not held (listing stops with a problem). */
const META_MAX = 1 << 20;

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo', S: 'file' };

type State = 'header' | 'meta' | 'skip' | 'ext' | 'end' | 'bad';

export class TarLister {
  /** Set when the input stopped being a tar (or ended inside an entry). */
  problem: string | undefined;
  /** Entries reported so far. */
  count = 0;
  private state: State = 'header';
  private readonly block = new Uint8Array(BLOCK);
  private fill = 0;
  private pos = 0;
  private left = 0;
  private meta: { type: string; parts: Uint8Array[]; pad: number } | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Map<string, string> | undefined;
  private global = new Map<string, string>();
  /** Data + padding to skip after a sparse header's extension blocks. */
  private afterExt = 0;

  constructor(private readonly onEntry: (e: TarEntry) => void) {}

  push(piece: Uint8Array): void {
    let off = 0;
    while (off < piece.length && this.state !== 'bad' && this.state !== 'end') {
      const avail = piece.length - off;
      if (this.state === 'skip') {
        const n = Math.min(avail, this.left);
        this.left -= n;
        this.pos += n;
        off += n;
        if (this.left === 0) this.state = 'header';
        continue;
      }
      if (this.state === 'meta') {
        const m = this.meta!;
        const n = Math.min(avail, this.left);
        m.parts.push(piece.slice(off, off + n));
        this.left -= n;
        this.pos += n;
        off += n;
        if (this.left === 0) this.onMeta();
        continue;
      }
      // header or ext: whole blocks
      const n = Math.min(avail, BLOCK - this.fill);
      this.block.set(piece.subarray(off, off + n), this.fill);
      this.fill += n;
      this.pos += n;
      off += n;
      if (this.fill === BLOCK) {
        this.fill = 0;
        if (this.state === 'header') this.onHeader();
        else this.onExtension();
      }
    }
  }

  /** Call after the last piece. */
  end(): void {
    if (this.state === 'bad' || this.state === 'end') return;
    if (this.state === 'header' && this.fill === 0) {
      if (this.count === 0 && this.pos === 0) this.problem = 'empty input';
      return; // no end-of-archive blocks: accepted, as GNU tar does
    }
    this.problem = `the tar ends inside an entry (at byte ${this.pos})`;
  }

  private bad(why: string): void {
    this.state = 'bad';
    this.problem = `${why} at byte ${this.pos - BLOCK}`;
  }

  private onHeader(): void {
    const b = this.block;
    const at = this.pos - BLOCK;
    if (isZeroBlock(b)) {
      this.state = 'end';
      return;
    }
    const chk = parseNumber(b, 148, 8);
    if (chk === undefined || chk !== checksum(b)) return this.bad('not a tar header (bad checksum)');
    const size = parseNumber(b, 124, 12);
    if (size === undefined) return this.bad('not a tar header (bad size field)');
    const type = String.fromCharCode(b[156]!);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (['x', 'g', 'L', 'K'].includes(type)) {
      if (size > META_MAX) return this.bad(`a ${type} record of ${size} bytes is too large`);
      this.meta = { type, parts: [], pad };
      this.left = size;
      this.state = 'meta';
      if (size === 0) this.onMeta();
      return;
    }
    const posix = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0; // "ustar\0"
    let name = cstring(b, 0, 100);
    if (posix && b[345] !== 0) name = `${cstring(b, 345, 155)}/${name}`;
    let linkname = cstring(b, 157, 100);
    const pax = this.pax;
    const g = this.global;
    name = this.longName ?? pax?.get('GNU.sparse.name') ?? pax?.get('path') ?? name;
    linkname = this.longLink ?? pax?.get('linkpath') ?? linkname;
    if (this.longName === undefined && !pax?.has('path') && g.has('path')) name = g.get('path')!;
    const entryType = TYPES[type] ?? 'other';
    const noData = ['1', '2', '3', '4', '5', '6'].includes(type);
    const paxSize = pax?.get('size') ?? g.get('size');
    const dataSize = noData ? 0 : paxSize !== undefined && /^\d+$/.test(paxSize) ? Number(paxSize) : size;
    let fileSize = dataSize;
    const realSize = pax?.get('GNU.sparse.realsize') ?? pax?.get('GNU.sparse.size');
    if (realSize !== undefined && /^\d+$/.test(realSize)) fileSize = Number(realSize);
    if (type === 'S') fileSize = parseNumber(b, 483, 12) ?? dataSize;
    if (entryType !== 'file') fileSize = 0;
    if (!Number.isSafeInteger(dataSize)) return this.bad('an entry size is out of range');
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = undefined;
    this.count++;
    this.onEntry({
      path: name,
      type: entryType,
      size: fileSize,
      mode: parseNumber(b, 100, 8) ?? 0,
      uid: parseNumber(b, 108, 8) ?? 0,
      gid: parseNumber(b, 116, 8) ?? 0,
      mtime: parseNumber(b, 136, 12) ?? 0,
      ...((entryType === 'symlink' || entryType === 'hardlink') && { linkname }),
      offset: at,
    });
    const skip = dataSize + ((BLOCK - (dataSize % BLOCK)) % BLOCK);
    if (type === 'S' && b[482] !== 0) {
      this.afterExt = skip;
      this.state = 'ext';
      return;
    }
    this.left = skip;
    this.state = skip > 0 ? 'skip' : 'header';
  }

  private onExtension(): void {
    if (this.block[504] !== 0) return; // another extension block follows
    this.left = this.afterExt;
    this.state = this.left > 0 ? 'skip' : 'header';
  }

  private onMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    const data = Buffer.concat(m.parts);
    if (m.type === 'L') this.longName = cstring(data, 0, data.length);
    else if (m.type === 'K') this.longLink = cstring(data, 0, data.length);
    else {
      const pax = parsePax(data);
      if (!pax) return this.bad('a malformed PAX record');
      if (m.type === 'g') for (const [k, v] of pax) this.global.set(k, v);
      else this.pax = pax;
    }
    this.left = m.pad;
    this.state = m.pad > 0 ? 'skip' : 'header';
  }
}

function cstring(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}
