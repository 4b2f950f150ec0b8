/**
 * A tree snapshot starts its first codec worker before its first encode job (codec-warm.ts):
 * at once without a parent, or when the scan saw an entry changed since the parent, else at
 * the first file it reads; never for an unchanged tree or an inline pool.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { Repository } from '../repository/repository.js';
import { prestartCodecWorkers, stopWarmWorkers, warmCodecWorkers } from '../repository/codec-warm.js';
import { TreeScan } from '../tree/scan.js';
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

  it('before the walk when the scan saw an entry changed since the parent (here only a directory: no file is read)', async () => {
    const src = path.join(dir, 'scanned');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `sub/f${i}`), `file ${i}\n`);
    const started = vi.mocked(prestartCodecWorkers);
    const root = tempCacheRoot();
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const { backend, repo } = await testRepo(root);
    await snapshotTree(repo, [src], { workers: 2 });
    await repo.close();
    const snap = async (): Promise<number> => {
      const again = await Repository.open(backend, { cacheRoot: root });
      const scan = new TreeScan([src]);
      await vi.waitFor(() => expect(scan.size).toBe(2)); // both directories scanned (the CLI scans while the key is derived)
      started.mockClear();
      try {
        expect((await snapshotTree(again, [src], { workers: 2, scan })).filesRead).toBe(0);
      } finally {
        scan.close();
        await again.close();
      }
      return started.mock.calls.length;
    };
    expect(await snap()).toBe(0); // nothing changed since the parent
    // file times come from the kernel's coarse clock (one tick: up to 10 ms) and the parent's time is in whole
    // milliseconds: 50 ms on, the change's ctime is past the parent's time whatever the tick
    await new Promise((r) => setTimeout(r, 50));
    fs.chmodSync(path.join(src, 'sub'), 0o700); // its ctime moves past the parent's time
    expect(await snap()).toBe(1); // (its new tree blobs are encoded on it)
  });
});
