/**
 * Index files: immutable lists of blob -> (pack, offset, length) for packs written
 * by one write session (or consolidated by repair/gc).
 *
 * ```
 * index file = seal( "STWIDX01" packCount:u32le pack* blake3(preceding bytes):32 )
 * pack       = packId:32 count:u32le slot*count           (slots as in pack/entry.ts: entries, and a ref slot after each delta or framed blob)
 * ```
 * The file's name is the BLAKE3 of its stored (sealed) bytes.
 */
import { corrupt } from '../errors.js';
import { ID_BYTES, blake3 } from '../hash/blake3.js';
import { ENTRY_BYTES, encodeEntries, readEntries, slotCount } from '../pack/entry.js';
import type { AnyIndexedPack, IndexedPack } from './types.js';

const MAGIC = Buffer.from('STWIDX01', 'latin1');

/** Encodes the plaintext of an index file (through IndexFileBuilder: one encoder). */
export function encodeIndexFile(packs: readonly AnyIndexedPack[]): Buffer {
  const b = new IndexFileBuilder();
  for (const p of packs) {
    if ('slots' in p) b.addPack(p.id, p.slots, p.slotCount);
    else b.addPack(p.id, encodeEntries(p.entries), slotCount(p.entries));
  }
  return b.take();
}

/** Decodes and checks the plaintext of an index file (through scanIndexFile: one decoder); CORRUPT when damaged. */
export function decodeIndexFile(buf: Buffer, what: string): IndexedPack[] {
  const packs: IndexedPack[] = [];
  scanIndexFile(buf, what, (id, raw, n) => packs.push({ id, entries: readEntries(raw, 0, n, what) }));
  return packs;
}

/**
 * Walks the plaintext of an index file without building an object per entry: calls
 * `onPack(packHex, entries, count)` for every pack, `entries` holding `count` raw
 * ENTRY_BYTES-byte slots (a view into `buf`; baseRef slots included, after their delta
 * blob's entry). CORRUPT when damaged (checked first).
 */
export function scanIndexFile(buf: Buffer, what: string, onPack: (pack: string, entries: Buffer, count: number) => void): void {
  if (buf.length < 12 + ID_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corrupt(`${what}: not an index file (bad magic)`);
  const end = buf.length - ID_BYTES;
  if (!blake3(buf.subarray(0, end)).equals(buf.subarray(end))) throw corrupt(`${what}: index file checksum mismatch`);
  const count = buf.readUInt32LE(8);
  // first pass: structure only, so a damaged file reports nothing
  let off = 12;
  for (let i = 0; i < count; i++) {
    if (off + 36 > end) throw corrupt(`${what}: index file truncated`);
    const n = buf.readUInt32LE(off + 32);
    off += 36 + n * ENTRY_BYTES;
    if (off > end) throw corrupt(`${what}: index file truncated`);
  }
  if (off !== end) throw corrupt(`${what}: index file has trailing bytes`);
  off = 12;
  for (let i = 0; i < count; i++) {
    const pack = buf.toString('hex', off, off + 32);
    const n = buf.readUInt32LE(off + 32);
    off += 36;
    onPack(pack, buf.subarray(off, off + n * ENTRY_BYTES), n);
    off += n * ENTRY_BYTES;
  }
}

/**
 * Builds index files from raw entries, pack by pack, without an object per entry
 * (gc writes the whole index this way). `full` says when a file has enough entries.
 */
export class IndexFileBuilder {
  private parts: Buffer[] = [];
  private packs = 0;
  /** Entries added since the last `take()`. */
  entries = 0;

  /** Adds a pack with `count` raw entries (ENTRY_BYTES each). */
  addPack(pack: string, raw: Buffer, count: number): void {
    if (raw.length !== count * ENTRY_BYTES) throw new RangeError(`IndexFileBuilder: ${raw.length} bytes for ${count} entries`);
    const head = Buffer.allocUnsafe(36);
    head.write(pack, 0, 'hex');
    head.writeUInt32LE(count, 32);
    this.parts.push(head, raw);
    this.packs++;
    this.entries += count;
  }

  /** True when nothing was added since the last take(). */
  get empty(): boolean {
    return this.packs === 0;
  }

  /** The plaintext of an index file of everything added since the last call; resets the builder. */
  take(): Buffer {
    let size = 12;
    for (const p of this.parts) size += p.length;
    const out = Buffer.allocUnsafeSlow(size + ID_BYTES);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(this.packs, 8);
    let off = 12;
    for (const p of this.parts) off += p.copy(out, off);
    blake3(out.subarray(0, size)).copy(out, size);
    this.parts = [];
    this.packs = 0;
    this.entries = 0;
    return out;
  }
}
