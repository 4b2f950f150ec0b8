/**
 * Loads the CLI's CommonJS bundle through V8's code cache, so a command does not parse and
 * compile the ~2 MB bundle again every time it starts (Node 22's `module.enableCompileCache`
 * does the same; Node 20 has no such thing). bin/stowage.js uses it; node built-ins only.
 *
 * Contract:
 * - The cache is a file beside the bundle (`<bundle>.v8-cache`, or `<bundle>.<key>.v8-cache`
 *   with a `key`: bin/stowage.js keeps one per command, see commandCacheKey). It is only an acceleration:
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

/**
 * The commands that get a code cache of their own (`stowage --help`; code-cache.test.ts pins the
 * list against it). A cache holds the functions compiled by the run that wrote it, and V8
 * compiles a function when it first runs: a cache written by `stowage --version` (the first
 * command of a fresh install, often) left a snapshot to compile its whole path lazily every
 * time, about 30 ms of CPU per command (Runtime_CompileLazy 0.16 CPU-s over five snapshots,
 * native-bench/README.md, hsnap's late section).
 */
export const CACHED_COMMANDS: readonly string[] = [
  'init',
  'snapshot',
  'snapshots',
  'restore',
  'ls',
  'find',
  'diff',
  'dump',
  'repair',
  'forget',
  'gc',
  'check',
  'unlock',
  'key',
  'version',
  'completion',
  'serve',
  'copy',
  'agent',
];

/**
 * The code cache key of a command line (process.argv): the first argument that names a command
 * of CACHED_COMMANDS, or undefined (the shared cache). An option's value that happens to be a
 * command name only picks another cache, which is as valid: the key never changes what runs.
 * With node options (`execArgv`, e.g. the launcher's V8 flags), a tag of them follows
 * (`snapshot-<tag>`, `any-<tag>` without a command).
 */
export function commandCacheKey(argv: readonly string[], execArgv: readonly string[] = []): string | undefined {
  let command: string | undefined;
  for (let i = 2; i < argv.length && command === undefined; i++) if (CACHED_COMMANDS.includes(argv[i]!)) command = argv[i];
  const flags = flagsTag(execArgv);
  return flags === undefined ? command : `${command ?? 'any'}-${flags}`;
}

/**
 * A short lower-case tag for node's command-line options (process.execArgv), or undefined when
 * there are none: V8 rejects a cache written under other flags, so runs with and without
 * options (the launcher's `#!` line against `node bin/stowage.js`) keep caches of their own
 * instead of rewriting one another's.
 */
function flagsTag(execArgv: readonly string[]): string | undefined {
  if (execArgv.length === 0) return undefined;
  let h = 0x811c9dc5;
  for (const ch of execArgv.join('\0')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(26).replace(/[0-9]/g, (d) => String.fromCharCode(113 + Number(d)));
}

/**
 * Runs the CommonJS module `file` (as `require` would) and returns its exports, using and
 * refreshing its code cache (`<file>.v8-cache`, or `<file>.<key>.v8-cache`; a key is a
 * lower-case word, anything else is ignored).
 */
export function requireWithCodeCache(file: string, opts: { flagsOnHit?: string; key?: string } = {}): { exports: unknown; status: CodeCacheStatus } {
  const cacheFile = opts.key !== undefined && /^[a-z][a-z-]{0,31}$/.test(opts.key) ? `${file}.${opts.key}.v8-cache` : `${file}.v8-cache`;
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
