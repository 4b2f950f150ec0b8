/**
 * forget, gc, check and unlock from the command line, and the lock behaviour users see:
 * a locked repository fails with exit 11 (LOCKED) naming the holder, --retry-lock waits,
 * stale locks (dead process on this host) are ignored and removed by unlock and gc.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';
import { writeLock as writeLockFile } from './helpers/locks.js';

function writeLock(sb: Sandbox, pid: number, exclusive = true): string {
  return writeLockFile(sb.repo, { pid, exclusive });
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('forget, gc, check, unlock', () => {
  let sb: Sandbox;
  const ids: Record<string, string> = {};
  const shared = seededBytes('fg-shared', 2 << 20);
  const inputs: Record<string, Buffer> = {
    a: Buffer.concat([seededBytes('fg-a', 1 << 20), shared]),
    b: Buffer.concat([shared, seededBytes('fg-b', 1 << 20)]),
    c: seededBytes('fg-c', 1 << 20),
  };
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--pack-size', '256K', '--chunk-avg', '16K']).code).toBe(0);
    for (const [n, data] of Object.entries(inputs)) {
      fs.writeFileSync(sb.file(n), data);
      const r = sb.run(['snapshot', sb.file(n), '--json', '--name', 'app', ...(n === 'a' ? ['--tag', 'release'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      ids[n] = JSON.parse(r.stdout).id;
    }
  });
  afterAll(() => sb.cleanup());

  it('forget needs ids or a policy; --dry-run shows what stays, what goes and why', () => {
    const none = sb.run(['forget']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing to forget.*\[INVALID_ARGUMENT\]/);
    const both = sb.run(['forget', ids.a!.slice(0, 8), '--keep-last', '1']);
    expect(both.stderr).toMatch(/not both.*\[INVALID_ARGUMENT\]/);

    const dry = sb.run(['forget', '--keep-last', '1', '--keep-tag', 'release', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/name "app": keep 2, remove 1/);
    expect(dry.stdout).toMatch(new RegExp(`${ids.c!.slice(0, 8)} .* keep +last`));
    expect(dry.stdout).toMatch(new RegExp(`${ids.a!.slice(0, 8)} .* release +keep +tag release`));
    expect(dry.stdout).toMatch(new RegExp(`${ids.b!.slice(0, 8)} .* remove`));
    expect(dry.stdout).toMatch(/would remove 1 snapshot, kept 2\ndry run: nothing was changed/);
    const j = JSON.parse(sb.run(['forget', '--keep-last', '1', '--keep-tag', 'release', '--dry-run', '--json']).stdout);
    expect(j.dryRun).toBe(true);
    expect(j.removed).toEqual([ids.b]);
    expect(j.groups[0].keep.map((k: { reasons: string[] }) => k.reasons)).toEqual([['last'], ['tag release']]);
    expect(JSON.parse(sb.run(['snapshots', '--json']).stdout)).toHaveLength(3);
  });

  it('gc --dry-run prints the plan and changes nothing; gc frees what forgotten snapshots used', () => {
    const before = listFiles(sb.repo);
    const dry = sb.run(['gc', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/plan: keep \d+ packs, repack 0 .*delete 0/);
    expect(dry.stdout).toMatch(/dry run: nothing was changed/);
    expect(listFiles(sb.repo)).toEqual(before);

    // forget b by id prefix; its private MiB is now garbage
    const f = sb.run(['forget', ids.b!.slice(0, 8)]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/removed 1 snapshot/);
    const plan = JSON.parse(sb.run(['gc', '--dry-run', '--json']).stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.stats.freeBytes).toBeGreaterThan(900_000);
    expect(plan.plan.packs.some((p: { action: string }) => p.action === 'delete')).toBe(true);
    expect(listFiles(sb.repo)).toEqual(before.filter((p) => !p.endsWith(ids.b!)));

    const g = sb.run(['gc', '--json']);
    expect(g.code, g.stderr).toBe(0);
    const r = JSON.parse(g.stdout).result;
    expect(r.packsDeleted).toBeGreaterThan(0);
    expect(r.bytesFreed).toBeGreaterThan(900_000);
    const again = JSON.parse(sb.run(['gc', '--dry-run', '--json']).stdout).plan.stats;
    expect(again.freeBytes).toBe(0);
    for (const n of ['a', 'c']) {
      const out = sb.file(`${n}.out`);
      expect(sb.run(['restore', ids[n]!, out]).code).toBe(0);
      expect(fs.readFileSync(out).equals(inputs[n]!)).toBe(true);
    }
    const c = sb.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(c.stdout).toMatch(/checked 2 snapshots, .* blobs; read \d+ packs .*\nno errors found/);
  });

  it('forget --prune runs gc afterwards', () => {
    const r = sb.run(['forget', '--keep-last', '1', '--prune', '--max-unused', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 1 snapshot, kept 1/);
    expect(r.stdout).toMatch(/deleted \d+ packs, wrote \d+ .*freed/);
    const left = JSON.parse(sb.run(['snapshots', '--json']).stdout);
    expect(left.map((s: { id: string }) => s.id)).toEqual([ids.c]);
    expect(JSON.parse(sb.run(['gc', '--dry-run', '--json']).stdout).plan.stats.unusedBytes).toBe(0);
    expect(sb.run(['check', '--read-data']).code).toBe(0);
  });

  it('a live lock: exit 11 naming the holder; --retry-lock waits, then fails; restore --no-lock still reads', () => {
    const a = writeLock(sb, process.pid);
    const r = sb.run(['snapshot', sb.file('c'), '--force']);
    expect(r.code).toBe(11);
    expect(r.stderr.trim()).toMatch(new RegExp(`^stowage: repository .* is locked: an exclusive lock ${a.slice(0, 8)} held by PID ${process.pid} on .*\\[LOCKED\\]$`));
    const t0 = Date.now();
    const w = sb.run(['--retry-lock', '1s', 'gc']);
    expect(w.code).toBe(11);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(sb.run(['check']).code).toBe(11);
    expect(sb.run(['--no-lock', 'check']).code).toBe(0);
    const out = sb.file('locked.out');
    expect(sb.run(['--no-lock', 'restore', ids.c!, out]).code).toBe(0);
    expect(sb.run(['restore', ids.c!, sb.file('locked2.out')]).code).toBe(11);
    // unlock leaves a live lock alone
    expect(sb.run(['unlock']).stdout).toMatch(/no stale locks/);
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([a]);
    expect(sb.run(['unlock', '--remove-all']).stdout).toMatch(new RegExp(`removed 1 lock: ${a.slice(0, 8)}`));
    expect(sb.run(['snapshot', sb.file('c'), '--force', '-q']).code).toBe(0);
    // a waiting command proceeds once the lock goes away
    const b = writeLock(sb, process.pid);
    setTimeout(() => fs.rmSync(`${sb.repo}/locks/${b}`), 600);
    return sb.runAsync(['--retry-lock', '30s', 'gc']).then((g) => expect(g.code, g.stderr).toBe(0));
  });

  it('stale locks (a process on this host that is gone) are ignored; unlock and gc remove them', () => {
    const c0 = writeLock(sb, deadPid());
    writeLock(sb, deadPid(), false);
    expect(sb.run(['snapshot', sb.file('a'), '--force', '-q']).code).toBe(0);
    const c = sb.run(['check']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`note: \\[lock-stale\\] stale lock ${c0.slice(0, 8)}: process \\d+ on this host is gone`));
    expect(sb.run(['unlock', '--json']).stdout).toContain(c0);
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
    writeLock(sb, deadPid());
    expect(sb.run(['gc']).code).toBe(0);
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
  });
});
