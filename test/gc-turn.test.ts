/**
 * gc gets its turn beside writers that never pause (issue 14, item 11): three writers run
 * `stowage snapshot` in a loop, each starting the next snapshot the moment the last one ended;
 * gc with --retry-lock queues a request for the exclusive lock, new snapshots wait for it,
 * and gc runs. Every gc and every snapshot succeeds; afterwards the repository checks clean.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type RunResult, type Sandbox } from './helpers/cli.js';

describe('gc beside writers that never pause', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('two gc runs with --retry-lock both run while three writers snapshot in a loop', async () => {
    let stop = false;
    const writerRuns: { w: number; r: RunResult }[] = [];
    const writers = [0, 1, 2].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const input = sb.file(`w${w}`);
        fs.writeFileSync(input, Buffer.concat([seededBytes(`gc-turn-${w}-${i}`, 2 << 20), seededBytes('gc-turn-shared', 2 << 20)]));
        writerRuns.push({ w, r: await sb.runAsync(['--retry-lock', '5m', 'snapshot', input, '--name', `w${w}`, '-q']) });
      }
    });
    // let the writers get going, then forget most snapshots and gc, twice
    while (writerRuns.length < 3) await new Promise((r) => setTimeout(r, 200));
    const gcs: { r: RunResult; seconds: number; writersDuring: number }[] = [];
    for (let k = 0; k < 2; k++) {
      const f = await sb.runAsync(['--retry-lock', '5m', 'forget', '--keep-last', '1']);
      expect(f.code, f.stderr).toBe(0);
      const before = writerRuns.length;
      const t0 = Date.now();
      const r = await sb.runAsync(['--retry-lock', '5m', 'gc', '--max-unused', '0', '--json']);
      gcs.push({ r, seconds: (Date.now() - t0) / 1000, writersDuring: writerRuns.length - before });
    }
    stop = true;
    await Promise.all(writers);
    for (const g of gcs) expect(g.r.code, g.r.stderr).toBe(0);
    for (const { w, r } of writerRuns) expect(r.code, `writer ${w}: ${r.stderr}`).toBe(0);
    for (const g of gcs) expect(JSON.parse(g.r.stdout).plan).toBeDefined();
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
    const c = sb.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    console.log(`gc-turn: ${writerRuns.length} snapshots; gc waited and ran in ${gcs.map((g) => `${g.seconds.toFixed(1)} s (${g.writersDuring} snapshots ended meanwhile)`).join(', ')}`);
  });
});
