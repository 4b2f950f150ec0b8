/**
 * Crash safety: `stowage snapshot` and `stowage gc` are killed with SIGKILL at pseudo-random
 * moments (a seeded PRNG picks the operation and the delay; STOWAGE_CRASH_SEED=<n> replays
 * a sequence), at least 30 kills across both. Then:
 * - `check --read-data` has no errors (debris shows only as unreferenced packs, stale locks);
 * - every snapshot in the repository, including every one that completed before a kill,
 *   restores byte-identically;
 * - the next gc reclaims the debris: no unreferenced packs, no stale locks, no temp files.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, listFiles, sandbox, seededBytes, type Outcome, type Sandbox } from './helpers/cli.js';
import { prng } from '../packages/core/src/testing/prng.js';

const SEED = Number(process.env.STOWAGE_CRASH_SEED ?? 20261121);
const MIN_KILLS = 30;
const MAX_ROUNDS = 160;
/** Each kind of command is killed more than this many times. */
const MIN_EACH = 5;
const SIZE = 6 << 20;

/** Version k: a shared base with two regions replaced, so versions share most chunks. */
function version(k: number): Buffer {
  const b = Buffer.from(seededBytes('crash-base', SIZE));
  const q = SIZE / 8;
  seededBytes(`crash-${k}-x`, q).copy(b, (k % 8) * q);
  seededBytes(`crash-${k}-y`, q >> 1).copy(b, ((k * 3 + 5) % 8) * q);
  return b;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Runs the CLI; kills it with SIGKILL after `killAfterMs` (if still running). */
function runKill(sb: Sandbox, args: string[], killAfterMs: number | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [BIN, ...args], { env: sb.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: performance.now() - t0 });
    });
  });
}

