import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/code-cache.js', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-code-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Loads `file` through the code cache in a fresh process; returns the cache status and the module's answer. */
function load(file: string): { status: string; answer: unknown } {
  const code = `import { requireWithCodeCache } from ${JSON.stringify(dist)}; const r = requireWithCodeCache(${JSON.stringify(file)}); console.log(JSON.stringify({ status: r.status, answer: r.exports.answer() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status: string; answer: unknown };
}

describe('requireWithCodeCache', () => {
  it('compiles from source without a cache, writes one at exit, uses it next time, and replaces a stale one', () => {
    const file = path.join(dir, 'mod.cjs');
    const cache = `${file}.v8-cache`;
    fs.writeFileSync(file, `const path = require('node:path'); exports.answer = () => [path.basename(__filename), 41 + 1];`);
    expect(load(file)).toEqual({ status: 'miss', answer: ['mod.cjs', 42] });
    expect(fs.statSync(cache).size).toBeGreaterThan(0);
    expect(load(file)).toEqual({ status: 'hit', answer: ['mod.cjs', 42] });
    fs.writeFileSync(file, `exports.answer = () => 'changed, and longer than before';`);
    expect(load(file)).toEqual({ status: 'rejected', answer: 'changed, and longer than before' });
    expect(load(file).status).toBe('hit');
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('flagsOnHit: set only when the cache was accepted, after its check; the cache stays valid with and without them', () => {
    const file = path.join(dir, 'mod3.cjs');
    const cache = `${file}.v8-cache`;
    fs.writeFileSync(file, `exports.answer = () => 3;`);
    // whether V8 accepts the cache file again after loading: the flags changed when it does not
    const code = (flags: string) =>
      `import { requireWithCodeCache } from ${JSON.stringify(dist)}; import fs from 'node:fs'; import vm from 'node:vm'; import Module from 'node:module';` +
      `const r = requireWithCodeCache(${JSON.stringify(file)}, { flagsOnHit: ${JSON.stringify(flags)} });` +
      `let again = null; try { again = !new vm.Script(Module.wrap(fs.readFileSync(${JSON.stringify(file)}, 'utf8')), { filename: ${JSON.stringify(file)}, cachedData: fs.readFileSync(${JSON.stringify(cache)}) }).cachedDataRejected; } catch {}` +
      `console.log(JSON.stringify({ status: r.status, again }));`;
    const run = (flags: string): { status: string; again: boolean | null } => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code(flags)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { status: string; again: boolean | null };
    };
    const flags = '--interrupt-budget=1000000';
    expect(run(flags).status).toBe('miss'); // no flags set: the cache written at exit is valid without them
    const written = fs.readFileSync(cache);
    expect(run(flags)).toEqual({ status: 'hit', again: false }); // set after the check: the same cache is now rejected in this process
    expect(run('')).toEqual({ status: 'hit', again: true });
    expect(fs.readFileSync(cache).equals(written)).toBe(true); // never rewritten
  });

  it('a cache that cannot be written only means no cache, and leaves no temporary file', () => {
    const file = path.join(dir, 'mod2.cjs');
    fs.writeFileSync(file, `exports.answer = () => 1;`);
    fs.mkdirSync(`${file}.v8-cache`); // neither readable nor replaceable as a file, even for root
    expect(load(file)).toEqual({ status: 'miss', answer: 1 });
    expect(load(file)).toEqual({ status: 'miss', answer: 1 });
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('commandCacheKey', () => {
  it('names the command of a command line: the first argument that is one of CACHED_COMMANDS', async () => {
    const { commandCacheKey } = (await import(pathToFileURL(dist).href)) as typeof import('./code-cache.js');
    expect(commandCacheKey(['node', 'stowage', '-r', '/tmp/repo', 'snapshot', 'x.tar'])).toBe('snapshot');
    expect(commandCacheKey(['node', 'stowage', 'restore', 'latest', 'snapshot'])).toBe('restore');
    expect(commandCacheKey(['node', 'stowage', '--version'])).toBeUndefined();
    expect(commandCacheKey(['node', 'stowage'])).toBeUndefined();
  });

  it('keeps the caches of runs with node options (V8 flags) apart, one per set of options', async () => {
    const { commandCacheKey } = (await import(pathToFileURL(dist).href)) as typeof import('./code-cache.js');
    const argv = ['node', 'stowage', 'snapshot', 'x.tar'];
    expect(commandCacheKey(argv, [])).toBe('snapshot');
    const semi = commandCacheKey(argv, ['--max-semi-space-size=4']);
    expect(semi).toMatch(/^snapshot-[a-z]+$/);
    expect(commandCacheKey(argv, ['--max-semi-space-size=4'])).toBe(semi);
    expect(commandCacheKey(argv, ['--max-semi-space-size=8'])).not.toBe(semi);
    expect(commandCacheKey(['node', 'stowage', '--version'], ['--max-semi-space-size=4'])).toMatch(/^any-[a-z]+$/);
    // every key is one requireWithCodeCache takes as a file name part
    for (const k of [semi, commandCacheKey(['node', 'stowage', 'completion'], ['--max-semi-space-size=4', '--stack-size=2000'])]) expect(k).toMatch(/^[a-z][a-z-]{0,31}$/);
  });

  it('CACHED_COMMANDS are the commands of `stowage --help`', async () => {
    const { CACHED_COMMANDS } = (await import(pathToFileURL(dist).href)) as typeof import('./code-cache.js');
    const bin = fileURLToPath(new URL('../bin/stowage.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const commands = r.stdout
      .slice(r.stdout.indexOf('Commands:'))
      .split('\n')
      .slice(1)
      .map((l) => /^ {2}([a-z-]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined && n !== 'help');
    expect([...CACHED_COMMANDS].sort()).toEqual(commands.sort());
  });

  it('a key gives the command a cache file of its own', () => {
    const file = path.join(dir, 'mod4.cjs');
    fs.writeFileSync(file, `exports.answer = () => 4;`);
    const code = (key: string) =>
      `import { requireWithCodeCache } from ${JSON.stringify(dist)}; const r = requireWithCodeCache(${JSON.stringify(file)}, { key: ${JSON.stringify(key)} }); console.log(r.status);`;
    const run = (key: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code(key)], { encoding: 'utf8' }).stdout.trim();
    expect(run('snapshot')).toBe('miss');
    expect(fs.existsSync(`${file}.snapshot.v8-cache`)).toBe(true);
    expect(run('snapshot')).toBe('hit');
    expect(run('restore')).toBe('miss');
    expect(run('../x')).toBe('miss'); // not a word: the shared cache
    expect(fs.existsSync(`${file}.v8-cache`)).toBe(true);
  });
});
