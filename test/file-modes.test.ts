/**
 * Repository file modes (issue 14, item 4), under umask 022 and 077: key files 0600 in a
 * 0700 keys/; every other file read-only and the directories 0755, minus the umask (group
 * and other never get write access, and under 077 nothing at all).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe.each([
  ['022', { file: 0o444, dir: 0o755 }],
  ['077', { file: 0o400, dir: 0o700 }],
])('file modes under umask %s', (umask, want) => {
  let sb: Sandbox;
  const run = (args: string[]) => {
    const r = spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', process.execPath, BIN, ...args], { env: sb.env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };
  beforeAll(() => {
    sb = sandbox();
    fs.writeFileSync(sb.file('in'), seededBytes('modes', 200 << 10));
    run(['init']);
    run(['snapshot', sb.file('in')]);
    const add = spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', process.execPath, BIN, 'key', 'add'], { env: { ...sb.env, STOWAGE_NEW_PASSWORD: 'second password' }, encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
  }, 60_000);
  afterAll(() => sb.cleanup());

  it('key files 0600 in a 0700 keys/', () => {
    expect(mode(`${sb.repo}/keys`).toString(8)).toBe('700');
    const keys = listFiles(`${sb.repo}/keys`);
    expect(keys.length).toBe(2);
    for (const k of keys) expect(mode(k).toString(8), k).toBe('600');
  });

  it('config, packs, index and snapshot files read-only minus the umask; directories 0755 minus the umask', () => {
    const files = listFiles(sb.repo).filter((f) => !f.includes('/keys/'));
    expect(files.some((f) => f.includes('/data/'))).toBe(true);
    expect(files.some((f) => f.includes('/snapshots/'))).toBe(true);
    for (const f of files) expect(mode(f).toString(8), f).toBe(want.file.toString(8));
    const dirs = [sb.repo, ...['data', 'data/00', 'data/ff', 'index', 'snapshots', 'locks'].map((d) => path.join(sb.repo, d))];
    for (const d of dirs) expect(mode(d).toString(8), d).toBe(want.dir.toString(8));
  });
});
