/**
 * Issue 15 item 7: progress people expect. On a terminal (a pseudo-terminal made by
 * util-linux `script`): a bar with percentage, rate and ETA for snapshot and restore, and
 * progress for check --read-data, gc's repacking and copy. On a non-terminal: nothing at all.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const haveScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
if (!haveScript && process.env.CI !== 'true') console.warn('progress.test.ts: util-linux `script` not installed: the terminal progress tests are skipped (apt-get install bsdutils)');

/** Runs the CLI on a pseudo-terminal; returns everything the terminal received. */
function onTerminal(sb: Sandbox, args: string[]): { code: number; screen: string } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...sb.env, COLUMNS: '120', LINES: '40' }, maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, screen: r.stdout.toString() };
}

describe.skipIf(!haveScript && process.env.CI !== 'true')('progress bars', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    const a = seededBytes('progress-a', 48 * 1024 * 1024);
    fs.writeFileSync(sb.file('a.bin'), a);
    fs.writeFileSync(sb.file('half.bin'), a.subarray(0, 8 * 1024 * 1024));
  });
  afterAll(() => sb.cleanup());

  it('snapshot on a terminal: a bar with percentage, sizes, rate and ETA, cleared at the end', () => {
    const r = onTerminal(sb, ['snapshot', sb.file('a.bin')]);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toMatch(/snapshot {2}\[[#-]{20}\] +\d+\.\d% {2}[\d.]+ [KM]iB \/ 48\.0 MiB/);
    expect(r.screen).toMatch(/[\d.]+ [KMG]iB\/s/);
    expect(r.screen).toMatch(/ETA \d/);
    expect(r.screen).toMatch(/snapshot [0-9a-f]{8} saved/); // the summary after the bar
  });

  it('restore on a terminal: a bar too', () => {
    const r = onTerminal(sb, ['restore', 'latest', sb.file('back.bin')]);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toMatch(/restore {2}\[[#-]{20}\] +\d+\.\d%/);
  });

  it('check --read-data and gc repacking show progress', () => {
    const c = onTerminal(sb, ['check', '--read-data']);
    expect(c.code, c.screen).toBe(0);
    expect(c.screen).toMatch(/check read-data {2}\[[#-]{20}\]/);
    // a second snapshot keeps the first 8 MiB; forgetting the first leaves its packs partly used
    expect(sb.run(['snapshot', sb.file('half.bin'), '-q']).code).toBe(0);
    const first = JSON.parse(sb.run(['--json', 'snapshots', '--path', sb.file('a.bin')]).stdout)[0].id as string;
    expect(sb.run(['forget', first]).code).toBe(0);
    const g = onTerminal(sb, ['gc', '--max-unused', '0']);
    expect(g.code, g.screen).toBe(0);
    expect(g.screen).toMatch(/gc repack {2}\[[#-]{20}\]/);
  });

  it('copy shows progress too', () => {
    const dst = sb.file('copy-dst');
    expect(sb.run(['-r', dst, 'init', '--insecure-no-encryption']).code).toBe(0);
    const r = onTerminal(sb, ['-r', dst, 'copy', '--from-repo', sb.repo]);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toMatch(/copy {2}(\[[#-]{20}\] +\d+\.\d%|[\d.]+ [KM]iB)/);
  });

  it('on a non-terminal, nothing: no bar, no carriage return, no escape sequence', () => {
    for (const args of [
      ['snapshot', sb.file('a.bin'), '--force'],
      ['restore', 'latest', sb.file('back2.bin')],
      ['check', '--read-data'],
    ]) {
      const r = sb.run(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).not.toMatch(/[\r\x1b]|ETA|%/);
    }
  });

  it('-q and --json on a terminal: no bar either', () => {
    for (const args of [
      ['-q', 'snapshot', sb.file('a.bin'), '--force'],
      ['--json', 'restore', 'latest', sb.file('back3.bin')],
    ]) {
      const r = onTerminal(sb, args);
      expect(r.code, r.screen).toBe(0);
      expect(r.screen).not.toMatch(/\[[#-]{20}\]|ETA/);
    }
  });
});
