/**
 * Errors that used to say "this is a bug" (issue 14, item 5): a config whose fields are
 * missing or null is CORRUPT naming the field; a restore into a full file system is
 * NO_SPACE naming the target, and leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('error-codes.test.ts needs root (a small tmpfs) under CI=true');

describe('errors with a code, not "this is a bug"', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    fs.writeFileSync(sb.file('in'), seededBytes('error-codes', 2 << 20));
    expect(sb.run(['snapshot', sb.file('in'), '-q']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('a config with encryption missing, or null, or the chunker null: CORRUPT naming the field', () => {
    const good = fs.readFileSync(`${sb.repo}/config`, 'utf8');
    fs.chmodSync(`${sb.repo}/config`, 0o644);
    try {
      const cases: [Record<string, unknown>, string][] = [
        [{ encryption: undefined }, 'encryption.algorithm is missing'],
        [{ encryption: null }, 'encryption.algorithm is missing'],
        [{ chunker: null }, 'chunker.algorithm is missing'],
        [{ packSize: null }, 'packSize is null'],
      ];
      for (const [change, message] of cases) {
        fs.writeFileSync(`${sb.repo}/config`, JSON.stringify({ ...JSON.parse(good), ...change }));
        for (const args of [['snapshots'], ['snapshot', sb.file('in')], ['restore', 'latest', sb.file('x')]]) {
          const r = sb.run(args);
          expect(r.code, args.join(' ')).toBe(1);
          expect(r.stderr).toBe(`stowage: repository config: ${message} [CORRUPT]\n`);
        }
      }
    } finally {
      fs.writeFileSync(`${sb.repo}/config`, good);
    }
  });

  it.skipIf(!isRoot)('a restore into a full file system: NO_SPACE naming the target, no file left', () => {
    const mnt = sb.file('small');
    fs.mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt]);
    expect(m.status, m.stderr?.toString()).toBe(0);
    try {
      for (const args of [
        ['restore', 'latest', `${mnt}/out`],
        ['--json', 'restore', 'latest', `${mnt}/out`],
      ]) {
        const r = sb.run(args);
        expect(r.code).toBe(1);
        expect(r.stderr).not.toMatch(/this is a bug/);
        if (args[0] === '--json') expect(JSON.parse(r.stderr).error.code).toBe('NO_SPACE');
        else expect(r.stderr).toBe(`stowage: restore target ${mnt}/out: no space left on the device [NO_SPACE]\n`);
        expect(fs.readdirSync(mnt)).toEqual([]);
      }
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
