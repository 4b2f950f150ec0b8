/**
 * bin/stowage.js starts the password's key derivation before it loads the CLI's main bundle
 * (the tiny prefetch bundle first), so scrypt overlaps the module loading, and the key is
 * derived once per command, not twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox } from './helpers/cli.js';

const sb = sandbox();
afterAll(() => sb.cleanup());

describe('start-up of an encrypted command', () => {
  it('derives the key once, and starts before the main bundle loads its modules', () => {
    expect(sb.run(['init']).code).toBe(0);
    const bundled = fs.existsSync(path.join(ROOT, 'packages/cli/dist/stowage.bundle.mjs'));
    const out = sb.file('trace.json');
    const preload = path.join(ROOT, 'test/helpers/trace-startup.cjs');
    const r = sb.run(['snapshots'], { env: { NODE_OPTIONS: `--require ${preload}`, STOWAGE_TRACE_STARTUP: out } });
    expect(r.code, r.stderr).toBe(0);
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as { scrypt: number[]; level?: number };
    expect(trace.scrypt).toHaveLength(1);
    expect(trace.level).toBeDefined();
    if (bundled) expect(trace.scrypt[0]!).toBeLessThan(trace.level!);
  });
});
