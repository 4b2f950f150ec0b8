/**
 * Blob encoding: plaintext -> (zstd | raw) -> seal, and back with verification.
 *
 * Pure functions over batches, so they run the same in a worker thread
 * (codec-worker.ts) and inline. Encoding verifies its own output (decode and
 * compare) before anything is uploaded, as restic does; decoding verifies every
 * blob against its id.
 */
import { StowageError, corrupt } from '../errors.js';
import { FrameDecoder, compressBound, compressInto, compressWithDictInto, decompressInto, decompressWithDictInto } from '../compress/zstd.js';
import { idHasher } from '../hash/blake3.js';
import type { Cipher } from '../crypto/cipher.js';
import { cipherFromSpec, type CipherSpec } from '../crypto/cipher-spec.js';
import type { EntryLocation } from '../pack/entry.js';

/** Everything a codec needs, serialisable for worker threads. */
export interface CodecSpec {
  readonly level: number;
  readonly cipher: CipherSpec;
  /** Key of the keyed id hash, when the repository uses one. */
  readonly idKey?: Uint8Array | undefined;
  /** Re-decode every encoded blob before returning it (default true). */
  readonly verify?: boolean;
}

export interface EncodedBatch {
  /** Stored bytes of every blob, concatenated. */
  readonly stored: Buffer;
  readonly storedLengths: number[];
  readonly compressed: boolean[];
  /** True where the blob was stored as a delta against the base given for it. */
  readonly delta: boolean[];
  /**
   * Per blob: -1, or the index of the first blob of the frame it is in (frame members are
   * consecutive; the frame's stored bytes are counted in the first member's storedLengths,
   * the others have 0).
   */
  readonly frameStart: number[];
  /** Per framed blob: its offset in the frame's plaintext. */
  readonly frameOffset: number[];
  /** Per framed blob: the frame's plaintext length. */
  readonly frameRaw: number[];
}

/**
 * Blobs smaller than this may share a frame (encode with a frame target). Measured on the
 * corpus (docker.tar v1..v5, with deltas): every blob alone 113.0 MB; members < 64 KiB in
 * 512 KiB frames 109.5 MB; < 128 KiB / 512 KiB 107.6 MB; < 256 KiB / 256 KiB 108.8 MB;
 * < 256 KiB / 1 MiB 105.0 MB; < 1 MiB / 1 MiB 103.9 MB (but then whole chunks of large
 * files, the usual delta bases, are framed too). Snapshot time the same with and without.
 */
export const FRAME_MEMBER_MAX = 256 * 1024;
/**
 * Blobs smaller than this are stored alone even in a run: a member costs a 46-byte frameRef
 * slot in every index, which would outweigh what sharing a frame saves (on 2.1 M blobs of
 * 64-1024 bytes, framing every blob made the repository 21% larger and gc's peak RSS 402 MB
 * against 307 MB). Files under 4 KiB share the small-file stream anyway.
 */
export const FRAME_MEMBER_MIN = 1024;
/**
 * A frame is closed before its plaintext would exceed this (writers: at most a quarter pack).
 * Measured (plaintext repositories, v1..v5 docker.tar, 256 KiB chunks; issue 13 item 4): with
 * 1 MiB frames the python small-file series stores 103.15 MB (0.873 x borg's 118.2 MB) and deb
 * 104.04 MB; 2 MiB frames 101.10 MB on python; 4 MiB 100.29 MB (0.848 x) and 101.83 MB on deb.
 * The cost is on reads: a frame is decoded whole for any of its members (restore of deb v5:
 * 2.54 CPU-s and 200 MB peak RSS against 2.36 and 188 MB). Members up to 512 KiB as well (large
 * files' chunks, the usual delta bases, framed too) gave 98.46 / 98.73 MB but 3.03 CPU-s and
 * 255 MB for that restore, so members stay under 256 KiB.
 */
export const FRAME_TARGET = 4 * 1024 * 1024;

/** The frame target writers use in a repository of `packSize` packs: FRAME_TARGET, at most a quarter pack. */
export function frameTargetFor(packSize: number): number {
  return Math.min(FRAME_TARGET, Math.floor(packSize / 4));
}

