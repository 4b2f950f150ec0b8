/**
 * The commit point of every snapshot: writing its snapshot file. A writer commits only under
 * the lock it holds: the lock is verified first (LOCKED when its file was removed or it is too
 * old to be trusted), and its signal stops the write once the lock is known to be lost.
 */
import type { RepositoryLock } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { encodeManifest, type SnapshotManifest } from './manifest.js';

/**
 * Writes the snapshot file of `manifest` under `lock`; returns the snapshot id. `verified`:
 * the caller verified the lock as its last step before this one (beside its last index file:
 * WriteSession.flush), so it is not asked again.
 */
export async function commitSnapshot(repo: Repository, lock: RepositoryLock, manifest: SnapshotManifest, opts: { readonly verified?: boolean } = {}): Promise<string> {
  if (!opts.verified) await lock.verify();
  return repo.saveFile('snapshot', encodeManifest(manifest), { signal: lock.signal });
}
