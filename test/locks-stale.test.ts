/**
 * Locks that used to block for ever (issue 14, item 3), from the command line: a forged
 * exclusive lock of another host "refreshed" in 2100, a lock of this host held by PID 1 (no
 * stowage process), a lock file of garbage, and a valid live lock whose name is not the
 * BLAKE3 of its bytes. Each is stale or ignored with a note: snapshot, check and gc run,
 * and `stowage unlock` removes it.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';
import { writeLock } from './helpers/locks.js';

describe('locks that cannot block for ever', () => {
  let sb: Sandbox;
  let enc: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    enc = sandbox();
    expect(enc.run(['init']).code).toBe(0);
    fs.writeFileSync(sb.file('in'), seededBytes('locks-stale', 256 << 10));
    fs.writeFileSync(enc.file('in'), seededBytes('locks-stale', 256 << 10));
  });
  afterAll(() => {
    sb.cleanup();
    enc.cleanup();
  });

  /** snapshot, check and gc run beside the lock; gc removes it. */
  function expectNotBlocking(s: Sandbox): void {
    for (const args of [['snapshot', s.file('in'), '--force'], ['check'], ['gc']]) {
      const r = s.run(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    }
    expect(fs.readdirSync(`${s.repo}/locks`)).toEqual([]);
  }

  it('a forged exclusive lock of another host refreshed in the year 2100 is stale', () => {
    const name = writeLock(sb.repo, { pid: 4242, hostname: 'elsewhere', time: '2100-01-01T00:00:00.000Z', refreshed: '2100-01-01T00:00:00.000Z' });
    const s = sb.run(['snapshot', sb.file('in'), '--force']);
    expect(s.code, s.stderr).toBe(0);
    expect(sb.run(['check']).stdout).toMatch(new RegExp(`stale lock ${name.slice(0, 8)}: refreshed 2100-01-01T00:00:00.000Z, \\d+ min in the future \\(more than the 10 min clock skew allowed`));
    const u = sb.run(['unlock']);
    expect(u.stdout).toMatch(new RegExp(`removed 1 lock: ${name.slice(0, 8)}`));
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
    writeLock(sb.repo, { pid: 4242, hostname: 'elsewhere', time: '2100-01-01T00:00:00.000Z', refreshed: '2100-01-01T00:00:00.000Z' });
    expectNotBlocking(sb);
  });

  it('a lock of this host held by PID 1 (alive, not a stowage process) is stale', () => {
    const name = writeLock(sb.repo, { pid: 1, start: undefined, boot: undefined });
    expect(sb.run(['check']).stdout).toMatch(new RegExp(`stale lock ${name.slice(0, 8)}: process 1 on this host is (not a stowage process|another process now)`));
    expect(sb.run(['unlock']).stdout).toMatch(new RegExp(`removed 1 lock: ${name.slice(0, 8)}`));
    writeLock(sb.repo, { pid: 1, start: undefined, boot: undefined });
    expectNotBlocking(sb);
  });

  it('a lock file of garbage is ignored with a note, and unlock removes it', () => {
    const name = 'ab'.repeat(32);
    fs.writeFileSync(`${sb.repo}/locks/${name}`, 'garbage, not a lock');
    const s = sb.run(['snapshot', sb.file('in'), '--force']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/stowage: note: ignoring lock file abababab, which cannot be read \(lock abababab: its name is not the BLAKE3 of its content/);
    expect(sb.run(['check']).stdout).toMatch(/unreadable lock abababab, ignored: .*\(remove with "stowage unlock"\)/);
    expect(sb.run(['unlock']).stdout).toMatch(/removed 1 lock: abababab/);
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
  });

  it('a live lock whose name is not the BLAKE3 of its bytes is ignored with a note, and unlock removes it', () => {
    const real = writeLock(sb.repo, { pid: 4242, hostname: 'elsewhere' }); // live: another host, refreshed now
    expect(sb.run(['snapshot', sb.file('in'), '--force']).code).toBe(11); // a real one blocks
    const misnamed = 'cd'.repeat(32);
    fs.renameSync(`${sb.repo}/locks/${real}`, `${sb.repo}/locks/${misnamed}`);
    const s = sb.run(['snapshot', sb.file('in'), '--force']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/note: ignoring lock file cdcdcdcd, which cannot be read \(lock cdcdcdcd: its name is not the BLAKE3 of its content/);
    expect(sb.run(['unlock']).stdout).toMatch(/removed 1 lock: cdcdcdcd/);
  });

  it('encrypted: a plaintext lock forged into locks/ does not open, and is ignored with a note', () => {
    const name = writeLock(enc.repo, { pid: 4242, hostname: 'elsewhere' });
    const s = enc.run(['snapshot', enc.file('in'), '--force']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(new RegExp(`note: ignoring lock file ${name.slice(0, 8)}, which cannot be read`));
    expect(enc.run(['unlock']).stdout).toMatch(new RegExp(`removed 1 lock: ${name.slice(0, 8)}`));
  });
});
