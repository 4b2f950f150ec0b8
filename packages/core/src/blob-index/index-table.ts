/**
 * An in-memory table of every entry of every index file, for gc and check.
 *
 * No JavaScript object per blob: entries live in typed-array blocks of 65,536 entries
 * (id 32 bytes, pack number, offset, length, raw length, code, flags, mark: 51 bytes each) and an
 * open-addressing hash table of entry numbers keyed by the id (4 bytes a slot, at most 70%
 * full, with a 4-byte tag per slot). About 60-75 bytes per entry in all, so 2 million
 * blobs take about 135 MB. One JS
 * object per pack (a repository of 2 million blobs has tens to thousands of packs).
 *
 * Entries are stored pack by pack in the order the index files list them, so the entries
 * of pack p are the numbers [packs[p].first, packs[p].first + packs[p].count). Those are
 * slots: the entry of a delta blob is followed by its baseRef slot, a framed blob's by its
 * frameRef slot (pack/format.ts); those are stored but are not blobs: not findable, never
 * marked. Members of one frame share its offset and length. A slot's code and flags bytes are
 * kept as the index file stores them (pack/entry.ts, the one entry codec and its flag bits).
 *
 * A pack listed by more than one index file (an interrupted gc, repair, or two identical
 * packs of two writers) is stored once. A blob stored in more than one pack has one entry
 * per copy; `find` returns one of them, the one in a pack that exists when that is known.
 */
import { isStowageError } from '../errors.js';
import { ID_BYTES } from '../hash/blake3.js';
import {
  BASE_REF_CODE,
  ENTRY_BYTES,
  FLAG_COMPRESSED,
  FLAG_DELTA,
  FLAG_FRAMED,
  FRAME_REF_CODE,
  blobTypeOf,
  isRefCode,
  writeSlot,
  type BlobType,
  type EntryLocation,
  type FrameRef,
} from '../pack/entry.js';
import { scanIndexFile } from './index-file.js';

