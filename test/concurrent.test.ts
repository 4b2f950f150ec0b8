/**
 * Two writers at once: two `stowage snapshot` processes on one repository at the same
 * time both succeed and both restore (LevelDB is single-process: each takes its own
 * index cache slot).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('concurrent writers', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--pack-size', '1M']).code).toBe(0);
    const shared = seededBytes('shared', 24 << 20);
    fs.writeFileSync(sb.file('a.bin'), Buffer.concat([shared, seededBytes('a', 16 << 20)]));
    fs.writeFileSync(sb.file('b.bin'), Buffer.concat([seededBytes('b', 16 << 20), shared]));
  });
  afterAll(() => sb.cleanup());

  it('both snapshots succeed and restore byte-identically', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        sb.runAsync(['snapshot', sb.file('a.bin'), '--json', '--force', '--tag', `r${round}`]),
        sb.runAsync(['snapshot', sb.file('b.bin'), '--json', '--force', '--tag', `r${round}`]),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      for (const [r, src] of [
        [a, 'a.bin'],
        [b, 'b.bin'],
      ] as const) {
        const id = JSON.parse(r.stdout).id as string;
        const out = sb.file(`${src}.${round}.out`);
        const res = sb.run(['restore', id, out]);
        expect(res.code, res.stderr).toBe(0);
        expect(fs.readFileSync(out).equals(fs.readFileSync(sb.file(src)))).toBe(true);
        fs.rmSync(out);
      }
    }
    // two cache slots were used
    const cacheRepo = fs.readdirSync(`${sb.dir}/cache`)[0]!;
    expect(fs.readdirSync(`${sb.dir}/cache/${cacheRepo}`).filter((d) => d.startsWith('index-')).length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(sb.run(['snapshots', '--json']).stdout)).toHaveLength(6);
  });
});
