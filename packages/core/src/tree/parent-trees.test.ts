/**
 * The parent's trees loaded ahead of a tree snapshot's walk (parent-trees.ts): in the walk's
 * order, so a deep directory's trees are loaded before the walk reaches it.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempCacheRoot, testRepo } from '../testing/fixtures.js';
import type { Repository } from '../repository/repository.js';
import { WriteSession } from '../repository/write-session.js';
import { encodeTreeBlob, type TreeNode } from './node.js';
import { ParentTrees } from './parent-trees.js';

function dirNode(name: string, tree: string[]): TreeNode {
  return { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '0', ctime: '0', ino: 1, dev: 1, tree };
}

describe('ParentTrees', () => {
  let cacheRoot: string;
  let repo: Repository;
  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot));
  });
  afterAll(async () => {
    await repo.close();
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  it("loads the subdirectories of the directories it loaded before the others still queued (the walk's depth-first order)", async () => {
    // 200 top directories d000..d199, each holding one subdirectory s000..s199 (a tree blob each, all different)
    const blobs: Buffer[] = [];
    const ids: Buffer[] = [];
    const save = (entries: TreeNode[]): string => {
      const blob = encodeTreeBlob(entries);
      const id = repo.codec.id(blob);
      blobs.push(blob);
      ids.push(id);
      return id.toString('hex');
    };
    const levelOf = new Map<string, 'top' | 'sub'>();
    const tops: TreeNode[] = [];
    for (let i = 0; i < 200; i++) {
      const n = String(i).padStart(3, '0');
      const sub = save([{ name: `f${n}`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '0', ctime: '0', ino: i, dev: 1, size: 0 }]);
      levelOf.set(sub, 'sub');
      const top = save([dirNode(`s${n}`, [sub])]);
      levelOf.set(top, 'top');
      tops.push(dirNode(`d${n}`, [top]));
    }
    const session = new WriteSession(repo, { workers: 0 });
    await session.saveChunks('list', blobs, ids);
    await session.flush();
    const lookup = vi.spyOn(repo, 'lookup');
    try {
      const trees = new ParentTrees(repo, repo.codecs(0));
      trees.preload(tops);
      // two batches of 64 load at once (d000..d063, d064..d127), d128..d199 wait; the third batch
      // is the subdirectories of the first one loaded, not the top directories still queued
      await vi.waitFor(() => expect(lookup.mock.calls.length).toBeGreaterThanOrEqual(3));
      const asked = lookup.mock.calls.map((c) => [...new Set(c[0].map((id) => levelOf.get(Buffer.from(id).toString('hex'))))]);
      expect(asked.slice(0, 3)).toEqual([['top'], ['top'], ['sub']]);
      trees.stop();
    } finally {
      lookup.mockRestore();
    }
  });
});
