/**
 * bin/stowage.js starts the password's key derivation before it loads the CLI's main bundle
 * (the tiny prefetch bundle first), so scrypt overlaps the module loading, and the key is
 * derived once per command, not twice. Read from the command's timeline (STOWAGE_TIMELINE=1:
 * `timeline <ms> ms  <event>` lines on stderr at exit, core util/timeline.ts).
 */
import { randomBytes } from 'node:crypto';
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

  it('a snapshot of a new file of 4 MiB or more boots its first codec worker while the key is derived; a repeat of it boots none and opens no index cache', () => {
    const file = sb.file('input.bin');
    fs.writeFileSync(file, randomBytes(5 << 20));
    const events = (r: { code: number; stderr: string }): string[] => {
      expect(r.code, r.stderr).toBe(0);
      return timeline(r.stderr).map((e) => e.event);
    };
    const first = events(sb.run(['snapshot', file], { env: { STOWAGE_TIMELINE: '1' } }));
    expect(first).toContain('codec workers prestarted');
    expect(first).toContain('pool took warm worker');
    expect(first.indexOf('codec workers prestarted')).toBeLessThan(first.indexOf('key unlocked'));
    const repeat = sb.run(['snapshot', file, '--json'], { env: { STOWAGE_TIMELINE: '1' } });
    const r = events(repeat);
    expect(r).not.toContain('codec workers prestarted');
    expect(JSON.parse(repeat.stdout).reused).toBe(true);
    // nor the index cache (it needs none); its snapshot files were read as the repository opened
    expect(r).not.toContain('leveldb open');
    expect(r.some((e) => e.startsWith('snapshot files read early'))).toBe(true);
    // changed: a worker again
    fs.appendFileSync(file, 'more');
    expect(events(sb.run(['snapshot', file], { env: { STOWAGE_TIMELINE: '1' } }))).toContain('codec workers prestarted');
  });

  it('prints no timeline without STOWAGE_TIMELINE', () => {
    const r = sb.run(['snapshots']);
    expect(r.code, r.stderr).toBe(0);
    expect(timeline(r.stderr)).toEqual([]);
  });
});