/**
 * A delta is kept only when its frame is at most this fraction of the blob compressed
 * alone: below that, depending on another blob (read at restore, kept alive by gc) is
 * not worth it.
 */
export const DELTA_WORTH = 0.75;
/** A delta frame this small (a fraction of the plaintext) is kept without compressing the blob alone to compare. */
export const DELTA_SURE = 0.1;

/** One blob to decode from a buffer of stored bytes: its entry's location fields (pack/entry.ts), its id, and a delta blob's base. */
export interface DecodeItem extends Pick<EntryLocation, 'offset' | 'length' | 'rawLength' | 'compressed' | 'frame'> {
  /** Expected id (32 bytes). */
  readonly id: Uint8Array;
  /** Delta blobs: the base's plaintext (required exactly when the location names a base). */
  readonly base?: Uint8Array | undefined;
  /**
   * Framed blobs: a name of the frame that stays the same across calls (pack id and offset),
   * so a frame whose members a read needs again in its next call (the next window) is not
   * decompressed again. Every member is still checked against its id.
   */
  readonly frameKey?: string | undefined;
  /**
   * Where the blob's plaintext goes in the output instead of the next consecutive place:
   * triples (output offset, offset in the blob, length), one per use of the blob. A restore
   * window is decoded straight into its order this way (a blob used twice is decoded once
   * and copied), so no copy of the window is needed to assemble it. The whole blob is still
   * checked against its id.
   */
  readonly places?: readonly number[] | undefined;
  /**
   * Where the blob's whole plaintext also goes in the call's `aside` output (besides its
   * places, which may then be empty): a restore keeps there the blobs a later window needs,
   * decoded (and checked) while their frame or pack range is at hand, so that window neither
   * reads nor decodes them again.
   */
  readonly aside?: number | undefined;
}

export interface DecodedBatch {
  /** Plaintext of every blob, concatenated in item order. */
  readonly plain: Buffer;
  readonly lengths: number[];
}

/** A ready codec for one spec. */
export class BlobCodec {
  readonly cipher: Cipher;
  private readonly hash: (d: Uint8Array) => Buffer;
  /**
   * The encoder's work buffer: a unit's compressed bytes before sealing (encrypted
   * repositories), the unit compressed alone to compare with a delta, and then the unit
   * decompressed again to verify it; also where a frame is decoded for a read that gives no
   * frameKey (snapshots' delta bases). One buffer for all, never two of a unit's size.
   */
  private work: Buffer = Buffer.alloc(0);
  /** A delta frame being tried. */
  private dbuf: Buffer = Buffer.alloc(0);
  /** The plaintext of the frame last decoded (fbufLength bytes). */
  private fbuf: Buffer = Buffer.alloc(0);
  private fbufLength = -1;
  /** The frameKey of the (raw) frame in fbuf, when it was decoded for an item that had one. */
  private fbufKey: string | undefined;
  /** Decodes the members of keyed compressed frames straight into their places, each frame front to back, kept across calls. */
  private frames: FrameDecoder | undefined;
  /** The cipher output `frames` reads in this decodeInto call (released when the call ends). */
  private frameOpened: Buffer | undefined;
  /** A placed blob that no place takes whole is decoded here first. */
  private pbuf: Buffer = Buffer.alloc(0);
  /**
   * Bytes of fresh memory the last encode() left for the garbage collector: its bound-sized
   * output when the stored bytes were copied out of it (0 when the output itself was
   * returned). Not counting the cipher's own outputs (one per blob sealed and opened).
   */
  lastEncodeGarbage = 0;

  constructor(readonly spec: CodecSpec) {
    this.cipher = cipherFromSpec(spec.cipher);
    this.hash = idHasher(spec.idKey);
  }

