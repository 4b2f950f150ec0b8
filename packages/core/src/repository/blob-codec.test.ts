/**
 * Blob encoding: frames of small blobs, deltas and singles decode back to their plaintext
 * through a real pack (writer, trailer, entries), plain and sealed; damage is CORRUPT.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { parsePackTail } from '../pack/pack-reader.js';
import { PackWriter, addEncoded } from '../pack/pack-writer.js';
import { seeded } from '../testing/fixtures.js';
import { BlobCodec, decodeItem, type CodecSpec } from './blob-codec.js';

const specs: [string, CodecSpec][] = [
  ['plain', { level: 3, cipher: { algorithm: 'none' } as CodecSpec['cipher'] }],
  ['sealed', { level: 3, cipher: { algorithm: 'aes-256-gcm', key: randomBytes(32) } }],
];

/** Encodes `blobs` (with frames up to `target`), packs them, and decodes every entry of the pack. */
function roundTrip(codec: BlobCodec, blobs: Buffer[], target: number, bases?: (Buffer | undefined)[]) {
  const spans: number[] = [];
  const parts: Buffer[] = [...blobs];
  let at = blobs.reduce((a, b) => a + b.length, 0);
  for (const b of bases ?? []) {
    spans.push(b ? at : 0, b ? b.length : 0);
    if (b) {
      parts.push(b);
      at += b.length;
    }
  }
  const enc = codec.encode(
    Buffer.concat(parts),
    blobs.map((b) => b.length),
    bases && spans,
    target,
  );
  const writer = new PackWriter(codec.cipher);
  const ids = blobs.map((b) => blake3(b));
  addEncoded(
    () => writer,
    enc,
    blobs.map((b, i) => ({ id: ids[i]!, type: 'data' as const, rawLength: b.length, base: bases?.[i] && blake3(bases[i]!) })),
  );
  const pack = writer.finalize();
  const bytes = pack.bytes;
  const { entries } = parsePackTail(bytes, bytes.length, codec.cipher, 'test pack');
  const items = entries.map((e) => decodeItem(e, e.id, e.offset, e.base && bases![ids.findIndex((id) => id.equals(e.id))]));
  const out = codec.decode(bytes, items, 'test pack');
  return { enc, entries, bytes, items, out };
}

