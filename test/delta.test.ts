/**
 * Delta blobs end to end through the CLI (worker threads, shared-memory slots): a second
 * version whose files changed a little is stored as deltas, restores byte for byte, checks
 * clean with --read-data, and still restores after its basis is forgotten and gc ran.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarOf } from '../packages/core/src/testing/tars.js';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

/** `data` with a byte changed every `every` bytes (a rebuilt binary). */
function patched(data: Buffer, every: number): Buffer {
  const out = Buffer.from(data);
  for (let i = 1234; i < out.length; i += every) out[i]! ^= 0x5a;
  return out;
}

describe('deltas (CLI, workers)', () => {
  let sb: Sandbox;
  const MiB = 1024 * 1024;
  const files = Array.from({ length: 6 }, (_, i) => ({ name: `usr/lib/lib${i}.so`, data: seededBytes(`lib${i}`, 2 * MiB + i * 1000) }));
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--chunk-avg', '65536']).code).toBe(0);
    fs.writeFileSync(sb.file('v1.tar'), tarOf(files));
    fs.writeFileSync(sb.file('v2.tar'), tarOf([...files.map((f) => ({ name: f.name, data: patched(f.data, 100_000) })), { name: 'etc/new', data: seededBytes('new', 300_000) }]));
  });
  afterAll(() => sb.cleanup());

  it('stores v2 as deltas against v1, restores both, checks clean; survives forget v1 + gc', () => {
    const s1 = JSON.parse(sb.run(['snapshot', sb.file('v1.tar'), '--json', '--name', 'img']).stdout);
    const r2 = sb.run(['snapshot', sb.file('v2.tar'), '--json', '--name', 'img']);
    expect(r2.code, r2.stderr).toBe(0);
    const s2 = JSON.parse(r2.stdout);
    expect(s2.basis).toBe(s1.id);
    expect(s2.deltaBlobs).toBeGreaterThan(50);
    // 12 MiB of random (incompressible) file data changed in ~130 places: stored in well under 1 MiB, plus the new file
    expect(s2.bytesNew).toBeGreaterThan(5 * MiB);
    expect(s2.bytesStored).toBeLessThan(300_000 + MiB);
    for (const [id, file] of [
      [s2.id, 'v2.tar'],
      [s1.id, 'v1.tar'],
    ] as const) {
      const out = sb.run(['restore', id, sb.file(`${file}.out`)]);
      expect(out.code, out.stderr).toBe(0);
      expect(fs.readFileSync(sb.file(`${file}.out`)).equals(fs.readFileSync(sb.file(file)))).toBe(true);
    }
    const c = sb.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(sb.run(['forget', s1.id, '--prune']).code).toBe(0);
    const gc = sb.run(['gc', '--max-unused', '0']);
    expect(gc.code, gc.stderr).toBe(0);
    const again = sb.run(['restore', s2.id, sb.file('v2.again'), '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('v2.again')).equals(fs.readFileSync(sb.file('v2.tar')))).toBe(true);
    expect(sb.run(['check', '--read-data']).code).toBe(0);
  });

  it('--no-delta stores the changed files whole; --basis names a snapshot that does not exist: NOT_FOUND', () => {
    const r = JSON.parse(sb.run(['snapshot', sb.file('v2.tar'), '--json', '--name', 'other', '--no-delta', '--force']).stdout);
    expect(r.basis).toBeUndefined();
    const bad = sb.run(['snapshot', sb.file('v2.tar'), '--basis', 'ffffffff', '--force']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ffffffff/);
  });
});
