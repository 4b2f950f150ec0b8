/**
 * The index is derived state: delete the LevelDB cache and every index file,
 * `repair index` rebuilds them from pack trailers alone, and restore works.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('repair index', () => {
  let sb: Sandbox;
  const ids: string[] = [];
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--pack-size', '1M']).code).toBe(0);
    for (const n of ['one', 'two', 'three']) {
      fs.writeFileSync(sb.file(n), seededBytes(n, 6 << 20));
      ids.push(JSON.parse(sb.run(['snapshot', sb.file(n), '--json']).stdout).id);
    }
  });
  afterAll(() => sb.cleanup());

  it('rebuilds from pack trailers after the cache and the index files are deleted', () => {
    fs.rmSync(`${sb.dir}/cache`, { recursive: true, force: true });
    for (const f of listFiles(`${sb.repo}/index`)) fs.rmSync(f, { force: true });
    // without an index, restore cannot find the data
    const broken = sb.run(['restore', ids[0]!, sb.file('x')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/not in the index|missing from the index/);
    expect(fs.existsSync(sb.file('x'))).toBe(false);

    const r = sb.run(['repair', 'index', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.packs).toBe(listFiles(`${sb.repo}/data`).length);
    expect(j.indexFilesWritten).toBe(1);
    expect(j.damagedPacks).toEqual([]);
    ['one', 'two', 'three'].forEach((n, i) => {
      const out = sb.file(`${n}.out`);
      const res = sb.run(['restore', ids[i]!, out]);
      expect(res.code, res.stderr).toBe(0);
      expect(fs.readFileSync(out).equals(fs.readFileSync(sb.file(n)))).toBe(true);
    });
  });

  it('replaces existing index files and a stale cache notices', () => {
    const before = listFiles(`${sb.repo}/index`);
    fs.writeFileSync(sb.file('four'), seededBytes('four', 3 << 20));
    const four = JSON.parse(sb.run(['snapshot', sb.file('four'), '--json']).stdout).id;
    expect(listFiles(`${sb.repo}/index`).length).toBe(before.length + 1);
    const r = JSON.parse(sb.run(['repair', 'index', '--json']).stdout);
    expect(r.indexFilesRemoved).toBe(before.length + 1 - (r.indexFilesWritten === 1 ? 0 : 0));
    expect(listFiles(`${sb.repo}/index`)).toHaveLength(1);
    const res = sb.run(['restore', four, sb.file('four.out')]);
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('four.out')).equals(fs.readFileSync(sb.file('four')))).toBe(true);
  });
});
