/**
 * Key changes under the repository's lock (restic's rules): adding a key takes a shared lock;
 * removing a key or changing the password takes the exclusive one, verifies it is still held
 * right before the old key file goes, and removes it under the lock's signal, so a lock lost
 * meanwhile (another process ran `unlock --remove-all`) stops the change with LOCKED before
 * anything is removed. The Repository methods of the same names do the work without a lock.
 */
import type { KdfParams, KeyInfo } from './keys.js';
import { lockRepository } from './lock.js';
import type { Repository } from './repository.js';

export interface KeyChangeOptions {
  readonly kdf?: KdfParams;
  readonly hostname?: string;
  readonly username?: string;
}

/** Adds a key file for `password` under a shared lock. */
export async function addKeyLocked(repo: Repository, password: string, opts: KeyChangeOptions = {}): Promise<KeyInfo> {
  await using _lock = await lockRepository(repo, 'shared');
  return await repo.addKey(password, opts);
}

/** Removes a key file (full name or unique prefix) under the exclusive lock; returns its name. */
export async function removeKeyLocked(repo: Repository, ref: string): Promise<string> {
  await using lock = await lockRepository(repo, 'exclusive');
  await lock.verify();
  return await repo.removeKey(ref, { signal: lock.signal });
}

/** Changes the password of the key in use under the exclusive lock (new key file first, then the old one goes). */
export async function changePasswordLocked(repo: Repository, password: string, opts: KeyChangeOptions = {}): Promise<KeyInfo> {
  await using lock = await lockRepository(repo, 'exclusive');
  await lock.verify();
  return await repo.changePassword(password, { ...opts, signal: lock.signal });
}
