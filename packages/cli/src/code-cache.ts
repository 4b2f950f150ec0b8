/**
 * Loads the CLI's CommonJS bundle through V8's code cache, so a command does not parse and
 * compile the ~2 MB bundle again every time it starts (Node 22's `module.enableCompileCache`
 * does the same; Node 20 has no such thing). bin/stowage.js uses it; node built-ins only.
 *
 * Contract:
 * - The cache is a file beside the bundle (`<bundle>.v8-cache`). It is only an acceleration:
 *   V8 checks it against the source, its own version and flags, and rejects a stale one
 *   (`cachedDataRejected`), which is then compiled from source as if there were no cache.
 * - When the cache is missing or was rejected, it is written when the process exits (with the
 *   functions this run compiled), to a temporary name and renamed, so concurrent commands never
 *   see a torn file. A directory that is not writable (a read-only install) just means no cache.
 * - `flagsOnHit`: V8 flags set once the module is loaded from an accepted cache, and only then.
 *   V8's flags are part of what a cache is checked against (a cache written under other flags is
 *   rejected), and V8 reads them when it checks and when it writes a cache: set after the check
 *   in a run that writes none, they leave the cache valid for every run, with or without them.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/** What happened to the code cache: `hit`, it was accepted; `miss`, there was none; `rejected`, V8 refused a stale one. */
export type CodeCacheStatus = 'hit' | 'miss' | 'rejected';

/** Runs the CommonJS module `file` (as `require` would) and returns its exports, using and refreshing its code cache (`<file>.v8-cache`). */
export function requireWithCodeCache(file: string, opts: { flagsOnHit?: string } = {}): { exports: unknown; status: CodeCacheStatus } {
  const cacheFile = `${file}.v8-cache`;
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // none yet, or unreadable: compile from source
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData !== undefined && { cachedData }) });
  const status: CodeCacheStatus = cachedData === undefined ? 'miss' : script.cachedDataRejected === true ? 'rejected' : 'hit';
  if (status !== 'hit') process.once('exit', () => writeCache(script, cacheFile));
  else if (opts.flagsOnHit) setFlagsFromString(opts.flagsOnHit);
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  const mod: { exports: unknown } = { exports: {} };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return { exports: mod.exports, status };
}

function writeCache(script: vm.Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
