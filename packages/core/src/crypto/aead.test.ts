import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { AesGcmCipher } from './aead.js';
import { BlobCodec } from '../repository/blob-codec.js';
import { cipherFromSpec } from './cipher-spec.js';
import { NULL_CIPHER } from './cipher.js';
import { expectCode } from '../testing/expect-code.js';

describe('AES-256-GCM cipher', () => {
  const key = randomBytes(32);
  const c = new AesGcmCipher(key);

  it('round-trips, with a fresh nonce every time (nonce || ciphertext || tag)', () => {
    for (const n of [0, 1, 15, 16, 17, 1000, 300_000]) {
      const plain = randomBytes(n);
      const a = c.seal(plain);
      const b = c.seal(plain);
      expect(a.length).toBe(n + 28);
      expect(a.equals(b)).toBe(false);
      expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
      expect(c.open(a, 'x').equals(plain)).toBe(true);
      expect(c.open(new Uint8Array(b), 'x').equals(plain)).toBe(true);
    }
  });

  it('release frees what open returned at once, and leaves the sealed input alone; the identity releases nothing', () => {
    const plain = randomBytes(300_000);
    const sealed = c.seal(plain);
    const opened = c.open(sealed, 'x');
    expect(opened.equals(plain)).toBe(true);
    c.release(opened);
    expect(opened.buffer.byteLength).toBe(0); // detached: the memory went back at once
    expect(c.open(sealed, 'x').equals(plain)).toBe(true);
    const view = NULL_CIPHER.open(plain, 'x');
    NULL_CIPHER.release(view);
    expect(view.equals(plain)).toBe(true);
  });

  it('does not leave the plaintext in the sealed bytes', () => {
    const plain = Buffer.from('MARKER-MARKER-MARKER-MARKER'.repeat(100));
    expect(c.seal(plain).includes(Buffer.from('MARKER'))).toBe(false);
  });

  it('every flipped bit is CORRUPT naming what was opened, never garbage', () => {
    const sealed = c.seal(Buffer.from('some secret content of a blob'));
    for (let i = 0; i < sealed.length * 8; i++) {
      const bad = Buffer.from(sealed);
      bad[i >> 3]! ^= 1 << (i & 7);
      let err: unknown;
      try {
        c.open(bad, 'index file abc');
      } catch (e) {
        err = e;
      }
      expect(isStowageError(err, 'CORRUPT')).toBe(true);
      expect((err as Error).message).toMatch(/^index file abc: authentication failed/);
    }
  });

  it('another key, a truncated message: CORRUPT', async () => {
    const sealed = c.seal(Buffer.from('hello'));
    await expectCode(() => new AesGcmCipher(randomBytes(32)).open(sealed, 'blob'), 'CORRUPT', /blob: authentication failed/);
    await expectCode(() => c.open(sealed.subarray(0, 27), 'blob'), 'CORRUPT', /too short/);
    await expectCode(() => c.open(sealed.subarray(0, sealed.length - 1), 'blob'), 'CORRUPT', /authentication failed/);
  });

  it('is built from its serialisable spec (worker threads)', () => {
    const w = cipherFromSpec(structuredClone({ algorithm: 'aes-256-gcm', key: new Uint8Array(key) }));
    expect(w.name).toBe('aes-256-gcm');
    expect(w.overhead).toBe(28);
    expect(w.open(c.seal(Buffer.from('x')), 'x').toString()).toBe('x');
    expect(() => new AesGcmCipher(randomBytes(16))).toThrow(TypeError);
  });

  it('sealInto writes in place what seal would, at any offset', () => {
    const plain = randomBytes(5000);
    const dst = Buffer.alloc(7000, 0xee);
    const n = c.sealInto(dst, 100, plain);
    expect(n).toBe(5028);
    expect(dst.subarray(0, 100).every((b) => b === 0xee)).toBe(true);
    expect(dst.subarray(100 + n).every((b) => b === 0xee)).toBe(true);
    expect(c.open(dst.subarray(100, 100 + n), 'x').equals(plain)).toBe(true);
    expect(() => c.sealInto(Buffer.alloc(5027), 0, plain)).toThrow(RangeError);
  });

  it('an encrypted BlobCodec round-trips batches and verifies keyed ids; damage is CORRUPT naming the blob', () => {
    const idKey = randomBytes(32);
    const codec = new BlobCodec({ level: 3, cipher: { algorithm: 'aes-256-gcm', key }, idKey });
    const blobs = [randomBytes(70_000), Buffer.alloc(90_000, 'abc'), Buffer.alloc(0), randomBytes(1)];
    const data = Buffer.concat(blobs);
    const enc = codec.encode(
      data,
      blobs.map((b) => b.length),
    );
    expect(enc.compressed).toEqual([false, true, false, false]);
    expect(enc.storedLengths[0]).toBe(70_028);
    expect(enc.storedLengths[1]).toBeLessThan(1000);
    let off = 0;
    const items = blobs.map((b, i) => {
      const it = { offset: off, length: enc.storedLengths[i]!, rawLength: b.length, compressed: enc.compressed[i]!, id: codec.id(b) };
      off += enc.storedLengths[i]!;
      return it;
    });
    expect(off).toBe(enc.stored.length);
    expect(codec.decode(enc.stored, items, 'pack p').plain.equals(data)).toBe(true);
    const bad = Buffer.from(enc.stored);
    bad[items[1]!.offset + 14]! ^= 2;
    expect(() => codec.decode(bad, items, 'pack p')).toThrow(new RegExp(`blob ${codec.id(blobs[1]!).toString('hex')} in pack p: .*authentication failed`));
    const other = new BlobCodec({ level: 3, cipher: { algorithm: 'aes-256-gcm', key }, idKey: randomBytes(32) });
    expect(() => other.decode(enc.stored, items, 'pack p')).toThrow(/does not match its id/);
  });
});
