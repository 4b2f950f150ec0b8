/**
 * Key-encryption keys: scrypt(password, salt) for key files (keys.ts), with a one-shot
 * prefetch so a CLI process can start the ~150-200 ms derivation on libuv's thread pool
 * while the rest of the program is still loading (prefetch.ts). Node built-ins only at
 * import, so it is cheap to import first.
 *
 * The derivation runs in libsodium (sodium-native's prebuilt addon: its SSE2 scrypt, about
 * 25 % faster than OpenSSL's behind node:crypto, 155 against 205 ms here) when the key file's
 * parameters are ones libsodium's scrypt API can be asked for exactly (r = 8, p = 1, a 32-byte
 * salt: every key file stowage writes), else, or when the addon cannot load, in node:crypto.
 * Both compute the same scrypt (RFC 7914): the same bytes for the same inputs (kek.test.ts).
 */
import { scrypt } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { mark } from '../util/timeline.js';

/** scrypt parameters of a key file. */
export interface KdfParams {
  readonly algorithm: 'scrypt';
  /** CPU/memory cost, a power of two (memory = 128 * N * r bytes). */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const KEK_BYTES = 32;

/** scrypt, N a power of two 2^10..2^22, r 1..32, p 1..16, at most 1 GiB of memory. */
export function kdfSupported(k: KdfParams): boolean {
  return (
    typeof k === 'object' &&
    k !== null &&
    k.algorithm === 'scrypt' &&
    Number.isInteger(k.N) &&
    k.N >= 1 << 10 &&
    k.N <= 1 << 22 &&
    (k.N & (k.N - 1)) === 0 &&
    Number.isInteger(k.r) &&
    k.r >= 1 &&
    k.r <= 32 &&
    Number.isInteger(k.p) &&
    k.p >= 1 &&
    k.p <= 16 &&
    128 * k.N * k.r <= 1 << 30
  );
}

/**
 * Prefetched derivations, kept on globalThis so that a separately bundled prefetch entry
 * (the CLI loads a tiny one before its main bundle) and the main code share them.
 */
const PREFETCHED = Symbol.for('@stowage/core/kek-prefetch');
const prefetched: Map<string, { readonly password: string; readonly kek: Promise<Buffer> }> = ((globalThis as Record<symbol, unknown>)[PREFETCHED] ??= new Map()) as Map<
  string,
  { readonly password: string; readonly kek: Promise<Buffer> }
>;

function cacheKey(salt: Uint8Array, k: KdfParams): string {
  return `${Buffer.from(salt).toString('base64')}:${k.N}:${k.r}:${k.p}`;
}

/** The part of sodium-native's addon used here (its raw binding: sodium-native is pinned to one version). */
interface SodiumScrypt {
  crypto_pwhash_scryptsalsa208sha256_async(
    out: ArrayBuffer,
    outOffset: number,
    outLength: number,
    password: ArrayBuffer,
    passwordOffset: number,
    passwordLength: number,
    salt: ArrayBuffer,
    saltOffset: number,
    saltLength: number,
    opslimit: number,
    memlimit: number,
    done: (status: number) => void,
  ): void;
}

let sodium: SodiumScrypt | null | undefined;

/**
 * sodium-native's addon, loaded straight from its prebuild (2-3 ms; its JavaScript wrapper
 * and the modules it pulls in take 20-30 ms, which would delay the derivation's start), or
 * undefined when there is none for this platform.
 */
function sodiumScrypt(): SodiumScrypt | undefined {
  if (sodium === undefined) {
    sodium = null;
    try {
      const req = createRequire(import.meta.url);
      const dir = path.dirname(req.resolve('sodium-native/package.json'));
      const addon = req(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'sodium-native.node')) as Partial<SodiumScrypt>;
      if (typeof addon.crypto_pwhash_scryptsalsa208sha256_async === 'function') sodium = addon as SodiumScrypt;
    } catch {
      // no addon for this platform: node:crypto derives
    }
  }
  return sodium ?? undefined;
}

/** libsodium's scrypt salt length (its API takes no other). */
const SODIUM_SALT_BYTES = 32;

/** Which implementation derives a key under `salt` and `k` (for a non-empty password). */
export function scryptEngine(salt: Uint8Array, k: KdfParams): 'libsodium' | 'node:crypto' {
  const exact = k.r === 8 && k.p === 1 && salt.byteLength === SODIUM_SALT_BYTES && kdfSupported(k);
  return exact && sodiumScrypt() !== undefined ? 'libsodium' : 'node:crypto';
}

/**
 * scrypt(password, salt, N, 8, 1) in libsodium, or undefined when it cannot be asked for
 * exactly these parameters. libsodium's crypto_pwhash_scryptsalsa208sha256 takes an
 * opslimit and a memlimit and picks r = 8 and, when opslimit < memlimit / 32, p = 1 and the
 * largest N = 2^k with 2^k <= opslimit / 64: so opslimit = 32 N and memlimit = 2048 N ask
 * for exactly (N, 8, 1).
 */
function sodiumDerive(password: Buffer, salt: Uint8Array, k: KdfParams): Promise<Buffer> | undefined {
  if (password.byteLength === 0 || scryptEngine(salt, k) !== 'libsodium') return undefined;
  const addon = sodiumScrypt()!;
  const out = Buffer.alloc(KEK_BYTES);
  const s = Buffer.from(salt); // a copy the addon may read while the caller goes on
  return new Promise((resolve, reject) => {
    addon.crypto_pwhash_scryptsalsa208sha256_async(
      out.buffer as ArrayBuffer,
      out.byteOffset,
      KEK_BYTES,
      password.buffer as ArrayBuffer,
      password.byteOffset,
      password.byteLength,
      s.buffer as ArrayBuffer,
      s.byteOffset,
      s.byteLength,
      32 * k.N,
      2048 * k.N,
      (status) => (status === 0 ? resolve(out) : reject(new Error(`scrypt failed in libsodium (status ${status})`))),
    );
    mark('scrypt queued'); // on libuv's thread pool, the addon loaded
  });
}

function scryptAsync(password: string, salt: Uint8Array, k: KdfParams): Promise<Buffer> {
  mark('scrypt start');
  const pw = Buffer.from(password, 'utf8');
  const fast = sodiumDerive(pw, salt, k);
  if (fast) return fast.then((kek) => (mark('scrypt end'), kek));
  return new Promise((resolve, reject) => {
    scrypt(pw, salt, KEK_BYTES, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (32 << 20) }, (err, key) => (mark('scrypt end'), err ? reject(err) : resolve(key)));
  });
}

/** The key-encryption key for `password` under `salt` and `k` (a prefetched one when it matches). */
export function deriveKek(password: string, salt: Uint8Array, k: KdfParams): Promise<Buffer> {
  const key = cacheKey(salt, k);
  const hit = prefetched.get(key);
  if (hit !== undefined) {
    prefetched.delete(key);
    if (hit.password === password) return hit.kek;
  }
  return scryptAsync(password, salt, k);
}

/** Starts deriving a key-encryption key now; the next matching deriveKek call takes it. Failures surface there. */
export function prefetchKek(password: string, salt: Uint8Array, k: KdfParams): void {
  const kek = scryptAsync(password, salt, k);
  kek.catch(() => undefined);
  prefetched.set(cacheKey(salt, k), { password, kek });
}
