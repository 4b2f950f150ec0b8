/**
 * `@stowage/core/prefetch`: a light entry point (node built-ins, the layout, kek.ts) that
 * starts deriving the key-encryption keys of a local encrypted repository's key files from
 * a password while the rest of a program is still loading, so the ~150 ms of scrypt overlap
 * the module loading instead of following it.
 *
 * Best effort: it never throws, trusts nothing (Repository.open still checks every key
 * file, and uses a prefetched key only for the same password, salt and parameters), and a
 * wrong guess costs only the derivation. At most 4 key files are prefetched. The few small
 * reads are synchronous on purpose: the derivation starts before the module loader runs on.
 * Remote repositories (S3) use the KDF hint this machine remembered (prefetchUnlockRemote).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dirOf, pathOf } from './backend/layout.js';
import { formatLocation, parseLocation } from './backend/location.js';
import { defaultCacheRoot } from './repository/cache-dir.js';
import { readKdfHint } from './repository/kdf-hint.js';
import { kdfSupported, prefetchKek, type KdfParams } from './repository/kek.js';

const MAX_KEYS = 4;

/** Starts deriving the keys that `password` would need to open the repository at `location` (a local directory). */
export function prefetchUnlock(location: string, password: string, hint?: string): void {
  try {
    const config = JSON.parse(readFileSync(join(location, pathOf({ type: 'config', name: 'config' })), 'utf8')) as { encryption?: { kdf?: string } };
    if (config.encryption?.kdf !== 'scrypt') return;
    const names = readdirSync(join(location, dirOf('key'))).filter((n) => !n.startsWith('.'));
    const pick = hint ? names.filter((n) => n.startsWith(hint)) : names;
    if (pick.length === 0 || pick.length > MAX_KEYS) return;
    for (const name of pick) {
      const j = JSON.parse(readFileSync(join(location, pathOf({ type: 'key', name })), 'utf8')) as { kdf?: KdfParams & { salt?: string } };
      const k = j.kdf;
      if (k === undefined || typeof k.salt !== 'string' || !kdfSupported(k)) continue;
      prefetchKek(password, Buffer.from(k.salt, 'base64'), { algorithm: 'scrypt', N: k.N, r: k.r, p: k.p });
    }
  } catch {
    // best effort: opening the repository reports any problem
  }
}

/**
 * The same for a remote repository (an `s3:` location as given to -r): derives with the KDF
 * parameters of the key file that last opened it on this machine, remembered under the
 * cache root (repository/kdf-hint.ts; `cacheRoot` default: STOWAGE_CACHE_DIR, ~/.cache/stowage).
 */
export function prefetchUnlockRemote(location: string, password: string, opts: { cacheRoot?: string; hint?: string } = {}): void {
  try {
    const loc = parseLocation(location);
    if (loc.kind === 'local') return;
    const h = readKdfHint(opts.cacheRoot ?? defaultCacheRoot(), formatLocation(loc));
    if (h === undefined || (opts.hint !== undefined && !h.name.startsWith(opts.hint)) || !kdfSupported(h.kdf)) return;
    prefetchKek(password, Buffer.from(h.salt, 'base64'), { algorithm: 'scrypt', N: h.kdf.N, r: h.kdf.r, p: h.kdf.p });
  } catch {
    // best effort
  }
}