  /**
   * Encodes consecutive blobs of `data` (lengths given, from its start). `baseSpans`, when
   * given, holds an (offset, length) pair per blob: where in `data` (after the blobs) the
   * plaintext of a candidate base lies, length 0 for none. A blob is stored as a delta
   * against its base when that is at most DELTA_WORTH of its size compressed alone.
   * With `frameTarget` > 0, runs of consecutive small blobs (under FRAME_MEMBER_MAX and
   * the target, not deltas) are compressed together as one frame of up to `frameTarget`
   * plaintext bytes (a repository's writers use FRAME_TARGET, at most a quarter pack).
   */
  encode(data: Uint8Array, lengths: readonly number[], baseSpans?: readonly number[], frameTarget = 0): EncodedBatch {
    const frames = frameTarget > 0;
    const memberMax = Math.min(FRAME_MEMBER_MAX, frameTarget);
    const bases = baseSpans && lengths.map((_, i) => (baseSpans[2 * i + 1]! > 0 ? data.subarray(baseSpans[2 * i]!, baseSpans[2 * i]! + baseSpans[2 * i + 1]!) : undefined));
    let bound = 0;
    let maxLen = 0;
    let total = 0;
    for (const len of lengths) {
      bound += compressBound(len) + this.cipher.overhead;
      if (len > maxLen) maxLen = len;
      total += len;
    }
    const unitMax = frames ? Math.max(maxLen, Math.min(total, frameTarget)) : maxLen;
    this.workFor(compressBound(unitMax));
    const out = Buffer.allocUnsafeSlow(bound);
    const r = { storedLengths: [] as number[], compressed: [] as boolean[], delta: [] as boolean[], frameStart: [] as number[], frameOffset: [] as number[], frameRaw: [] as number[] };
    let pos = 0;
    /** Compresses (or keeps raw) and seals one unit at `pos`; returns [stored length, compressed]. */
    const store = (plain: Uint8Array): [number, boolean] => {
      if (this.cipher.overhead === 0) {
        let n = compressInto(out.subarray(pos), plain, this.spec.level);
        const compressed = n >= 0;
        if (!compressed) {
          out.set(plain, pos);
          n = plain.length;
        }
        if (this.spec.verify !== false) this.verifyEncoded(plain, out.subarray(pos, pos + n), compressed);
        return [n, compressed];
      }
      const n = compressInto(this.work, plain, this.spec.level);
      const compressed = n >= 0;
      const m = this.cipher.sealInto(out, pos, compressed ? this.work.subarray(0, n) : plain);
      if (this.spec.verify !== false) this.verifyOpened(plain, out.subarray(pos, pos + m), compressed);
      return [m, compressed];
    };
    /** Records one blob's outcome. */
    const record = (stored: number, compressed: boolean, delta: boolean, frameStart = -1, frameOffset = 0, frameRaw = 0): void => {
      r.storedLengths.push(stored);
      r.compressed.push(compressed);
      r.delta.push(delta);
      r.frameStart.push(frameStart);
      r.frameOffset.push(frameOffset);
      r.frameRaw.push(frameRaw);
    };
    const single = (plain: Uint8Array): void => {
      const [n, compressed] = store(plain);
      record(n, compressed, false);
      pos += n;
    };
    // the run of small blobs waiting to be framed: blobs [first, first + count), plaintext [from, to) of data
    let run = { first: 0, count: 0, from: 0, to: 0 };
    const flushRun = (): void => {
      if (run.count === 1) single(data.subarray(run.from, run.to));
      else if (run.count > 1) {
        const [n, compressed] = store(data.subarray(run.from, run.to));
        for (let k = 0, at = run.from; k < run.count; k++) {
          record(k === 0 ? n : 0, compressed, false, run.first, at - run.from, run.to - run.from);
          at += lengths[run.first + k]!;
        }
        pos += n;
      }
      run = { first: 0, count: 0, from: 0, to: 0 };
    };
    let off = 0;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      const plain = data.subarray(off, off + len);
      off += len;
      const base = bases?.[i];
      let d = this.deltaFrame(plain, base);
      if (d >= 0 && d > len * DELTA_SURE) {
        // not clearly worth it: compare with the blob compressed alone
        const n = compressInto(this.work, plain, this.spec.level);
        if (d > (n >= 0 ? n : len) * DELTA_WORTH) d = -1;
      }
      if (d >= 0) {
        flushRun();
        const m = this.cipher.sealInto(out, pos, this.dbuf.subarray(0, d));
        if (this.spec.verify !== false) this.verifyOpened(plain, out.subarray(pos, pos + m), true, base!);
        record(m, true, true);
        pos += m;
        continue;
      }
      if (!frames || len >= memberMax || len < FRAME_MEMBER_MIN) {
        flushRun();
        single(plain);
        continue;
      }
      if (run.count > 0 && run.to - run.from + len > frameTarget) flushRun();
      if (run.count === 0) run = { first: i, count: 0, from: off - len, to: off - len };
      run.count++;
      run.to += len;
    }
    flushRun();
    // the stored bytes are kept (in a pack being written) as long as their buffer: one that
    // compressed well is copied out of the bound-sized output, which would stay pinned whole
    // (a tree snapshot of 1,000,000 small files held 230 MB of such outputs at its peak)
    const copied = pos < out.length / 2;
    const stored = copied ? Buffer.from(out.buffer.slice(out.byteOffset, out.byteOffset + pos)) : out.subarray(0, pos);
    this.lastEncodeGarbage = copied ? out.length : 0;
    return { stored, ...r };
  }

  /** Delta frame of `plain` against `base` in dbuf; its length, or -1 when there is none. */
  private deltaFrame(plain: Uint8Array, base: Uint8Array | undefined): number {
    if (!base || base.length === 0 || this.spec.level === 0) return -1;
    if (this.dbuf.length < compressBound(plain.length)) this.dbuf = Buffer.allocUnsafeSlow(compressBound(plain.length));
    return compressWithDictInto(this.dbuf, plain, base, this.spec.level);
  }

  /** The work buffer, grown to at least `n` bytes (its contents are not kept when it grows). */
  private workFor(n: number): Buffer {
    if (this.work.length < n) this.work = Buffer.allocUnsafeSlow(Math.max(n, 1 << 20));
    return this.work;
  }

  /**
   * Re-decodes a freshly encoded blob and compares it with its plaintext (guards against
   * codec bugs). `stored` must not lie in the work buffer (it is sealed, or in the output).
   */
  private verifyEncoded(plain: Uint8Array, stored: Uint8Array, compressed: boolean, base?: Uint8Array): void {
    let back: Uint8Array = stored;
    if (compressed) {
      back = this.workFor(plain.length).subarray(0, plain.length);
      if (base) decompressWithDictInto(back, stored, base);
      else decompressInto(back, stored);
    }
    if (Buffer.compare(back, plain) !== 0) throw new Error('internal error: encoded blob does not decode to its plaintext');
  }

  /** verifyEncoded of a sealed blob: opened (fresh memory, freed once compared: Cipher.release), then compared. */
  private verifyOpened(plain: Uint8Array, sealed: Uint8Array, compressed: boolean, base?: Uint8Array): void {
    const opened = this.cipher.open(sealed, 'freshly encoded blob');
    try {
      this.verifyEncoded(plain, opened, compressed, base);
    } finally {
      this.cipher.release(opened);
    }
  }

  /** Decodes and verifies blobs into one buffer; CORRUPT naming the blob when one does not match its id. */
  decode(data: Uint8Array, items: readonly DecodeItem[], what: string): DecodedBatch {
    let total = 0;
    for (const it of items) total += it.rawLength;
    const out = Buffer.allocUnsafeSlow(total);
    return { plain: out, lengths: this.decodeInto(data, items, out, what) };
  }

  /**
   * Decodes and verifies blobs into `out` (consecutively, from its start, or at each item's
   * `places`; it must hold them, and may be shared memory), and the items with an `aside`
   * offset whole into `aside` as well. Returns the raw lengths.
   */
  decodeInto(data: Uint8Array, items: readonly DecodeItem[], out: Uint8Array, what: string, aside?: Uint8Array): number[] {
    const lengths = new Array<number>(items.length);
    // where each item without places goes: consecutively, in item order
    const posOf = new Array<number>(items.length);
    let pos = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      lengths[i] = it.rawLength;
      posOf[i] = it.places ? -1 : pos;
      if (!it.places) pos += it.rawLength;
    }
    const order = streamOrder(items);
    try {
      this.decodeItems(data, items, out, what, aside, posOf, order);
    } finally {
      // the frame in progress keeps what it has not consumed of its stored bytes; they may now change or go
      this.frames?.settle();
      if (this.frameOpened) this.cipher.release(this.frameOpened);
      this.frameOpened = undefined;
    }
    return lengths;
  }

  /** decodeInto's loop over the items, in `order` (item order when undefined); `posOf`: where each item without places goes. */
  private decodeItems(
    data: Uint8Array,
    items: readonly DecodeItem[],
    out: Uint8Array,
    what: string,
    aside: Uint8Array | undefined,
    posOf: readonly number[],
    order: readonly number[] | undefined,
  ): void {
    // the frame an unkeyed item last decoded in this call: offset in data, length, buffer (members of one frame are decoded once)
    let frameAt = -1;
    let frameLength = -1;
    let frameBuf: Buffer | undefined;
    for (let k = 0; k < items.length; k++) {
      const i = order ? order[k]! : k;
      const it = items[i]!;
      const at = posOf[i]!;
      const idHex = (): string => Buffer.from(it.id).toString('hex');
      if (it.offset + it.length > data.length) throw corrupt(`blob ${idHex()} in ${what}: stored bytes missing (pack truncated?)`);
      const places = it.places;
      if (!places && at + it.rawLength > out.length) throw new RangeError('decodeInto: output buffer too small');
      const asideAt = it.aside;
      if (asideAt !== undefined && (!aside || asideAt + it.rawLength > aside.length)) throw new RangeError('decodeInto: aside output missing or too small');
      let plain: Uint8Array;
      try {
        if (it.frame && it.frame.offset + it.rawLength > it.frame.rawLength) throw corrupt(`framed blob lies outside its frame (${it.frame.offset}+${it.rawLength} of ${it.frame.rawLength})`);
        if (it.frame && !streamed(it)) {
          const { offset, rawLength } = it.frame;
          // a keyed raw frame is kept in fbuf across calls (the next restore window may need it
          // again); an unkeyed one only within this call: in the work buffer when an encoder
          // made it large enough (snapshots' delta bases), else in fbuf
          const key = it.frameKey;
          const inWork = key === undefined && this.work.length >= rawLength;
          const same = key !== undefined ? key === this.fbufKey && this.fbufLength === rawLength : frameAt === it.offset && frameLength === rawLength && frameBuf === (inWork ? this.work : this.fbuf);
          if (!same) {
            frameAt = -1;
            this.fbufKey = undefined;
            const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `frame at ${it.offset} in ${what}`);
            if (!inWork && this.fbuf.length < rawLength) this.fbuf = Buffer.allocUnsafeSlow(Math.max(rawLength, 1 << 20));
            const buf = inWork ? this.work : this.fbuf;
            const f = buf.subarray(0, rawLength);
            try {
              if (it.compressed) decompressInto(f, opened);
              else if (opened.length !== rawLength) throw corrupt(`raw frame has ${opened.length} bytes, expected ${rawLength}`);
              else f.set(opened);
            } finally {
              this.cipher.release(opened);
            }
            if (!inWork) {
              this.fbufLength = rawLength;
              this.fbufKey = key;
            }
            frameAt = it.offset;
            frameLength = rawLength;
            frameBuf = buf;
          }
          plain = (key !== undefined ? this.fbuf : frameBuf!).subarray(offset, offset + it.rawLength);
          if (!places) out.set(plain, at);
        } else {
          // a whole blob, or a member of a keyed compressed frame: decoded straight into a place
          // that takes it whole, else aside, else into pbuf
          const whole = places ? wholePlace(places, it.rawLength) : at;
          if (whole >= 0) {
            if (whole + it.rawLength > out.length) throw new RangeError('decodeInto: output buffer too small');
            plain = out.subarray(whole, whole + it.rawLength);
          } else if (asideAt !== undefined) {
            plain = aside!.subarray(asideAt, asideAt + it.rawLength);
          } else {
            if (this.pbuf.length < it.rawLength) this.pbuf = Buffer.allocUnsafeSlow(Math.max(it.rawLength, 1 << 20));
            plain = this.pbuf.subarray(0, it.rawLength);
          }
          if (it.frame) this.readMember(it, data, plain, what);
          else this.decodeOne(it, data, plain, idHex);
        }
      } catch (err) {
        if (err instanceof StowageError) {
          const prefix = `blob ${idHex()} in ${what}`;
          throw corrupt(err.message.startsWith(prefix) ? err.message : `${prefix}: ${err.message}`, err);
        }
        throw err;
      }
      if (!this.hash(plain).equals(it.id)) throw corrupt(`blob ${idHex()} in ${what}: content does not match its id (hash mismatch)`);
      if (places) placeInto(out, plain, places, idHex);
      if (asideAt !== undefined && !(plain.buffer === aside!.buffer && plain.byteOffset === aside!.byteOffset + asideAt)) aside!.set(plain, asideAt);
    }
  }

  /**
   * Decodes member `it` of a keyed compressed frame into `dst` through the FrameDecoder: on from
   * where the frame in progress stopped when it is that frame (kept across calls) and the member
   * lies after what was decoded, else the frame opened from `data` and decoded from its start.
   */
  private readMember(it: DecodeItem, data: Uint8Array, dst: Uint8Array, what: string): void {
    const fd = (this.frames ??= new FrameDecoder());
    const { offset, rawLength } = it.frame!;
    if (fd.key !== it.frameKey || fd.length !== rawLength || fd.position > offset) {
      const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `frame at ${it.offset} in ${what}`);
      if (this.frameOpened) this.cipher.release(this.frameOpened); // the previous frame's, no longer read
      this.frameOpened = opened;
      fd.start(it.frameKey!, opened, rawLength); // read as it is until decodeInto ends (settle), then released
    }
    fd.read(dst, offset);
  }

  /** Plaintext bytes of keyed compressed frames decompressed so far (skipped bytes included): tests and benchmarks count them. */
  get frameBytesDecoded(): number {
    return this.frames?.decodedBytes ?? 0;
  }

  /** Opens and decompresses one whole (not framed) blob into `dst`. */
  private decodeOne(it: DecodeItem, data: Uint8Array, dst: Uint8Array, idHex: () => string): void {
    const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `blob ${idHex()}`);
    try {
      if (it.base) decompressWithDictInto(dst, opened, it.base);
      else if (it.compressed) decompressInto(dst, opened);
      else if (opened.length !== it.rawLength) throw corrupt(`raw blob has ${opened.length} bytes, expected ${it.rawLength}`);
      else dst.set(opened);
    } finally {
      this.cipher.release(opened); // fresh memory of a sealing cipher, freed now (Cipher.release)
    }
  }

  /** Bytes of the codec's own buffers (work, delta, frame cache, placed blob): tests pin what encoding and decoding keep. */
  get scratchBytes(): number {
    return this.work.length + this.dbuf.length + this.fbuf.length + this.pbuf.length + (this.frames?.keptBytes ?? 0);
  }

  /** Id of a plaintext under this repository's id hash. */
  id(plain: Uint8Array): Buffer {
    return this.hash(plain);
  }
}

