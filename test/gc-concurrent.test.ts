/**
 * gc and writers at once: in every round a snapshot and a gc start at the same moment
 * (both with --retry-lock), right after `forget` made the chunks the snapshot is about to
 * reuse garbage. Without the shared/exclusive locks gc could delete chunks the snapshot has
 * just found in the index and references. After every round the new snapshot restores
 * byte-identically; at the end every snapshot restores and check --read-data is clean.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

const ROUNDS = 20;
const SEG = 384 << 10;

/** Version r: an old segment (of version r-2, forgotten by now), then a new one. */
function version(r: number): Buffer {
  return Buffer.concat([seededBytes(`seg-${Math.max(0, r - 2)}`, SEG), seededBytes(`seg-${r}`, SEG), seededBytes(`tail-${r % 3}`, SEG >> 1)]);
}

describe('gc and snapshots running at the same time', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--pack-size', '128K', '--chunk-avg', '16K']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it(`${ROUNDS} rounds of snapshot + gc; every snapshot restores`, async () => {
    const expected = new Map<string, Buffer>();
    let waits = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const input = sb.file(`v${r}`);
      fs.writeFileSync(input, version(r));
      // keep only the newest snapshot: the segment the next snapshot reuses becomes garbage
      const f = sb.run(['forget', '--keep-last', '1', '--json']);
      expect(f.code, f.stderr).toBe(0);
      for (const id of JSON.parse(f.stdout).removed as string[]) expected.delete(id);
      const [s, g] = await Promise.all([sb.runAsync(['--retry-lock', '2m', 'snapshot', input, '--json', '--name', 'v']), sb.runAsync(['--retry-lock', '2m', 'gc', '--max-unused', '0', '--json'])]);
      expect(s.code, `round ${r}: snapshot: ${s.stderr}`).toBe(0);
      expect(g.code, `round ${r}: gc: ${g.stderr}`).toBe(0);
      const id = JSON.parse(s.stdout).id as string;
      expected.set(id, version(r));
      if (JSON.parse(g.stdout).plan.snapshots === expected.size) waits++; // gc ran after the snapshot committed
      const out = sb.file(`v${r}.out`);
      const res = sb.run(['restore', id, out]);
      expect(res.code, `round ${r}: restore: ${res.stderr}`).toBe(0);
      expect(fs.readFileSync(out).equals(version(r)), `round ${r}`).toBe(true);
      fs.rmSync(out);
      fs.rmSync(input);
    }
    // both orders happened (the lock serialises them whichever starts first)
    expect(waits).toBeGreaterThan(0);
    const snaps = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { id: string }[];
    expect(snaps.map((x) => x.id).sort()).toEqual([...expected.keys()].sort());
    for (const [id, data] of expected) {
      const out = sb.file(`${id}.out`);
      expect(sb.run(['restore', id, out]).code).toBe(0);
      expect(fs.readFileSync(out).equals(data)).toBe(true);
    }
    const c = sb.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });
});
