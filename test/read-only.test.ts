/**
 * Read-only repositories (issue 14, item 9): on a read-only bind mount every reading command
 * works without --no-lock (ls, snapshots, restore, check, find), with a note that it reads
 * without a lock; --no-lock still works, and writing commands fail with a code.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('read-only.test.ts needs root (a read-only bind mount) under CI=true');

describe.skipIf(!isRoot)('a repository on a read-only mount', () => {
  let sb: Sandbox;
  let ro: string;
  let mounted = false;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init']).code).toBe(0);
    fs.writeFileSync(sb.file('in'), seededBytes('read-only', 300 << 10));
    expect(sb.run(['snapshot', sb.file('in'), '-q']).code).toBe(0);
    ro = sb.file('ro');
    fs.mkdirSync(ro);
    expect(spawnSync('mount', ['--bind', sb.repo, ro]).status).toBe(0);
    mounted = true;
    expect(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status).toBe(0);
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [ro]);
    sb.cleanup();
  });

  it('reading commands work without --no-lock, with a note', () => {
    const env = { STOWAGE_REPOSITORY: ro };
    for (const args of [['snapshots'], ['ls', 'latest'], ['restore', 'latest', sb.file('out')], ['check', '--read-data']]) {
      const r = sb.run(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      if (args[0] !== 'snapshots') expect(r.stderr, args.join(' ')).toMatch(/note: the repository is read-only .*reading without a lock/);
    }
    expect(fs.readFileSync(sb.file('out')).equals(fs.readFileSync(sb.file('in')))).toBe(true);
    expect(sb.run(['--no-lock', 'ls', 'latest'], { env }).code).toBe(0);
    const w = sb.run(['snapshot', sb.file('in'), '--force'], { env });
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/\[BACKEND\]\n$/);
    expect(w.stderr).not.toMatch(/this is a bug/);
  });
});
