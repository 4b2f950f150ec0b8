/**
 * Several hosts writing into one repository on a real S3 (Ceph RGW, STOWAGE_TEST_S3). A "host"
 * is a CLI process in its own UTS namespace with its own host name (`unshare -u`; root).
 *
 * - Locks: a lock of another host is stale only by age, never by its PID; the same host's
 *   lock of a dead process is stale at once.
 * - Three snapshot processes and a `forget --prune` run at the same time for 10 rounds; then
 *   every snapshot restores byte-identically and `check --read-data` is clean.
 * - Snapshots killed with SIGKILL mid-upload at seeded random moments (STOWAGE_CRASH_SEED
 *   replays): the repository checks clean, what was committed restores, the next gc removes
 *   the debris.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Location } from '../packages/core/src/backend/location.js';
import { prng } from '../packages/core/src/testing/prng.js';
import { locationString, objectKeys, putObject, removeAll, requireTestS3, testLocation } from '../packages/core/src/testing/s3-env.js';
import { BIN, sandbox, seededBytes, type Outcome, type Sandbox } from './helpers/cli.js';

const s3 = requireTestS3('S3 multi-host tests');
/** How to run a process with its own host name: a UTS namespace (as root), else inside a user namespace too. */
const unshareArgs = s3 === undefined ? undefined : [['-u'], ['-r', '-u']].find((a) => spawnSync('unshare', [...a, 'hostname', 'probe-host']).status === 0);
const canUnshare = unshareArgs !== undefined;
if (s3 && !canUnshare) {
  if (process.env.CI === 'true') throw new Error('s3-hosts: `unshare -u` (util-linux) does not work here: the cross-host lock test needs it under CI=true');
  console.log('s3-hosts: `unshare -u` is not available: the test of locks across host names is skipped');
}
const SEED = Number(process.env.STOWAGE_CRASH_SEED ?? 20261129);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!s3)('several hosts on one S3 repository', () => {
  let sb: Sandbox;
  const made: S3Location[] = [];
  beforeAll(() => {
    sb = sandbox();
  });
  afterAll(async () => {
    for (const loc of made) await removeAll(s3!, loc);
    sb?.cleanup();
  });

  const newRepo = (args: string[]): S3Location => {
    const loc = testLocation(s3!);
    made.push(loc);
    const r = sb.run(['-r', locationString(loc), 'init', '--insecure-no-encryption', ...args], { env: s3!.env });
    expect(r.code, r.stderr).toBe(0);
    return loc;
  };

  /** Starts the CLI as host `host` (this host when undefined); `input` goes to stdin (kept open when `holdStdin`). */
  const start = (loc: S3Location, host: string | undefined, args: string[], opts: { input?: Buffer; holdStdin?: boolean; killAfterMs?: number } = {}) => {
    const cmd = [process.execPath, BIN, '-r', locationString(loc), ...args];
    const p =
      canUnshare && host !== undefined
        ? spawn('unshare', [...unshareArgs!, 'sh', '-c', 'hostname "$0" && exec "$@"', host, ...cmd], { env: { ...sb.env, ...s3!.env } })
        : spawn(cmd[0]!, cmd.slice(1), { env: { ...sb.env, ...s3!.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const t0 = performance.now();
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.stdin.on('error', () => undefined);
    if (opts.input) p.stdin.write(opts.input);
    if (!opts.holdStdin) p.stdin.end();
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), opts.killAfterMs);
    const done = new Promise<Outcome>((resolve, reject) => {
      p.on('error', reject);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: performance.now() - t0 });
      });
    });
    return { proc: p, done };
  };
  const run = (loc: S3Location, host: string | undefined, args: string[], input?: Buffer) => start(loc, host, args, input ? { input } : {}).done;

  it.skipIf(!canUnshare)('a lock of another host is stale only by age; a dead process on the same host at once', async () => {
    const loc = newRepo([]);
    // host alpha holds a shared lock: a snapshot of stdin that has not ended
    const alpha = start(loc, 'alpha', ['snapshot', '-', '--name', 'held'], { input: seededBytes('held', 100_000), holdStdin: true });
    for (let i = 0; i < 100 && !(await objectKeys(s3!, loc)).some((k) => k.includes('/locks/')); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await objectKeys(s3!, loc)).some((k) => k.includes('/locks/'))).toBe(true);
    const gc1 = await run(loc, 'beta', ['gc']);
    expect(gc1.code, gc1.stderr).toBe(11);
    expect(gc1.stderr).toMatch(/on alpha.*\[LOCKED\]/);
    alpha.proc.kill('SIGKILL');
    await alpha.done;
    // alpha's process is gone, but beta cannot know that: the lock is stale only by age
    const unlockBeta = await run(loc, 'beta', ['unlock']);
    expect(unlockBeta.code, unlockBeta.stderr).toBe(0);
    expect(unlockBeta.stdout).toMatch(/no stale locks/);
    expect((await run(loc, 'beta', ['gc'])).code).toBe(11);
    // on alpha itself the dead PID makes it stale
    const unlockAlpha = await run(loc, 'alpha', ['unlock']);
    expect(unlockAlpha.code, unlockAlpha.stderr).toBe(0);
    expect(unlockAlpha.stdout).toMatch(/removed 1/);
    expect((await run(loc, 'beta', ['gc'])).code).toBe(0);
    // a lock of host gamma not refreshed for two hours is stale for beta
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    await putObject(s3!, loc, 'locks/aaaabbbbccccdddd', JSON.stringify({ exclusive: false, hostname: 'gamma', pid: 1, username: 'x', time: old, refreshed: old }));
    const unlockOld = await run(loc, 'beta', ['unlock']);
    expect(unlockOld.stdout).toMatch(/removed 1 lock: aaaabbbb/);
  });

  it('three snapshot processes and a forget --prune at once, 10 rounds; all restore, check --read-data clean', async () => {
    const loc = newRepo(['--pack-size', '512K', '--chunk-avg', '16K']);
    const ROUNDS = 10;
    const base = seededBytes('hosts-base', 300_000);
    const data = (name: string, round: number) => {
      const b = Buffer.from(base);
      seededBytes(`${name}-${round}`, 60_000).copy(b, (round * 47_000) % 240_000);
      return b;
    };
    const expected = new Map<string, Buffer>();
    for (let round = 0; round < ROUNDS; round++) {
      const jobs = ['a', 'b', 'c'].map((name) => {
        const input = data(name, round);
        expected.set(sha256(input), input);
        return run(loc, `host-${name}`, ['--retry-lock', '5m', 'snapshot', '-', '--name', name, '--tag', `r${round}`, '--json'], input);
      });
      jobs.push(run(loc, 'host-gc', ['--retry-lock', '5m', 'forget', '--keep-last', '3', '--prune', '--max-unused', '0']));
      const outs = await Promise.all(jobs);
      for (const o of outs) expect(o.code, `round ${round}: ${o.stderr}`).toBe(0);
    }
    const snaps = JSON.parse(sb.run(['-r', locationString(loc), 'snapshots', '--json'], { env: s3!.env }).stdout) as {
      id: string;
      name: string;
      hostname?: string;
      host?: string;
      sha256: string;
      tags?: string[];
    }[];
    // the newest three of each name survive (forget ran after each round's snapshots or with them)
    for (const name of ['a', 'b', 'c']) {
      const mine = snaps.filter((s) => s.name === name);
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine.some((s) => s.tags?.includes(`r${ROUNDS - 1}`))).toBe(true);
    }
    for (const s of snaps) {
      const r = sb.run(['-r', locationString(loc), 'restore', s.id, '-'], { env: s3!.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdoutBytes.equals(expected.get(s.sha256)!), `snapshot ${s.id} (${s.name})`).toBe(true);
    }
    const c = sb.run(['-r', locationString(loc), 'check', '--read-data', '--json'], { env: s3!.env });
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).errors).toBe(0);
  });

  it('SIGKILLs mid-upload at seeded random moments: checks clean, committed snapshots restore, the next gc removes the debris', async () => {
    const loc = newRepo(['--pack-size', '256K', '--chunk-avg', '16K']);
    const rand = prng(SEED);
    const ctx = `seed ${SEED} (replay with STOWAGE_CRASH_SEED=${SEED})`;
    const SIZE = 3 << 20;
    const version = (k: number) => {
      const b = Buffer.from(seededBytes('s3-crash-base', SIZE));
      seededBytes(`s3-crash-${k}`, SIZE >> 2).copy(b, (k % 4) * (SIZE >> 2));
      return b;
    };
    const shaToVersion = new Map<string, number>();
    const committed: string[] = [];
    const first = await run(loc, undefined, ['snapshot', '-', '--name', 'crash', '--json'], version(0));
    expect(first.code, first.stderr).toBe(0);
    committed.push(JSON.parse(first.stdout).id);
    shaToVersion.set(JSON.parse(first.stdout).sha256, 0);
    const snapMs = first.ms;
    let kills = 0;
    for (let k = 1; kills < 10 && k < 40; k++) {
      const input = version(k);
      shaToVersion.set(sha256(input), k);
      // from start-up to the end of an uninterrupted run: mostly mid-upload
      const delay = 150 + rand() * snapMs;
      // on this host: the killed processes' locks are stale by PID, so the next gc can run
      const o = await start(loc, undefined, ['snapshot', '-', '--name', 'crash', '--json'], { input, killAfterMs: delay }).done;
      if (o.signal === 'SIGKILL') kills++;
      else {
        expect(o.code, `${ctx}: ${o.stderr}`).toBe(0);
        committed.push(JSON.parse(o.stdout).id);
      }
    }
    expect(kills, ctx).toBeGreaterThanOrEqual(10);
    const R = (args: string[]) => sb.run(['-r', locationString(loc), ...args], { env: s3!.env });
    const c = R(['check', '--read-data', '--json']);
    expect(c.code, `${ctx}: ${c.stdout}${c.stderr}`).toBe(0);
    const findings = JSON.parse(c.stdout).findings as { kind: string; severity: string }[];
    expect(
      findings.every((f) => f.severity === 'info' && ['pack-unreferenced', 'lock-stale'].includes(f.kind)),
      JSON.stringify(findings),
    ).toBe(true);
    const snaps = JSON.parse(R(['snapshots', '--json']).stdout) as { id: string; sha256: string }[];
    for (const id of committed)
      expect(
        snaps.some((s) => s.id === id),
        `${ctx}: committed ${id}`,
      ).toBe(true);
    for (const s of snaps) {
      const r = R(['restore', s.id, '-']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdoutBytes.equals(version(shaToVersion.get(s.sha256)!)), `${ctx}: ${s.id}`).toBe(true);
    }
    // the next gc removes the debris (the killed processes' locks, stale by PID, too)
    const gc = R(['gc', '--max-unused', '0']);
    expect(gc.code, gc.stderr).toBe(0);
    const after = JSON.parse(R(['check', '--read-data', '--json']).stdout);
    expect(after.errors).toBe(0);
    expect(after.findings, ctx).toEqual([]);
    console.log(`s3 crash harness ${ctx}: ${kills} kills, ${committed.length} committed, ${snaps.length} snapshots restored`);
  });
});
