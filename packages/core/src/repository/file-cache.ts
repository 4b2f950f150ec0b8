/**
 * Immutable files of a remote repository kept in its local cache dir, as restic keeps its
 * snapshot files: every command lists the snapshots and, on S3, then GETs every snapshot file
 * (one more round trip before its data phase), and a restore read the latest one three times
 * in a row (the listing, the command, the restore). A file's name is the BLAKE3 of its stored
 * (sealed) bytes, so a cached copy is exactly the stored file or it is not used: each read
 * hashes it again, and a copy that does not match is removed and the file loaded from the
 * repository. The bytes are kept as stored (sealed), opened on every read as a loaded file is.
 *
 * Best effort and synchronous (small files, like the KDF hints): a cache that cannot be
 * written only costs the GETs. Files the repository no longer lists (forgotten snapshots) are
 * removed when the listing is taken (`keepOnly`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3Hex } from '../hash/blake3.js';

export class FileCache {
  constructor(
    /** The directory of one file type, e.g. `<cacheDir>/snapshots`. */
    readonly dir: string,
  ) {}

  private file(name: string): string | undefined {
    return /^[0-9a-f]{64}$/.test(name) ? path.join(this.dir, name) : undefined;
  }

  /** True when a copy of `name` is kept (unchecked: get() checks it). */
  has(name: string): boolean {
    const file = this.file(name);
    return file !== undefined && fs.existsSync(file);
  }

  /** The cached bytes of `name`, or undefined (not cached, or damaged: then removed). */
  get(name: string): Buffer | undefined {
    const file = this.file(name);
    if (!file) return undefined;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    if (blake3Hex(bytes) === name) return bytes;
    fs.rmSync(file, { force: true });
    return undefined;
  }

  /** Keeps a copy of `bytes`, the stored file `name` (written to a temporary name, then renamed). */
  put(name: string, bytes: Uint8Array): void {
    const file = this.file(name);
    if (!file) return;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, bytes, { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch {
      // a read-only cache: the next command loads the file again
    }
  }

  /** Removes cached files whose names are not in `names` (the repository's listing), and stray temporary files. */
  keepOnly(names: readonly string[]): void {
    let cached: string[];
    try {
      cached = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    const keep = new Set(names);
    for (const n of cached) if (!keep.has(n)) fs.rmSync(path.join(this.dir, n), { force: true });
  }
}
