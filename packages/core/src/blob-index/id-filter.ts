/**
 * A filter of blob ids that answers "certainly not stored" without LevelDB: the index cache
 * (level-index.ts) asks LevelDB only for the ids the filter may hold.
 *
 * Why: a snapshot of new data looks up every new id and finds nothing. In LevelDB a miss
 * still walks every level (bloom filters, index blocks), charges "seeks" that schedule
 * compactions, and touches pages of the memory-mapped tables, so a miss got dearer and the
 * process bigger as the repository grew (a snapshot of 206,000 new tiny chunks: 5.6 CPU-s
 * and 437 MB peak RSS into an empty repository, 9.5 CPU-s and 624 MB into one of 10.7
 * million blobs).
 *
 * A scalable blocked bloom filter: segments, each an array of 64-byte blocks, a key setting
 * K bits inside one block (one cache line per segment probed); new keys go into the last
 * segment, and a full one is followed by one of twice the capacity, so the filter grows
 * with the repository without re-reading any key. BITS_PER_KEY bits per key at capacity
 * give about 0.1 % false positives per segment (a false positive only costs a LevelDB
 * lookup; 10 million ids fill 6 segments); 10 million ids take 20-33 MB. Segments written
 * by an older version keep their own size (a segment records its capacity and blocks). Ids are BLAKE3 outputs (keyed in encrypted
 * repositories): uniformly distributed, so their bytes are the hash.
 *
 * A filter never forgets a key: it says "absent" only for ids never added.
 */
import { corrupt } from '../errors.js';
import { ID_BYTES, blake3 } from '../hash/blake3.js';

const BLOCK_BITS = 512;
const BLOCK_WORDS = BLOCK_BITS / 32;
/** Bits set per key (9 bits of the id pick each). */
const K = 8;
/**
 * Bits per key at a segment's capacity. Measured over two full segments (786,432 ids, 400,000
 * absent ids asked): 12 bits 0.83 % false positives, 14 bits 0.37 %, 16 bits 0.17 %. A false
 * positive is a LevelDB miss, and in a process that has not opened the cache's tables yet a
 * miss in a large cache costs 50-130 µs (it opens the table of each level it passes; at 12 bits
 * the 2.2 % false positives of a 14-million-id filter were 4,500 misses and about 0.5 CPU-s per
 * 206,000 new ids): 16 bits, 2 bytes an id at capacity.
 */
const BITS_PER_KEY = 16;
/** Keys of the first segment; each next segment holds twice as many. */
const FIRST_CAPACITY = 1 << 18;
const MAGIC = Buffer.from('STWFLT01', 'latin1');

interface Segment {
  readonly blocks: number;
  readonly words: Uint32Array;
  readonly capacity: number;
  count: number;
}

function segment(capacity: number): Segment {
  const blocks = Math.max(1, Math.ceil((capacity * BITS_PER_KEY) / BLOCK_BITS));
  return { blocks, words: new Uint32Array(blocks * BLOCK_WORDS), capacity, count: 0 };
}

/** Bit positions of a key in its block: K fields of 9 bits from bytes 4..13 of the id. */
function positions(id: Uint8Array, out: Uint16Array): void {
  // 80 bits: bytes 4..13
  let acc = 0;
  let bits = 0;
  let at = 4;
  for (let k = 0; k < K; k++) {
    while (bits < 9) {
      acc = (acc << 8) | id[at++]!;
      bits += 8;
    }
    bits -= 9;
    out[k] = (acc >>> bits) & 511;
    acc &= (1 << bits) - 1;
  }
}

