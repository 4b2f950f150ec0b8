/**
 * What this machine knows about the repositories it used: that a repository is encrypted
 * (borg's security directory does the same). A repository whose config later says "no
 * encryption" is refused (CORRUPT): someone replaced its config, and plaintext writes would
 * leak the data the password was meant to protect (a downgrade attack).
 *
 * Records live under `<cache root>/security/`, one file per repository id and one per
 * location (so a forged config with a new id is caught too), apart from the repositories'
 * caches (deleting a repository's cache directory keeps them; deleting the whole cache root
 * forgets them). Each is a small JSON file: `{ id, location, encrypted: true, since }`.
 * Writing one is best effort: a cache that cannot be written never stops a command. The calls
 * are synchronous (a few small local files, like the KDF hints): every encrypted command
 * checks the records right after its key opens, and each asynchronous call would cost a
 * thread-pool round trip there.
 */
import { createHash } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { corrupt } from '../errors.js';

interface EncryptionRecord {
  readonly id: string;
  readonly location: string;
  readonly encrypted: true;
  readonly since: string;
}

function files(cacheRoot: string, id: string, location: string): string[] {
  const dir = path.join(cacheRoot, 'security');
  const loc = createHash('sha256').update(location).digest('hex').slice(0, 32);
  return [path.join(dir, `id-${id.replace(/[^0-9a-zA-Z_-]/g, '_')}.json`), path.join(dir, `location-${loc}.json`)];
}

/** Remembers that repository `id` at `location` is encrypted (best effort). */
export function rememberEncrypted(cacheRoot: string, id: string, location: string): void {
  const record: EncryptionRecord = { id, location, encrypted: true, since: new Date().toISOString() };
  try {
    const missing = files(cacheRoot, id, location).filter((f) => !fsSync.existsSync(f));
    if (missing.length > 0) fsSync.mkdirSync(path.join(cacheRoot, 'security'), { recursive: true, mode: 0o700 });
    for (const f of missing) fsSync.writeFileSync(f, JSON.stringify(record) + '\n', { mode: 0o600 });
  } catch {
    // a read-only or missing cache: nothing remembered, nothing broken
  }
}

/**
 * CORRUPT naming the downgrade attack when repository `id` or `location` was recorded as
 * encrypted on this machine; called when the config says "no encryption".
 */
export async function refuseRecordedDowngrade(cacheRoot: string, id: string, location: string): Promise<void> {
  for (const f of files(cacheRoot, id, location)) {
    let rec: Partial<EncryptionRecord>;
    try {
      rec = JSON.parse(await fs.readFile(f, 'utf8')) as Partial<EncryptionRecord>;
    } catch {
      continue;
    }
    if (rec.encrypted !== true) continue;
    const which = rec.id === id ? `repository ${id}` : `the repository at ${location} (then ${rec.id}, now ${id})`;
    throw corrupt(
      `${which} was encrypted when this machine used it (since ${rec.since ?? '?'}), but its config now says "no encryption": ` +
        `the config was replaced (a downgrade attack: plaintext writes would expose your data); refusing to read or write it. ` +
        `If you re-created the repository as plaintext on purpose, delete ${f}`,
    );
  }
}
