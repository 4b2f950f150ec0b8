/**
 * Key-encryption keys: scrypt(password, salt) for key files (keys.ts), with a one-shot
 * prefetch so a CLI process can start the ~150 ms derivation on libuv's thread pool
 * while the rest of the program is still loading (prefetch.ts). Node built-ins only,
 * so it is cheap to import first.
 */
import { scrypt } from 'node:crypto';
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

function scryptAsync(password: string, salt: Uint8Array, k: KdfParams): Promise<Buffer> {
  mark('scrypt start');
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, KEK_BYTES, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (32 << 20) }, (err, key) => (mark('scrypt end'), err ? reject(err) : resolve(key)));
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