/** True for a member of a keyed compressed frame: decoded through BlobCodec's FrameDecoder. */
function streamed(it: DecodeItem): boolean {
  return it.frame !== undefined && it.frameKey !== undefined && it.compressed;
}

/**
 * The order decodeInto handles `items` in (indices), or undefined for item order: items of no
 * keyed compressed frame first, in item order; then each such frame's members by their offset in
 * the frame (so it is decoded once, front to back), the frames in the order of their last member
 * among the items (the frame a job ends with is the one its codec keeps in progress, as the
 * codec pool assumes: lastFrameKept).
 */
function streamOrder(items: readonly DecodeItem[]): number[] | undefined {
  let groups: Map<string, number[]> | undefined;
  let sorted = true;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (!streamed(it)) continue;
    groups ??= new Map();
    const key = it.frameKey!;
    const g = groups.get(key);
    if (g) {
      if (items[g[g.length - 1]!]!.frame!.offset > it.frame!.offset) sorted = false;
      g.push(i);
      groups.delete(key); // re-inserted: the map's order is that of each frame's last member
      groups.set(key, g);
    } else groups.set(key, [i]);
  }
  if (!groups) return undefined;
  const order: number[] = [];
  for (let i = 0; i < items.length; i++) if (!streamed(items[i]!)) order.push(i);
  for (const g of groups.values()) {
    if (!sorted) g.sort((a, b) => items[a]!.frame!.offset - items[b]!.frame!.offset || a - b);
    for (const i of g) order.push(i);
  }
  return order;
}