describe('blob codec', () => {
  for (const [name, spec] of specs) {
    describe(name, () => {
      const codec = new BlobCodec(spec);
      const text = (i: number) => Buffer.from(`file ${i}: ${'some compressible text '.repeat(50 + i)}`);

      it('frames runs of small blobs, keeps large ones alone, and decodes every member', () => {
        const blobs = [...Array.from({ length: 12 }, (_, i) => text(i)), seeded('big', 300_000), ...Array.from({ length: 5 }, (_, i) => text(100 + i))];
        const { enc, entries, out } = roundTrip(codec, blobs, 8192);
        expect(enc.frameStart.filter((f) => f !== -1).length).toBeGreaterThanOrEqual(12);
        expect(enc.frameStart[12]).toBe(-1); // the large one stays alone
        expect(entries.filter((e) => e.frame).length).toBe(enc.frameStart.filter((f) => f !== -1).length);
        expect(out.plain.equals(Buffer.concat(entries.map((e) => blobs.find((b) => blake3(b).equals(e.id))!)))).toBe(true);
        // members of one frame share its stored bytes; frames stay within the target
        for (const e of entries.filter((x) => x.frame)) expect(e.frame!.rawLength).toBeLessThanOrEqual(8192);
      });

      it('stored bytes that compressed well come in a buffer of their size (a pack keeps them as long as their buffer)', () => {
        const squeezed = codec.encode(Buffer.concat([text(1), text(2), text(3)]), [text(1).length, text(2).length, text(3).length], undefined, 8192);
        expect(squeezed.stored.length).toBeLessThan(text(1).length);
        expect(squeezed.stored.buffer.byteLength).toBe(squeezed.stored.length);
        const noise = seeded('noise', 50_000);
        const raw = codec.encode(noise, [noise.length]);
        expect(raw.stored.length).toBeGreaterThanOrEqual(noise.length);
      });

      it('lastEncodeGarbage: the output left behind when the stored bytes were copied out of it, else 0 (codec workers count it)', () => {
        const plain = Buffer.concat([text(1), text(2), text(3)]);
        const squeezed = codec.encode(plain, [text(1).length, text(2).length, text(3).length], undefined, 8192);
        expect(squeezed.stored.buffer.byteLength).toBe(squeezed.stored.length); // copied out
        expect(codec.lastEncodeGarbage).toBeGreaterThanOrEqual(plain.length); // the bound-sized output
        const noise = seeded('noise', 50_000);
        const raw = codec.encode(noise, [noise.length]);
        expect(raw.stored.buffer.byteLength).toBeGreaterThan(raw.stored.length); // the output itself
        expect(codec.lastEncodeGarbage).toBe(0);
      });

      it('a frame that does not compress is stored raw and still decodes', () => {
        const blobs = Array.from({ length: 6 }, (_, i) => seeded(`rnd${i}`, 3000));
        const { entries, out } = roundTrip(codec, blobs, 65536);
        expect(entries.every((e) => e.frame && !e.compressed)).toBe(true);
        expect(out.plain.equals(Buffer.concat(blobs))).toBe(true);
      });

      it('deltas are never framed; a delta against its base decodes', () => {
        const base = seeded('base', 20_000);
        const changed = Buffer.from(base);
        changed[100]! ^= 1;
        const blobs = [text(1), changed, text(2)];
        const { enc, entries, out } = roundTrip(codec, blobs, 65536, [undefined, base, undefined]);
        expect(enc.delta).toEqual([false, true, false]);
        expect(entries.find((e) => e.base)!.frame).toBeUndefined();
        expect(out.lengths).toEqual(blobs.map((b) => b.length));
      });

      it('a frame named by frameKey is decompressed once across calls; its members are still checked against their ids', () => {
        const blobs = Array.from({ length: 8 }, (_, i) => text(i));
        const { bytes, items } = roundTrip(codec, blobs, 65536);
        expect(new Set(items.map((x) => x.offset)).size).toBe(1); // one frame
        const keyed = items.map((x) => ({ ...x, frameKey: 'pack@0' }));
        const fresh = new BlobCodec(spec);
        expect(fresh.decode(bytes, keyed.slice(0, 3), 'test pack').plain.equals(Buffer.concat(blobs.slice(0, 3)))).toBe(true);
        // the next call (the next window) reuses the frame: even damaged stored bytes are not decompressed again
        const bad = Buffer.from(bytes);
        bad[items[0]!.offset + 20]! ^= 0xff;
        expect(fresh.decode(bad, keyed.slice(3), 'test pack').plain.equals(Buffer.concat(blobs.slice(3)))).toBe(true);
        // without a key (or with another one) the frame is decompressed, and the damage is found
        expect(() => fresh.decode(bad, items.slice(3), 'test pack')).toThrow(/blob [0-9a-f]{64} in test pack/);
        // a key naming the wrong frame cannot hand out wrong bytes: each member is checked against its id
        const other = roundTrip(
          codec,
          blobs.map((b) => Buffer.concat([Buffer.from('F'), b.subarray(1)])),
          65536,
        ); // same lengths: a frame of the same size
        fresh.decode(bytes, keyed.slice(0, 1), 'test pack');
        let err: unknown;
        try {
          // members after the one decoded: the frame kept in progress is decoded on
          fresh.decode(
            other.bytes,
            other.items.slice(1).map((x) => ({ ...x, frameKey: 'pack@0' })),
            'test pack',
          );
        } catch (e) {
          err = e;
        }
        expect(isStowageError(err, 'CORRUPT')).toBe(true);
      });

      it('a keyed frame is decoded only up to the last member a call needs, on from there in the next call, and from its start again for a member behind', () => {
        // 40 members of about 40 KB: a frame of 1.6 MB in blocks of at most 128 KiB
        const blobs = Array.from({ length: 40 }, (_, i) => Buffer.concat([seeded(`fm ${i}`, 8000), Buffer.from(`member ${i} `.repeat(3000))]));
        const { bytes, items } = roundTrip(codec, blobs, 4 << 20);
        expect(new Set(items.map((x) => x.offset)).size).toBe(1);
        const frameLength = items[0]!.frame!.rawLength;
        const keyed = items.map((x) => ({ ...x, frameKey: 'pack@0' }));
        const ends = (i: number) => keyed[i]!.frame!.offset + keyed[i]!.rawLength;
        const fresh = new BlobCodec(spec);
        // members 2 and 5, given out of order: decoded front to back, to within a block of member 5's end
        const a = fresh.decode(bytes, [keyed[5]!, keyed[2]!], 'test pack');
        expect(a.plain.equals(Buffer.concat([blobs[5]!, blobs[2]!]))).toBe(true);
        expect(fresh.frameBytesDecoded).toBeGreaterThanOrEqual(ends(5));
        expect(fresh.frameBytesDecoded).toBeLessThanOrEqual(ends(5) + 128 * 1024);
        expect(fresh.frameBytesDecoded).toBeLessThan(frameLength / 2);
        // the next call goes on from there: damaged stored bytes are not read again, and the frame is decoded once in all
        const bad = Buffer.from(bytes);
        bad[items[0]!.offset + 20]! ^= 0xff;
        const b = fresh.decode(bad, keyed.slice(6), 'test pack');
        expect(b.plain.equals(Buffer.concat(blobs.slice(6)))).toBe(true);
        expect(fresh.frameBytesDecoded).toBe(frameLength);
        // a member behind the frame's position: the frame is opened and decoded again from its start (here: damaged, so CORRUPT naming the blob)
        expect(() => fresh.decode(bad, [keyed[0]!], 'test pack')).toThrow(/blob [0-9a-f]{64} in test pack/);
        const c = fresh.decode(bytes, [keyed[1]!, keyed[39]!], 'test pack');
        expect(c.plain.equals(Buffer.concat([blobs[1]!, blobs[39]!]))).toBe(true);
        // and a truncated frame is CORRUPT once decoding reaches the missing part
        const cut = Buffer.from(bytes);
        const short = keyed.map((x) => ({ ...x, length: x.length - 200, frameKey: 'pack@1' }));
        if (name === 'plain') expect(() => fresh.decode(cut, short.slice(30), 'test pack')).toThrow(/blob [0-9a-f]{64} in test pack: zstd frame/);
        else expect(() => fresh.decode(cut, short.slice(30), 'test pack')).toThrow(/test pack/);
      });

      it("one work buffer serves a batch's compression, verification and unkeyed frame reads: no second buffer of a unit's size", () => {
        const fresh = new BlobCodec(spec);
        const blobs = Array.from({ length: 300 }, (_, i) => Buffer.concat([seeded(`member ${i}`, 1000), Buffer.alloc(3000 + i, i)])); // 1.3 MB in one compressed frame
        const total = blobs.reduce((n, b) => n + b.length, 0);
        const { items, bytes } = roundTrip(fresh, blobs, 4 << 20);
        expect(new Set(items.map((x) => x.offset)).size).toBe(1);
        const afterEncode = fresh.scratchBytes;
        expect(afterEncode).toBeLessThan(1.5 * total); // not a compression buffer and a verification buffer
        // a snapshot's delta bases are read without frameKey: decoded into the same work buffer
        fresh.decode(bytes, items, 'test pack');
        expect(fresh.scratchBytes).toBe(afterEncode);
        // a restore window's keyed frame is decoded member by member straight into the output
        // (FrameDecoder): decoded to its end, the codec keeps no buffer of it
        fresh.decode(
          bytes,
          items.map((x) => ({ ...x, frameKey: 'pack@0' })),
          'test pack',
        );
        expect(fresh.scratchBytes).toBe(afterEncode);
      });

      it('places: blobs decode straight to where their uses lie (parts, twice, frame members, deltas), each checked whole', () => {
        const base = seeded('pbase', 20_000);
        const changed = Buffer.from(base);
        changed[7]! ^= 1;
        const big = seeded('pbig', 300_000);
        const blobs = [text(1), text(2), big, changed];
        const { bytes, items } = roundTrip(codec, blobs, 65536, [undefined, undefined, undefined, base]);
        const byId = (b: Buffer) => items.find((x) => Buffer.from(x.id).equals(blake3(b)))!;
        // a window: big[100..5100), text 2 whole, text 1 whole, big whole, text 2 again, the delta blob's tail
        const uses: [Buffer, number, number][] = [
          [big, 100, 5000],
          [blobs[1]!, 0, blobs[1]!.length],
          [blobs[0]!, 0, blobs[0]!.length],
          [big, 0, big.length],
          [blobs[1]!, 3, 40],
          [changed, 19_000, 1000],
        ];
        const places = new Map<Buffer, number[]>();
        let at = 0;
        for (const [b, from, len] of uses) {
          places.set(b, [...(places.get(b) ?? []), at, from, len]);
          at += len;
        }
        const out = Buffer.alloc(at);
        const placed = [...places].map(([b, p]) => ({ ...byId(b), places: p }));
        expect(codec.decodeInto(bytes, placed, out, 'test pack')).toEqual(placed.map((x) => x.rawLength));
        expect(out.equals(Buffer.concat(uses.map(([b, from, len]) => b.subarray(from, from + len))))).toBe(true);
        // a place outside its blob is CORRUPT; damage in a blob decoded into a part-only place is still found
        expect(() => codec.decodeInto(bytes, [{ ...byId(big), places: [0, big.length - 10, 20] }], Buffer.alloc(20), 'test pack')).toThrow(/chunk list needs/);
        const bad = Buffer.from(bytes);
        bad[byId(big).offset + 1000]! ^= 0xff;
        let err: unknown;
        try {
          codec.decodeInto(bad, [{ ...byId(big), places: [0, 100, 5000] }], Buffer.alloc(5000), 'test pack');
        } catch (e) {
          err = e;
        }
        expect(isStowageError(err, 'CORRUPT')).toBe(true);
      });

      it('aside: blobs kept for a later window go whole to their aside offset, beside their places or with none, each checked whole', () => {
        const big = seeded('abig', 300_000);
        const blobs = [text(1), text(2), big, text(3)];
        const { bytes, items } = roundTrip(codec, blobs, 65536);
        const byId = (b: Buffer) => items.find((x) => Buffer.from(x.id).equals(blake3(b)))!;
        // the window needs text 2 and a part of big (both kept as well); text 1 (a frame member) and text 3 only aside
        const out = Buffer.alloc(blobs[1]!.length + 500);
        const aside = Buffer.alloc(blobs[0]!.length + big.length + blobs[1]!.length + blobs[3]!.length);
        const at = [0, blobs[0]!.length, blobs[0]!.length + big.length, blobs[0]!.length + big.length + blobs[1]!.length];
        const job = [
          { ...byId(blobs[0]!), places: [], aside: at[0] },
          { ...byId(blobs[1]!), places: [0, 0, blobs[1]!.length], aside: at[2] },
          { ...byId(big), places: [blobs[1]!.length, 1000, 500], aside: at[1] },
          { ...byId(blobs[3]!), places: [], aside: at[3] },
        ];
        codec.decodeInto(bytes, job, out, 'test pack', aside);
        expect(out.equals(Buffer.concat([blobs[1]!, big.subarray(1000, 1500)]))).toBe(true);
        expect(aside.equals(Buffer.concat([blobs[0]!, big, blobs[1]!, blobs[3]!]))).toBe(true);
        // an aside offset without aside memory (or past its end) is refused
        expect(() => codec.decodeInto(bytes, job, out, 'test pack')).toThrow(RangeError);
        expect(() => codec.decodeInto(bytes, job, out, 'test pack', aside.subarray(1))).toThrow(RangeError);
        // damage in a blob wanted only aside is still found
        const bad = Buffer.from(bytes);
        bad[byId(big).offset + 1000]! ^= 0xff;
        let err: unknown;
        try {
          codec.decodeInto(bad, [{ ...byId(big), places: [], aside: 0 }], out, 'test pack', aside);
        } catch (e) {
          err = e;
        }
        expect(isStowageError(err, 'CORRUPT')).toBe(true);
      });

      it('a damaged frame is CORRUPT, naming a member', () => {
        const blobs = Array.from({ length: 8 }, (_, i) => text(i));
        const { bytes, items } = roundTrip(codec, blobs, 65536);
        const bad = Buffer.from(bytes);
        bad[items[0]!.offset + 20]! ^= 0xff;
        let err: unknown;
        try {
          codec.decode(bad, items, 'test pack');
        } catch (e) {
          err = e;
        }
        expect(isStowageError(err, 'CORRUPT')).toBe(true);
        expect((err as Error).message).toMatch(/blob [0-9a-f]{64} in test pack/);
      });
    });
  }
});