describe(`crash safety (seed ${SEED})`, () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--pack-size', '256K', '--chunk-avg', '16K']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it(`survives at least ${MIN_KILLS} SIGKILLs of snapshot and gc`, async () => {
    const rand = prng(SEED);
    const ctx = `seed ${SEED} (replay with STOWAGE_CRASH_SEED=${SEED})`;
    const shaToVersion = new Map<string, number>();
    const completed = new Set<string>(); // snapshots whose command finished
    const forgotten = new Set<string>();
    const kills = { snapshot: 0, gc: 0 };
    // uninterrupted timings, to aim the kills inside the work
    const file = (k: number) => {
      const f = sb.file('input');
      fs.writeFileSync(f, version(k));
      return f;
    };
    const first = await runKill(sb, ['snapshot', file(0), '--json', '--name', 'crash'], undefined);
    expect(first.code, first.stderr).toBe(0);
    completed.add(JSON.parse(first.stdout).id);
    shaToVersion.set(JSON.parse(first.stdout).sha256, 0);
    let snapMs = first.ms;
    let gcMs = 400;
    let k = 1;
    // run until there are enough kills of each kind and enough completed snapshots left to restore
    // (on a loaded machine more snapshots are killed, so neither is a fixed number of rounds)
    const surviving = () => [...completed].filter((id) => !forgotten.has(id)).length;
    const enough = () => kills.snapshot + kills.gc >= MIN_KILLS && kills.snapshot > MIN_EACH && kills.gc > MIN_EACH && surviving() > 3;
    for (let round = 0; round < MAX_ROUNDS && !enough(); round++) {
      // favour gc while its kills lag (a fast gc often finishes before its kill lands)
      const doGc = rand() < (kills.gc <= MIN_EACH && kills.gc * 2 < kills.snapshot ? 0.7 : 0.4);
      if (doGc) {
        // make gc have work: forget (not killed) all but the newest two and the pinned snapshots
        const f = await runKill(sb, ['forget', '--keep-last', '2', '--keep-tag', 'pinned', '--json'], undefined);
        expect(f.code, `${ctx}: forget: ${f.stderr}`).toBe(0);
        for (const id of JSON.parse(f.stdout).removed as string[]) forgotten.add(id);
        const delay = 40 + rand() * gcMs; // from start-up on: a kill at any moment counts
        const o = await runKill(sb, ['gc', '--max-unused', '0'], delay);
        if (o.signal === 'SIGKILL') kills.gc++;
        else {
          expect(o.code, `${ctx}: gc: ${o.stderr}`).toBe(0);
          gcMs = Math.max(gcMs, o.ms);
        }
      } else {
        const input = file(k);
        shaToVersion.set(sha256(version(k)), k);
        k++;
        const delay = 120 + rand() * snapMs;
        const pin = rand() < 0.3 ? ['--tag', 'pinned'] : []; // pinned snapshots survive forget: they must outlive later kills
        const o = await runKill(sb, ['snapshot', input, '--json', '--name', 'crash', ...pin], delay);
        if (o.signal === 'SIGKILL') kills.snapshot++;
        else {
          expect(o.code, `${ctx}: snapshot: ${o.stderr}`).toBe(0);
          completed.add(JSON.parse(o.stdout).id);
          snapMs = Math.max(snapMs, o.ms);
        }
      }
      if (round % 8 === 7) {
        const c = await runKill(sb, ['check', '--read-data', '--json'], undefined);
        expect(c.code, `${ctx}: check after round ${round}: ${c.stdout}${c.stderr}`).toBe(0);
      }
    }
    expect(kills.snapshot + kills.gc, ctx).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(kills.snapshot, ctx).toBeGreaterThan(MIN_EACH);
    expect(kills.gc, ctx).toBeGreaterThan(MIN_EACH);
    expect(surviving(), ctx).toBeGreaterThan(3);

    // 1. check --read-data: no errors, only debris notes
    const c = await runKill(sb, ['check', '--read-data', '--json'], undefined);
    expect(c.code, `${ctx}: ${c.stdout}${c.stderr}`).toBe(0);
    const findings = JSON.parse(c.stdout).findings as { kind: string; severity: string }[];
    expect(
      findings.every((f) => f.severity === 'info' && ['pack-unreferenced', 'lock-stale'].includes(f.kind)),
      JSON.stringify(findings),
    ).toBe(true);

    // 2. every snapshot restores byte-identically; every completed one not forgotten is there
    const snaps = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { id: string; sha256: string }[];
    const present = new Set(snaps.map((s) => s.id));
    for (const id of completed) if (!forgotten.has(id)) expect(present.has(id), `${ctx}: completed snapshot ${id} is gone`).toBe(true);
    for (const s of snaps) {
      const v = shaToVersion.get(s.sha256);
      expect(v, `${ctx}: snapshot ${s.id} has unknown content`).toBeDefined();
      const out = sb.file('restored');
      const r = sb.run(['restore', s.id, out, '--overwrite']);
      expect(r.code, `${ctx}: restore ${s.id}: ${r.stderr}`).toBe(0);
      expect(fs.readFileSync(out).equals(version(v!)), `${ctx}: snapshot ${s.id}`).toBe(true);
    }

    // 3. the next gc reclaims the debris
    const g = sb.run(['gc']);
    expect(g.code, g.stderr).toBe(0);
    const after = JSON.parse(sb.run(['check', '--read-data', '--json']).stdout);
    expect(after.errors).toBe(0);
    expect(after.findings, ctx).toEqual([]);
    const temps = listFiles(sb.repo).filter((p) => /\/\.tmp-/.test(p) && !p.includes('/locks/'));
    expect(temps, ctx).toEqual([]);
    console.log(`crash harness ${ctx}: ${kills.snapshot} snapshot kills, ${kills.gc} gc kills, ${snaps.length} snapshots restored`);
    // a bound on the harness's duration, not an assertion: 60-120 s idle, over 180 s on a loaded 2-core machine
  }, 420_000);
});
