/**
 * bin/stowage.js starts the password's key derivation before it loads the CLI's main bundle
 * (the tiny prefetch bundle first), so scrypt overlaps the module loading, and the key is
 * derived once per command, not twice. Read from the command's timeline (STOWAGE_TIMELINE=1:
 * `timeline <ms> ms  <event>` lines on stderr at exit, core util/timeline.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox } from './helpers/cli.js';

const sb = sandbox();
afterAll(() => sb.cleanup());

/** The timeline's events in order, with their times (ms since the process started). */
function timeline(stderr: string): { event: string; ms: number }[] {
  return [...stderr.matchAll(/^timeline +([\d.]+) ms {2}(.+)$/gm)].map((m) => ({ event: m[2]!, ms: Number(m[1]) }));
}

describe('start-up of an encrypted command', () => {
  it('derives the key once, and starts before the main bundle is loaded', () => {
    expect(sb.run(['init']).code).toBe(0);
    const bundled = fs.existsSync(path.join(ROOT, 'packages/cli/dist/stowage.bundle.cjs'));
    const r = sb.run(['snapshots'], { env: { STOWAGE_TIMELINE: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const t = timeline(r.stderr);
    const at = (event: string): number => t.find((e) => e.event === event)?.ms ?? NaN;
    expect(t.filter((e) => e.event === 'scrypt start')).toHaveLength(1);
    expect(t.filter((e) => e.event === 'scrypt end')).toHaveLength(1);
    expect(at('key unlocked')).toBeGreaterThanOrEqual(at('scrypt end'));
    expect(at('exit')).toBeGreaterThanOrEqual(at('repository closed'));
    if (bundled) expect(at('scrypt start')).toBeLessThan(at('bundle loaded'));
  });

  it('prints no timeline without STOWAGE_TIMELINE', () => {
    const r = sb.run(['snapshots']);
    expect(r.code, r.stderr).toBe(0);
    expect(timeline(r.stderr)).toEqual([]);
  });
});
