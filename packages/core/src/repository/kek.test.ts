import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveKek, scryptEngine, type KdfParams } from './kek.js';

const scrypt = (N: number, r = 8, p = 1): KdfParams => ({ algorithm: 'scrypt', N, r, p });
const reference = (password: string, salt: Uint8Array, k: KdfParams): Buffer => scryptSync(Buffer.from(password, 'utf8'), salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (32 << 20) });

describe('key-encryption keys', () => {
  it("derives in libsodium for stowage's key files (r = 8, p = 1, 32-byte salt) on this platform", () => {
    // sodium-native ships a prebuild for linux-x64 (this machine and CI): a missing addon would silently cost ~50 ms a command
    if (`${process.platform}-${process.arch}` === 'linux-x64') expect(scryptEngine(randomBytes(32), scrypt(1 << 16))).toBe('libsodium');
    expect(scryptEngine(randomBytes(16), scrypt(1 << 16))).toBe('node:crypto');
    expect(scryptEngine(randomBytes(32), scrypt(1 << 16, 4))).toBe('node:crypto');
    expect(scryptEngine(randomBytes(32), scrypt(1 << 16, 8, 2))).toBe('node:crypto');
  });

  it('gives the same key as scrypt in node:crypto (RFC 7914), for every N, password and salt', async () => {
    for (const [password, N] of [
      ['x', 1 << 10],
      ['correct horse battery staple', 1 << 11],
      ['pässwörd ✓ 🔑', 1 << 12],
      ['a'.repeat(300), 1 << 14],
    ] as const) {
      const salt = randomBytes(32);
      const k = scrypt(N);
      expect((await deriveKek(password, salt, k)).toString('hex')).toBe(reference(password, salt, k).toString('hex'));
    }
  });

  it('gives the same key for the known answer of RFC 7914 section 12 (N = 16384, r = 8, p = 1, the salt made 32 bytes long)', async () => {
    // RFC 7914's vector uses a 13-byte salt ("SodiumChloride"), which libsodium's API does not take: node:crypto answers it
    const rfc = await deriveKek('pleaseletmein', Buffer.from('SodiumChloride'), scrypt(16384));
    expect(rfc.toString('hex')).toBe('7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2');
    const salt = Buffer.alloc(32, 'SodiumChloride');
    expect((await deriveKek('pleaseletmein', salt, scrypt(16384))).equals(reference('pleaseletmein', salt, scrypt(16384)))).toBe(true);
  });

  it('falls back to node:crypto for other parameters, with the same result', async () => {
    for (const k of [scrypt(1 << 10, 4), scrypt(1 << 10, 8, 2), scrypt(1 << 10, 1, 1)]) {
      const salt = randomBytes(32);
      expect((await deriveKek('pw', salt, k)).equals(reference('pw', salt, k))).toBe(true);
    }
    const short = randomBytes(20);
    expect((await deriveKek('pw', short, scrypt(1 << 10))).equals(reference('pw', short, scrypt(1 << 10)))).toBe(true);
  });
});
