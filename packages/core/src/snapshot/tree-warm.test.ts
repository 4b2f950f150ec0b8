/**
 * A tree snapshot starts its first codec worker at the first file it reads (codec-warm.ts),
 * not at its first encode job: never for an unchanged tree or an inline pool.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { Repository } from '../repository/repository.js';
import { prestartCodecWorkers, stopWarmWorkers, warmCodecWorkers } from '../repository/codec-warm.js';
import { snapshotTree } from './tree-snapshot.js';

vi.mock('../repository/codec-warm.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../repository/codec-warm.js')>();
  return { ...orig, prestartCodecWorkers: vi.fn(orig.prestartCodecWorkers) };
});

describe('tree snapshots start a codec worker at their first file read', () => {
  let dir: string;
  let cacheRoot: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-tree-warm-'));
    cacheRoot = tempCacheRoot();
  });
  afterAll(async () => {
    await stopWarmWorkers();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('once per snapshot that reads a file, with workers; none for an unchanged tree or inline', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd/big.bin'), seeded('warm-big', 1_500_000));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, `d/f${i}`), seeded(`warm-${i}`, 100 + i * 300));
    const started = vi.mocked(prestartCodecWorkers);
    const { backend, repo } = await testRepo(cacheRoot);
    const a = await snapshotTree(repo, [src], { workers: 2 });
    expect(a.filesRead).toBe(21);
    expect(started.mock.calls).toEqual([[1]]);
    expect(repo.codecs(2).size).toBeGreaterThan(0);
    expect(warmCodecWorkers()).toBe(0); // the pool took it
    await repo.close();
    // unchanged: nothing read, no worker
    const again = await Repository.open(backend, { cacheRoot });
    const b = await snapshotTree(again, [src], { workers: 2 });
    expect(b.filesRead).toBe(0);
    expect(started).toHaveBeenCalledTimes(1);
    expect(again.codecs(2).size).toBe(0);
    // inline: every file read, no worker
    const c = await snapshotTree(again, [src], { workers: 0, force: true });
    expect(c.filesRead).toBe(21);
    expect(started).toHaveBeenCalledTimes(1);
    await again.close();
  });
});
