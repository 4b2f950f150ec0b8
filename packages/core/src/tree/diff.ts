/**
 * What changed between two tree snapshots: added, removed, changed (content or type),
 * metadata-only changes (mode, owner, mtime, xattrs, link target, device). Both trees are
 * walked together in name order; a directory whose tree blobs are the same in both is the
 * same subtree and is not opened (an unchanged tree costs one blob comparison).
 */
import type { Repository } from '../repository/repository.js';
import { nodeName, type TreeNode } from './node.js';
import { loadEntries, treeTop, type TreeSnapshot } from './stored.js';
import { fileContent } from './dump.js';

export type DiffKind = 'added' | 'removed' | 'changed' | 'metadata';

export interface DiffEntry {
  readonly kind: DiffKind;
  /** Path relative to the snapshots' top (bytes joined by "/"). */
  readonly path: Buffer;
  readonly a?: TreeNode;
  readonly b?: TreeNode;
  /** For 'metadata': which fields differ. */
  readonly fields?: readonly string[];
}

const META_FIELDS = ['mode', 'uid', 'gid', 'mtime', 'xattrs', 'target', 'targetb', 'rdev'] as const;

/** Calls `on` for every difference, in path order. */
export async function diffTrees(repo: Repository, a: TreeSnapshot, b: TreeSnapshot, on: (d: DiffEntry) => void): Promise<void> {
  const ta = await treeTop(repo, a);
  const tb = await treeTop(repo, b);
  await diffEntries(repo, ta.entries, tb.entries, Buffer.alloc(0), on);
}

async function diffEntries(repo: Repository, as: readonly TreeNode[], bs: readonly TreeNode[], prefix: Buffer, on: (d: DiffEntry) => void): Promise<void> {
  let i = 0;
  let j = 0;
  const join = (n: TreeNode) => (prefix.length ? Buffer.concat([prefix, Buffer.from('/'), nodeName(n)]) : nodeName(n));
  while (i < as.length || j < bs.length) {
    const x = as[i];
    const y = bs[j];
    const c = x && y ? Buffer.compare(nodeName(x), nodeName(y)) : x ? -1 : 1;
    if (c < 0) {
      await all(repo, x!, join(x!), 'removed', on);
      i++;
    } else if (c > 0) {
      await all(repo, y!, join(y!), 'added', on);
      j++;
    } else {
      const path = join(x!);
      i++;
      j++;
      if (x!.type !== y!.type) {
        on({ kind: 'changed', path, a: x!, b: y!, fields: ['type'] });
        if (x!.type === 'dir') await children(repo, x!, path, 'removed', on);
        if (y!.type === 'dir') await children(repo, y!, path, 'added', on);
        continue;
      }
      const contentChanged = x!.type === 'file' && (x!.size !== y!.size || JSON.stringify(x!.sparse) !== JSON.stringify(y!.sparse) || (x!.content !== y!.content && !(await sameBytes(repo, x!, y!))));
      const fields = META_FIELDS.filter((f) => JSON.stringify(x![f]) !== JSON.stringify(y![f]));
      if (contentChanged) on({ kind: 'changed', path, a: x!, b: y!, fields: ['content', ...fields] });
      else if (fields.length) on({ kind: 'metadata', path, a: x!, b: y!, fields });
      if (x!.type === 'dir' && JSON.stringify(x!.tree) !== JSON.stringify(y!.tree)) {
        await diffEntries(repo, await loadEntries(repo, x!.tree), await loadEntries(repo, y!.tree), path, on);
      }
    }
  }
}

async function all(repo: Repository, n: TreeNode, path: Buffer, kind: 'added' | 'removed', on: (d: DiffEntry) => void): Promise<void> {
  on({ kind, path, ...(kind === 'added' ? { b: n } : { a: n }) });
  if (n.type === 'dir') await children(repo, n, path, kind, on);
}

async function children(repo: Repository, n: TreeNode, path: Buffer, kind: 'added' | 'removed', on: (d: DiffEntry) => void): Promise<void> {
  for (const c of await loadEntries(repo, n.tree)) await all(repo, c, Buffer.concat([path, Buffer.from('/'), nodeName(c)]), kind, on);
}

/**
 * Whether two files of the same size hold the same bytes although their extents differ
 * (a file read again, e.g. after chmod, lands in other small-file blobs): compared by content.
 */
async function sameBytes(repo: Repository, x: TreeNode, y: TreeNode): Promise<boolean> {
  const a = fileContent(repo, x, 'a');
  const b = fileContent(repo, y, 'b');
  let bufA = Buffer.alloc(0);
  let bufB = Buffer.alloc(0);
  for (;;) {
    if (bufA.length === 0) {
      const n = await a.next();
      if (!n.done) bufA = Buffer.from(n.value);
    }
    if (bufB.length === 0) {
      const n = await b.next();
      if (!n.done) bufB = Buffer.from(n.value);
    }
    if (bufA.length === 0 || bufB.length === 0) return bufA.length === bufB.length;
    const k = Math.min(bufA.length, bufB.length);
    if (!bufA.subarray(0, k).equals(bufB.subarray(0, k))) return false;
    bufA = bufA.subarray(k);
    bufB = bufB.subarray(k);
  }
}
