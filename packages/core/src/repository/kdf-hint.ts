/**
 * KDF hints for remote repositories: the public KDF parameters (salt, N, r, p) of the key
 * file that last opened a repository at a remote location (S3), kept in the local cache so
 * the next command can start the ~150-200 ms scrypt derivation while it is still loading
 * (prefetch.ts), instead of after three requests (config, key listing, key file) made once
 * the AWS SDK is loaded. A local repository needs none: its key files are read from disk.
 *
 * A hint holds nothing secret (the same fields are in the key file, readable by anyone who
 * can read the bucket) and is trusted for nothing: a prefetched derivation is used only for
 * the same password, salt and parameters as the key file Repository.open reads (kek.ts).
 * Best effort: a missing, stale or unwritable hint only costs the overlap.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KdfParams } from './kek.js';

/** The KDF parameters of one key file. */
export interface KdfHint {
  /** Key file name (the key's id). */
  readonly name: string;
  readonly kdf: KdfParams;
  /** base64 */
  readonly salt: string;
}

/** False for locations whose files are local files (a local directory, the memory backend): the prefetch reads those directly, and file-cache.ts keeps nothing for them. */
export function isRemoteLocation(location: string): boolean {
  return !/^(local|memory):/.test(location) && !path.isAbsolute(location);
}

/** The hint file of a location (`backend.info.location`, e.g. `s3:http://host:port/bucket`). */
export function kdfHintFile(cacheRoot: string, location: string): string {
  const id = createHash('sha256').update(location).digest('hex').slice(0, 32);
  return path.join(cacheRoot, 'kdf-hints', `${id}.json`);
}

/** The hint remembered for `location`, or undefined. Synchronous: the prefetch runs before anything else. */
export function readKdfHint(cacheRoot: string, location: string): KdfHint | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(kdfHintFile(cacheRoot, location), 'utf8')) as Partial<KdfHint> & { location?: unknown };
    if (j.location !== location || typeof j.name !== 'string' || typeof j.salt !== 'string' || typeof j.kdf !== 'object' || j.kdf === null) return undefined;
    return { name: j.name, kdf: j.kdf, salt: j.salt };
  } catch {
    return undefined;
  }
}

/** Remembers the key file that opened the repository at a remote `location` (no write when unchanged). */
export function rememberKdfHint(cacheRoot: string, location: string, hint: KdfHint): void {
  if (!isRemoteLocation(location)) return;
  const old = readKdfHint(cacheRoot, location);
  if (old && old.name === hint.name && old.salt === hint.salt) return;
  try {
    const file = kdfHintFile(cacheRoot, location);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ location, name: hint.name, kdf: { algorithm: hint.kdf.algorithm, N: hint.kdf.N, r: hint.kdf.r, p: hint.kdf.p }, salt: hint.salt }) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    // a read-only cache: the next command derives after the key file is read, as without hints
  }
}