/** The output offset of the first place that takes all `rawLength` bytes of a blob, or -1. */
function wholePlace(places: readonly number[], rawLength: number): number {
  for (let k = 0; k < places.length; k += 3) if (places[k + 1] === 0 && places[k + 2] === rawLength) return places[k]!;
  return -1;
}

/** Copies the parts of a verified blob's plaintext to its places (the one it was decoded into is skipped); CORRUPT when a place lies outside the blob. */
function placeInto(out: Uint8Array, plain: Uint8Array, places: readonly number[], idHex: () => string): void {
  for (let k = 0; k < places.length; k += 3) {
    const at = places[k]!;
    const from = places[k + 1]!;
    const len = places[k + 2]!;
    if (from + len > plain.length) throw corrupt(`blob ${idHex()}: ${plain.length} bytes, but the chunk list needs ${from}+${len}`);
    if (at + len > out.length) throw new RangeError('decodeInto: output buffer too small');
    if (plain.buffer === out.buffer && plain.byteOffset === out.byteOffset + at && len === plain.length) continue; // decoded there
    out.set(from === 0 && len === plain.length ? plain : plain.subarray(from, from + len), at);
  }
}

/**
 * A location's fields as a decode item; `basePlain` is required when the location is a delta
 * blob; `more`: the item's frameKey, places and aside. Every item has all of DecodeItem's
 * fields (undefined when unused): one object shape, built without spreads (V8 builds an
 * object literal with spreads through its slow path, about 1.5 µs and 750 bytes of heap
 * each instead of 0.1 µs and 300; a restore of docker.tar v5 builds 7,400 items twice).
 */
