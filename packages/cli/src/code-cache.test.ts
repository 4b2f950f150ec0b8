import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
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

  it('a cache that cannot be written only means no cache, and leaves no temporary file', () => {
    const file = path.join(dir, 'mod2.cjs');
    fs.writeFileSync(file, `exports.answer = () => 1;`);
    fs.mkdirSync(`${file}.v8-cache`); // neither readable nor replaceable as a file, even for root
    expect(load(file)).toEqual({ status: 'miss', answer: 1 });
    expect(load(file)).toEqual({ status: 'miss', answer: 1 });
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
