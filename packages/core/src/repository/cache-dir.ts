/**
 * Where local caches live: $STOWAGE_CACHE_DIR, else $XDG_CACHE_HOME/stowage, else ~/.cache/stowage.
 * One sub-directory per repository id. Everything in it can be deleted at any time.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';

export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_CACHE_DIR) return path.resolve(env.STOWAGE_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'stowage');
  return path.join(homedir(), '.cache', 'stowage');
}

export function repoCacheDir(root: string, repoId: string): string {
  return path.join(root, repoId);
}