/** The block of a key: bytes 0..3 scaled to [0, blocks) (multiply-shift: any block count). */
function blockOf(id: Uint8Array, blocks: number): number {
  return Math.floor((((id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0) * blocks) / 4294967296);
}

export class IdFilter {
  private readonly segments: Segment[] = [];
  private readonly pos = new Uint16Array(K);

  /** Keys added (a key added twice counts twice). */
  get count(): number {
    let n = 0;
    for (const s of this.segments) n += s.count;
    return n;
  }

  /** Bytes held. */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.words.byteLength;
    return n;
  }

  /** Adds an id (its first ID_BYTES bytes). */
  add(id: Uint8Array): void {
    if (id.length < ID_BYTES) throw new RangeError(`IdFilter: an id has ${ID_BYTES} bytes, got ${id.length}`);
    let s = this.segments[this.segments.length - 1];
    if (!s || s.count >= s.capacity) {
      s = segment(s ? s.capacity * 2 : FIRST_CAPACITY);
      this.segments.push(s);
    }
    positions(id, this.pos);
    const base = blockOf(id, s.blocks) * BLOCK_WORDS;
    for (let k = 0; k < K; k++) s.words[base + (this.pos[k]! >>> 5)]! |= 1 << (this.pos[k]! & 31);
    s.count++;
  }

  /** False when `id` was certainly never added. */
  mayHave(id: Uint8Array): boolean {
    if (this.segments.length === 0) return false;
    positions(id, this.pos);
    for (const s of this.segments) {
      const base = blockOf(id, s.blocks) * BLOCK_WORDS;
      let k = 0;
      while (k < K && (s.words[base + (this.pos[k]! >>> 5)]! & (1 << (this.pos[k]! & 31))) !== 0) k++;
      if (k === K) return true;
    }
    return false;
  }

  /**
   * The filter and `stamp` (what it covers: the caller's names) as bytes:
   * `"STWFLT01" stampLen:u32le stamp segCount:u32le (capacity:u32le count:u32le blocks:u32le words)* blake3:32`.
   */
  serialize(stamp: Uint8Array): Buffer {
    let size = MAGIC.length + 4 + stamp.length + 4;
    for (const s of this.segments) size += 12 + s.words.byteLength;
    const out = Buffer.allocUnsafe(size + ID_BYTES);
    let off = MAGIC.copy(out, 0);
    off = out.writeUInt32LE(stamp.length, off);
    off += Buffer.from(stamp.buffer, stamp.byteOffset, stamp.length).copy(out, off);
    off = out.writeUInt32LE(this.segments.length, off);
    for (const s of this.segments) {
      off = out.writeUInt32LE(s.capacity, off);
      off = out.writeUInt32LE(s.count, off);
      off = out.writeUInt32LE(s.blocks, off);
      off += Buffer.from(s.words.buffer, s.words.byteOffset, s.words.byteLength).copy(out, off);
    }
    blake3(out.subarray(0, off)).copy(out, off);
    return out;
  }

  /** Reads what serialize wrote; CORRUPT when the bytes are damaged. */
  static deserialize(buf: Buffer): { filter: IdFilter; stamp: Buffer } {
    const bad = (why: string) => corrupt(`id filter: ${why}`);
    if (buf.length < MAGIC.length + 8 + ID_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('bad magic');
    const end = buf.length - ID_BYTES;
    if (!blake3(buf.subarray(0, end)).equals(buf.subarray(end))) throw bad('checksum mismatch');
    let off = MAGIC.length;
    const stampLen = buf.readUInt32LE(off);
    off += 4;
    if (off + stampLen + 4 > end) throw bad('truncated');
    const stamp = Buffer.from(buf.subarray(off, off + stampLen));
    off += stampLen;
    const n = buf.readUInt32LE(off);
    off += 4;
    const f = new IdFilter();
    for (let i = 0; i < n; i++) {
      if (off + 12 > end) throw bad('truncated');
      const capacity = buf.readUInt32LE(off);
      const count = buf.readUInt32LE(off + 4);
      const blocks = buf.readUInt32LE(off + 8);
      off += 12;
      if (blocks === 0 || off + blocks * 64 > end) throw bad('bad segment');
      const words = new Uint32Array(blocks * BLOCK_WORDS);
      Buffer.from(words.buffer).set(buf.subarray(off, off + blocks * 64));
      off += blocks * 64;
      f.segments.push({ blocks, words, capacity, count });
    }
    if (off !== end) throw bad('trailing bytes');
    return { filter: f, stamp };
  }
}