const BLOCK_BITS = 16;
const BLOCK = 1 << BLOCK_BITS;
const MASK = BLOCK - 1;
const MAX_LOAD = 0.7;
/** The table's id words are in native byte order (Uint32Array views of the id blocks). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The 32-bit word at `off` of `b` in native byte order. */
function word(b: Uint8Array, off: number): number {
  return LITTLE_ENDIAN ? (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0 : ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** A pack as the index files list it. */
export interface TablePack {
  readonly id: string;
  /** Number of the pack (entries refer to it). */
  readonly no: number;
  /** First entry number. */
  readonly first: number;
  readonly count: number;
  /** Index files that list it. */
  readonly indexFiles: string[];
  /** Size of the pack file, when known to exist; undefined when it is missing (or not yet known). */
  size: number | undefined;
}

/** An index file that could not be read. */
export interface IndexFileError {
  readonly name: string;
  readonly error: StowageErrorLike;
}

interface StowageErrorLike {
  readonly message: string;
}

/** Where IndexTable.load reads index files from (a Repository is one): names, and opened bytes checked against their name. */
export interface IndexFiles {
  listNames(type: 'index'): Promise<string[]>;
  loadFile(type: 'index', name: string): Promise<Buffer>;
}

export interface LoadTableOptions {
  /** Sizes of the packs that exist (from listing data/); lets `find` prefer copies in existing packs. */
  readonly packSizes?: ReadonlyMap<string, number>;
  /** Called for an index file that cannot be read; without it the error is thrown. */
  readonly onError?: (name: string, err: StowageErrorLike) => void;
}

export class IndexTable {
  readonly packs: TablePack[] = [];
  /** Index files read successfully. */
  readonly indexFiles: string[] = [];
  /** Entries stored. */
  count = 0;
  /** Entries whose id was already stored from another pack. */
  duplicates = 0;
  /** baseRef slots stored (count - refs = blob entries). */
  refs = 0;
  private readonly packNos = new Map<string, number>();
  private readonly ids: Buffer[] = [];
  private readonly words: Uint32Array[] = [];
  private readonly packOf: Uint32Array[] = [];
  private readonly offsets: Uint32Array[] = [];
  private readonly lengths: Uint32Array[] = [];
  private readonly raws: Uint32Array[] = [];
  /** Per slot, its code (blob type, or BASE_REF_CODE / FRAME_REF_CODE) and flags bytes as stored. */
  private readonly codes: Uint8Array[] = [];
  private readonly flags: Uint8Array[] = [];
  private readonly marks: Uint8Array[] = [];
  /** Per slot, interleaved (one cache line): entry number + 1 (0 = empty), and the first id word of that entry. */
  private slots = new Uint32Array(2 << 16);
  private slotMask = (1 << 16) - 1;
  private get capacity(): number {
    return this.slots.length >>> 1;
  }
  private used = 0;

  /** Reads every index file of `repo` into a table. */
  static async load(repo: IndexFiles, opts: LoadTableOptions = {}): Promise<IndexTable> {
    const t = new IndexTable();
    if (opts.packSizes) t.sizes = opts.packSizes;
    for (const name of await repo.listNames('index')) {
      let buf: Buffer;
      try {
        buf = await repo.loadFile('index', name);
        scanIndexFile(buf, `index file ${name}`, () => undefined); // validate before adding anything
      } catch (err) {
        if (!opts.onError || !isStowageError(err, 'CORRUPT', 'NOT_FOUND')) throw err;
        opts.onError(name, err as StowageErrorLike);
        continue;
      }
      t.indexFiles.push(name);
      scanIndexFile(buf, `index file ${name}`, (pack, raw, n) => t.addPack(name, pack, raw, n));
    }
    if (opts.packSizes) t.setPackSizes(opts.packSizes);
    return t;
  }

  private sizes: ReadonlyMap<string, number> | undefined;

  /** Records which packs exist (and their sizes); packs not in `sizes` are missing. */
  setPackSizes(sizes: ReadonlyMap<string, number>): void {
    this.sizes = sizes;
    for (const p of this.packs) p.size = sizes.get(p.id);
  }

  /** Adds the raw entries of one pack listing (skipped when the pack was listed before). */
  addPack(indexFile: string, pack: string, raw: Buffer, n: number): void {
    const known = this.packNos.get(pack);
    if (known !== undefined) {
      this.packs[known]!.indexFiles.push(indexFile);
      return;
    }
    const no = this.packs.length;
    this.packNos.set(pack, no);
    const present = this.sizes ? this.sizes.has(pack) : true;
    this.packs.push({ id: pack, no, first: this.count, count: n, indexFiles: [indexFile], size: this.sizes?.get(pack) });
    for (let i = 0; i < n; i++) {
      const off = i * ENTRY_BYTES;
      const e = this.count++;
      const b = e >>> BLOCK_BITS;
      if (b === this.ids.length) this.grow();
      const s = e & MASK;
      const ids = this.ids[b]!;
      const to = s * ID_BYTES;
      for (let k = 0; k < ID_BYTES; k++) ids[to + k] = raw[off + k]!;
      this.packOf[b]![s] = no;
      const code = raw[off + 32]!;
      this.codes[b]![s] = code;
      this.flags[b]![s] = raw[off + 33]!;
      this.offsets[b]![s] = raw.readUInt32LE(off + 34);
      this.lengths[b]![s] = raw.readUInt32LE(off + 38);
      this.raws[b]![s] = raw.readUInt32LE(off + 42);
      if (isRefCode(code)) this.refs++;
      else this.insert(e, present);
    }
  }

  /** Frees the hash table (about 16 bytes per entry); `find` is unusable afterwards (gc's execute phase). */
  releaseLookup(): void {
    this.slots = new Uint32Array(0);
    this.released = true;
  }
  private released = false;

  /** Entry number of the blob `id` (32 bytes at `off` of `buf`), or -1. */
  find(buf: Uint8Array, off = 0): number {
    if (this.released) throw new TypeError('IndexTable.find after releaseLookup');
    const w0 = word(buf, off);
    let i = w0 & this.slotMask;
    for (;;) {
      const v = this.slots[2 * i]!;
      if (v === 0) return -1;
      if (this.slots[2 * i + 1] !== w0) {
        i = (i + 1) & this.slotMask;
        continue;
      }
      const e = v - 1;
      const w = this.words[e >>> BLOCK_BITS]!;
      const s = (e & MASK) * 8;
      if (w[s] === w0) {
        let k = 1;
        while (k < 8 && w[s + k] === word(buf, off + 4 * k)) k++;
        if (k === 8) return e;
      }
      i = (i + 1) & this.slotMask;
    }
  }

  /** Pack number of entry `e`. */
  pack(e: number): number {
    return this.packOf[e >>> BLOCK_BITS]![e & MASK]!;
  }
  offset(e: number): number {
    return this.offsets[e >>> BLOCK_BITS]![e & MASK]!;
  }
  length(e: number): number {
    return this.lengths[e >>> BLOCK_BITS]![e & MASK]!;
  }
  rawLength(e: number): number {
    return this.raws[e >>> BLOCK_BITS]![e & MASK]!;
  }
  /** The slot's code: a blob type code, or BASE_REF_CODE / FRAME_REF_CODE. */
  private code(e: number): number {
    return this.codes[e >>> BLOCK_BITS]![e & MASK]!;
  }
  /** True when blob `e` has flag `flag` (a ref slot has none). */
  private hasEntryFlag(e: number, flag: number): boolean {
    return !this.isRef(e) && (this.flags[e >>> BLOCK_BITS]![e & MASK]! & flag) !== 0;
  }
  compressed(e: number): boolean {
    return this.hasEntryFlag(e, FLAG_COMPRESSED);
  }
  type(e: number): BlobType {
    return blobTypeOf(this.code(e));
  }
  /** True for a baseRef or frameRef slot (not a blob). */
  isRef(e: number): boolean {
    return isRefCode(this.code(e));
  }
  /** True for a delta blob: its base's id is the id of slot e + 1. */
  isDelta(e: number): boolean {
    return this.hasEntryFlag(e, FLAG_DELTA);
  }
  /** True for a framed blob: slot e + 1 says where it lies in the frame at offset(e)/length(e). */
  isFramed(e: number): boolean {
    return this.hasEntryFlag(e, FLAG_FRAMED);
  }
  /** Where framed blob `e` lies in its frame (from slot e + 1), or undefined when `e` is not framed. */
  frame(e: number): FrameRef | undefined {
    if (!this.isFramed(e) || e + 1 >= this.count || this.code(e + 1) !== FRAME_REF_CODE) return undefined;
    return { offset: this.offset(e + 1), rawLength: this.rawLength(e + 1) };
  }
  /**
   * The entry of the base of delta blob `e`, -1 when the base is not in the table, or -2
   * when the index lists no baseRef after it (a damaged index file). Needs the lookup.
   */
  baseEntry(e: number): number {
    const r = e + 1;
    if (r >= this.count || this.code(r) !== BASE_REF_CODE || this.pack(r) !== this.pack(e)) return -2;
    const b = r >>> BLOCK_BITS;
    return this.find(this.ids[b]!, (r & MASK) * ID_BYTES);
  }
  /** A delta blob's location fields for decoding, with its base's id (slot e + 1). */
  location(e: number): Omit<EntryLocation, 'type'> {
    const frame = this.frame(e);
    return { offset: this.offset(e), length: this.length(e), rawLength: this.rawLength(e), compressed: this.compressed(e), ...(this.isDelta(e) && { base: this.id(e + 1) }), ...(frame && { frame }) };
  }
  /** A copy of the id of entry `e`. */
  id(e: number): Buffer {
    const s = (e & MASK) * ID_BYTES;
    return Buffer.from(this.ids[e >>> BLOCK_BITS]!.subarray(s, s + ID_BYTES));
  }
  /** Copies the id of entry `e` into `out` (32 bytes at `off`). */
  writeId(e: number, out: Uint8Array, off = 0): void {
    const s = (e & MASK) * ID_BYTES;
    out.set(this.ids[e >>> BLOCK_BITS]!.subarray(s, s + ID_BYTES), off);
  }
  idHex(e: number): string {
    const s = (e & MASK) * ID_BYTES;
    return this.ids[e >>> BLOCK_BITS]!.toString('hex', s, s + ID_BYTES);
  }

  /** Writes slot `e` as the index file stored it (pack/entry.ts writeSlot) at `off` of `out`. */
  writeEntry(e: number, out: Buffer, off: number): void {
    const b = e >>> BLOCK_BITS;
    const s = e & MASK;
    writeSlot(out, off, this.ids[b]!.subarray(s * ID_BYTES, s * ID_BYTES + ID_BYTES), this.codes[b]![s]!, this.flags[b]![s]!, this.offsets[b]![s]!, this.lengths[b]![s]!, this.raws[b]![s]!);
  }

  /** Raw entries (ENTRY_BYTES each) of entries `list`. */
  encodeEntries(list: ArrayLike<number>): Buffer {
    const out = Buffer.allocUnsafe(list.length * ENTRY_BYTES);
    for (let i = 0; i < list.length; i++) this.writeEntry(list[i]!, out, i * ENTRY_BYTES);
    return out;
  }

  /** Marks entry `e` (bit 1 of its mark byte); returns true when it was not marked before. */
  mark(e: number): boolean {
    const m = this.marks[e >>> BLOCK_BITS]!;
    const s = e & MASK;
    if (m[s]! & 1) return false;
    m[s]! |= 1;
    return true;
  }
  marked(e: number): boolean {
    return (this.marks[e >>> BLOCK_BITS]![e & MASK]! & 1) !== 0;
  }
  /** Sets another bit (2, 4, ... 128) of entry `e`'s mark byte (check uses one for "damaged"). */
  setFlag(e: number, bit: number): void {
    this.marks[e >>> BLOCK_BITS]![e & MASK]! |= bit;
  }
  hasFlag(e: number, bit: number): boolean {
    return (this.marks[e >>> BLOCK_BITS]![e & MASK]! & bit) !== 0;
  }

  /**
   * Groups entries of one pack into ranged reads: entries sorted by offset, a read spans at
   * most `max` bytes (or one entry, if larger) and reads through gaps up to `gap` bytes.
   */
  readGroups(entries: readonly number[], max: number, gap: number): { offset: number; length: number; entries: number[] }[] {
    const sorted = [...entries].sort((x, y) => this.offset(x) - this.offset(y));
    const out: { offset: number; length: number; entries: number[] }[] = [];
    let cur: { offset: number; end: number; entries: number[] } | undefined;
    for (const e of sorted) {
      const off = this.offset(e);
      const end = off + this.length(e);
      if (cur && off >= cur.offset && end <= cur.end) {
        cur.entries.push(e); // inside the read already (members of one frame share its bytes)
        continue;
      }
      if (cur && off >= cur.end && off - cur.end <= gap && end - cur.offset <= max) {
        cur.entries.push(e);
        cur.end = end;
        continue;
      }
      if (cur) out.push({ offset: cur.offset, length: cur.end - cur.offset, entries: cur.entries });
      cur = { offset: off, end, entries: [e] };
    }
    if (cur) out.push({ offset: cur.offset, length: cur.end - cur.offset, entries: cur.entries });
    return out;
  }

  /** The pack numbered `no`. */
  packAt(no: number): TablePack {
    return this.packs[no]!;
  }
  packNo(id: string): number | undefined {
    return this.packNos.get(id);
  }

  /** Approximate bytes held (for reports). */
  get memoryBytes(): number {
    return this.ids.length * BLOCK * (ID_BYTES + 4 * 4 + 3) + this.slots.byteLength;
  }

  private grow(): void {
    const ids = Buffer.alloc(BLOCK * ID_BYTES);
    this.ids.push(ids);
    this.words.push(new Uint32Array(ids.buffer, ids.byteOffset, (BLOCK * ID_BYTES) / 4));
    this.packOf.push(new Uint32Array(BLOCK));
    this.offsets.push(new Uint32Array(BLOCK));
    this.lengths.push(new Uint32Array(BLOCK));
    this.raws.push(new Uint32Array(BLOCK));
    this.codes.push(new Uint8Array(BLOCK));
    this.flags.push(new Uint8Array(BLOCK));
    this.marks.push(new Uint8Array(BLOCK));
  }

  /** True when entries e and f have the same id. */
  private sameId(e: number, f: number): boolean {
    const we = this.words[e >>> BLOCK_BITS]!;
    const wf = this.words[f >>> BLOCK_BITS]!;
    const se = (e & MASK) * 8;
    const sf = (f & MASK) * 8;
    for (let k = 0; k < 8; k++) if (we[se + k] !== wf[sf + k]) return false;
    return true;
  }

  private insert(e: number, present: boolean): void {
    if (this.used + 1 > this.capacity * MAX_LOAD) this.rehash();
    const w0 = this.words[e >>> BLOCK_BITS]![(e & MASK) * 8]!;
    let i = w0 & this.slotMask;
    for (;;) {
      const v = this.slots[2 * i]!;
      if (v === 0) {
        this.slots[2 * i] = e + 1;
        this.slots[2 * i + 1] = w0;
        this.used++;
        return;
      }
      if (this.slots[2 * i + 1] === w0 && this.sameId(v - 1, e)) {
        this.duplicates++;
        // Prefer a copy in a pack that exists.
        if (present && this.sizes && !this.sizes.has(this.packs[this.pack(v - 1)]!.id)) this.slots[2 * i] = e + 1;
        return;
      }
      i = (i + 1) & this.slotMask;
    }
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.slotMask = this.capacity - 1;
    for (let j = 0; j < old.length; j += 2) {
      const v = old[j]!;
      if (v === 0) continue;
      const w0 = old[j + 1]!;
      let i = w0 & this.slotMask;
      while (this.slots[2 * i] !== 0) i = (i + 1) & this.slotMask;
      this.slots[2 * i] = v;
      this.slots[2 * i + 1] = w0;
    }
  }
}