export function decodeItem(
  loc: Pick<EntryLocation, 'offset' | 'length' | 'rawLength' | 'compressed' | 'frame'> & { readonly base?: Uint8Array | undefined },
  id: Uint8Array,
  offset: number,
  basePlain?: Uint8Array,
  more?: Pick<DecodeItem, 'frameKey' | 'places' | 'aside'>,
): DecodeItem {
  if (loc.base && !basePlain) throw new Error(`internal error: delta blob ${Buffer.from(id).toString('hex')} decoded without its base`);
  return withFields(offset, loc.length, loc.rawLength, loc.compressed, id, loc.base ? basePlain : undefined, loc.frame, more?.frameKey, more?.places, more?.aside);
}

/**
 * DecodeItem.frameKey of a blob at `loc` of pack `pack`: the pack and the frame's offset for
 * a framed blob (the same for every member, across calls), undefined for a blob of its own.
 */
export function frameKeyOf(pack: string, loc: Pick<EntryLocation, 'offset' | 'frame'>): string | undefined {
  return loc.frame ? `${pack}@${loc.offset}` : undefined;
}

/** A DecodeItem with every field, in one order (see decodeItem); `it` with another id. */
export function withId(it: DecodeItem, id: Uint8Array): DecodeItem {
  return withFields(it.offset, it.length, it.rawLength, it.compressed, id, it.base, it.frame, it.frameKey, it.places, it.aside);
}

function withFields(
  offset: number,
  length: number,
  rawLength: number,
  compressed: boolean,
  id: Uint8Array,
  base: Uint8Array | undefined,
  frame: DecodeItem['frame'],
  frameKey: string | undefined,
  places: readonly number[] | undefined,
  aside: number | undefined,
): DecodeItem {
  // typed against Required<DecodeItem>, so a field added to DecodeItem must be added here too
  const it: { [K in keyof Required<DecodeItem>]: DecodeItem[K] } = { offset, length, rawLength, compressed, id, base, frame, frameKey, places, aside };
  return it;
}
