/**
 * The first thing bin/stowage.js runs, before the rest of the CLI loads: when the repository
 * and a non-interactive password (--password-file, STOWAGE_PASSWORD_FILE, STOWAGE_PASSWORD;
 * see password.ts) are already known, start the password's key derivation in the background
 * (@stowage/core/prefetch). It only saves time; opening the repository checks everything.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { prefetchUnlock, prefetchUnlockRemote } from '@stowage/core/prefetch';

/** The value of an option given as `name value` or `name=value`, before any `--`. */
function optionValue(argv: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    for (const n of names) {
      if (a === n) return argv[i + 1];
      if (a.startsWith(`${n}=`)) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

export function prefetchFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): void {
  try {
    if (env.STOWAGE_AGENT_SOCK) return; // the key agent (opt-in) usually has the key: deriving it would only cost CPU
    const location = optionValue(argv, ['-r', '--repo']) ?? (env.STOWAGE_REPOSITORY || undefined);
    if (location === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return;
    const remote = /^s3:/.test(location);
    const file = optionValue(argv, ['--password-file']) ?? (env.STOWAGE_PASSWORD_FILE || undefined);
    const password = file !== undefined ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : env.STOWAGE_PASSWORD || undefined;
    if (!password) return;
    const hint = optionValue(argv, ['--key-hint']) ?? (env.STOWAGE_KEY_HINT || undefined);
    if (remote) {
      const cacheRoot = optionValue(argv, ['--cache-dir']) ?? (env.STOWAGE_CACHE_DIR || undefined);
      prefetchUnlockRemote(location, password, { ...(cacheRoot !== undefined && { cacheRoot: resolve(cacheRoot) }), ...(hint !== undefined && { hint }) });
    } else prefetchUnlock(location, password, hint);
  } catch {
    // best effort: the normal path reports any problem
  }
}
