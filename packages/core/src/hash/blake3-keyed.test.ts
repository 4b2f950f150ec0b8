import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake3, idHasher, keyedBlake3, textHash } from './blake3.js';

describe('keyed BLAKE3 ids', () => {
  it('idHasher(key) is keyed BLAKE3, call after call (one reused hasher)', () => {
    const key = randomBytes(32);
    const h = idHasher(key);
    for (const n of [0, 1, 1023, 1024, 1025, 13_000, 300_000, 5]) {
      const d = randomBytes(n);
      expect(h(d).equals(keyedBlake3(key, d))).toBe(true);
      expect(h(new Uint8Array(d)).equals(keyedBlake3(key, d))).toBe(true);
      expect(h(d).equals(blake3(d))).toBe(false);
    }
    const other = idHasher(randomBytes(32));
    const d = randomBytes(100);
    expect(other(d).equals(h(d))).toBe(false);
    expect(idHasher()(d).equals(blake3(d))).toBe(true);
  });

  it('matches the BLAKE3 keyed_hash test vector (key "whats the Elvish word for friend", empty input)', () => {
    // official BLAKE3 test_vectors.json, input_len 0, keyed_hash (first 32 bytes)
    const key = Buffer.from('whats the Elvish word for friend');
    expect(idHasher(key)(Buffer.alloc(0)).toString('hex')).toBe('92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26');
  });
});

describe('textHash', () => {
  it('is BLAKE3 of the UTF-8 bytes, cut to the length asked, call after call (the file map path keys of existing snapshots stay the same)', () => {
    const texts = ['', 'a', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'dir/ünïcödé/日本語.txt', 'bad \ufffd byte', 'x'.repeat(5000), 'emoji 🐳/layer.tar'];
    for (const t of texts) {
      const want = blake3(Buffer.from(t, 'utf8'));
      expect(textHash(t).equals(want)).toBe(true);
      expect(textHash(t, 16).equals(want.subarray(0, 16))).toBe(true);
    }
  });
});
