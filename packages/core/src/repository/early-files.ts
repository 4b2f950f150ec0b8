/**
 * Snapshot files read while the repository opens (OpenOptions.readSnapshotsEarly): their names
 * are listed and their stored (sealed) bytes read while the password's key is derived, so that
 * what a command does with its snapshots after the key (a repeat snapshot: the unchanged-input
 * check, a restore's "latest") needs no more reads. Nothing here needs the key or trusts what it
 * read: Repository.loadFile checks the bytes against their name and opens them with the key as
 * it does any file it reads, and which snapshots exist is still decided by a listing taken when
 * it counts (a snapshot's, under its lock: snapshot/find.ts). A failed early read only costs the
 * read again.
 */
import type { Backend } from '../backend/backend.js';
import { mark } from '../util/timeline.js';
import type { FileCache } from './file-cache.js';

/** More snapshot files than this are not read early (each is a few KB; the listing still is). */
export const EARLY_FILES_MAX = 256;

export class EarlyFiles {
  readonly #bytes = new Map<string, Promise<Uint8Array | undefined>>();
  /** The names listed, or undefined when the listing failed. */
  readonly names: Promise<readonly string[] | undefined>;

  /**
   * Lists the snapshot files of `backend` and starts reading each (at most EARLY_FILES_MAX):
   * from `cache` when it holds the file (a remote repository's local copies), else from the
   * backend.
   */
  constructor(backend: Backend, cache: FileCache | undefined, max = EARLY_FILES_MAX) {
    this.names = (async () => {
      const names: string[] = [];
      for await (const f of backend.list('snapshot')) names.push(f.name);
      if (names.length <= max) {
        for (const name of names) {
          if (cache?.has(name)) continue; // Repository.loadFile reads the local copy
          this.#bytes.set(
            name,
            backend.load({ type: 'snapshot', name }).then(
              (b) => b,
              () => undefined,
            ),
          );
        }
      }
      void Promise.all(this.#bytes.values()).then(() => mark('snapshot files read early', { files: names.length, read: this.#bytes.size }));
      return names;
    })().catch(() => undefined);
  }

  /** The stored bytes of snapshot file `name` as read early (unchecked), or undefined when it was not read. */
  async bytes(name: string): Promise<Uint8Array | undefined> {
    await this.names;
    return this.#bytes.get(name);
  }

  /** Resolves once every early read has ended (before the backend closes). */
  async settled(): Promise<void> {
    await this.names;
    await Promise.all(this.#bytes.values());
  }
}
