/**
 * Reading stored trees: the entries of a directory, a path looked up, a depth-first walk.
 * Memory: the entries of the directories on the current path (one directory at a time
 * per level), never the whole tree.
 */
import type { BlobLocation } from '../blob-index/types.js';
import { StowageError } from '../errors.js';
import type { CodecPool } from '../repository/codec-pool.js';
import type { Repository } from '../repository/repository.js';
import { decodeTreeBlob, nodeName, symlinkTarget, type TreeNode } from './node.js';

/** What the tree functions read of a snapshot (a Snapshot is one; the tree layer sits below snapshot/). */
export interface TreeSnapshot {
  readonly id: string;
  readonly format?: string | undefined;
  readonly tree?: { readonly paths: readonly string[]; readonly root: readonly string[] } | undefined;
}

/** The entries listed by tree blobs `ids` (a directory's `tree`), in order. */
export async function loadEntries(repo: Repository, ids: readonly string[] | undefined): Promise<TreeNode[]> {
  if (!ids || ids.length === 0) return [];
  const blobs = await repo.loadBlobs(ids.map((h) => Buffer.from(h, 'hex')));
  const out: TreeNode[] = [];
  blobs.forEach((b, i) => out.push(...decodeTreeBlob(b, `tree blob ${ids[i]!}`)));
  return out;
}

/**
 * The entries of several directories at once (each one's `tree`): one index lookup, the
 * blobs read grouped by pack and each frame decoded and verified once, by `pool` (a walk
 * that loads directory by directory pays a lookup and a frame decode per directory).
 */
export async function loadEntriesOf(repo: Repository, pool: CodecPool, trees: readonly (readonly string[] | undefined)[]): Promise<TreeNode[][]> {
  return (await loadSomeEntriesOf(repo, pool, trees, Infinity)).entries;
}

/**
 * loadEntriesOf for the first directories of `trees` whose tree blobs hold at most
 * `maxBytes` (plaintext; the first directory always): `entries` and `bytes` (each one's
 * tree-blob bytes) are as long as the directories loaded.
 */
export async function loadSomeEntriesOf(repo: Repository, pool: CodecPool, trees: readonly (readonly string[] | undefined)[], maxBytes: number): Promise<{ entries: TreeNode[][]; bytes: number[] }> {
  const ids = new Map<string, Buffer>();
  for (const t of trees) {
    for (const h of t ?? []) {
      const id = Buffer.from(h, 'hex');
      ids.set(id.toString('latin1'), id);
    }
  }
  if (ids.size === 0) return { entries: trees.map(() => []), bytes: trees.map(() => 0) };
  const found = await repo.lookup([...ids.values()]);
  const all = new Map<string, BlobLocation>();
  let i = 0;
  for (const k of ids.keys()) {
    const loc = found[i++];
    if (!loc || loc.base) return { entries: await Promise.all(trees.map((t) => loadEntries(repo, t))), bytes: trees.map(() => 0) }; // missing: reported there
    all.set(k, loc);
  }
  const locs = new Map<string, BlobLocation>();
  const bytes: number[] = [];
  let total = 0;
  for (const t of trees) {
    let n = 0;
    for (const h of t ?? []) n += all.get(Buffer.from(h, 'hex').toString('latin1'))!.rawLength;
    if (bytes.length > 0 && total + n > maxBytes) break;
    for (const h of t ?? []) {
      const k = Buffer.from(h, 'hex').toString('latin1');
      locs.set(k, all.get(k)!);
    }
    bytes.push(n);
    total += n;
  }
  const plain = locs.size ? await repo.loadWholeBlobs(locs, pool) : new Map<string, Uint8Array>();
  const entries = trees.slice(0, bytes.length).map((t) => {
    const out: TreeNode[] = [];
    for (const h of t ?? []) out.push(...decodeTreeBlob(plain.get(Buffer.from(h, 'hex').toString('latin1'))!, `tree blob ${h}`));
    return out;
  });
  return { entries, bytes };
}

/** True when the snapshot is of directories (stowage snapshot <dir>...). */
export function isTreeSnapshot(s: TreeSnapshot): boolean {
  return s.format === 'tree' && s.tree !== undefined;
}

/**
 * The top of a tree snapshot as users see it: a snapshot of one directory shows that
 * directory's contents (`node` is the directory itself); a snapshot of several paths
 * shows one entry per path, named by its base name (`node` undefined).
 */
export async function treeTop(repo: Repository, s: TreeSnapshot): Promise<{ node: TreeNode | undefined; entries: TreeNode[] }> {
  if (!s.tree) throw new StowageError('INVALID_ARGUMENT', `snapshot ${s.id.slice(0, 8)} is not a snapshot of directories (format ${s.format ?? 'raw'})`);
  const roots = await loadEntries(repo, s.tree.root);
  if (s.tree.paths.length === 1 && roots.length === 1 && roots[0]!.type === 'dir') return { node: roots[0], entries: await loadEntries(repo, roots[0]!.tree) };
  return { node: undefined, entries: roots };
}

/** Splits a user path ("etc/nginx/", "/etc/x") into byte components; "" and "/" are the top. */
export function pathComponents(p: string | Buffer): Buffer[] {
  const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x2f) {
      if (i > start) {
        const c = b.subarray(start, i);
        if (!(c.length === 1 && c[0] === 0x2e)) out.push(c);
      }
      start = i + 1;
    }
  }
  return out;
}

/**
 * The node at `path` of a tree snapshot (undefined for the top itself, which is not a
 * node when several paths were stored). NOT_FOUND when there is none.
 */
export async function lookupPath(repo: Repository, s: TreeSnapshot, path: string | Buffer): Promise<{ node: TreeNode | undefined; entries: TreeNode[] | undefined }> {
  const top = await treeTop(repo, s);
  let node = top.node;
  let entries: TreeNode[] | undefined = top.entries;
  const parts = pathComponents(path);
  for (let i = 0; i < parts.length; i++) {
    const want = parts[i]!;
    if (!entries) throw new StowageError('NOT_FOUND', `${String(path)}: ${parts.slice(0, i).map(String).join('/')} is not a directory in snapshot ${s.id.slice(0, 8)}`);
    const found: TreeNode | undefined = entries.find((e) => nodeName(e).equals(want));
    if (!found) throw new StowageError('NOT_FOUND', `${String(path)}: no such file or directory in snapshot ${s.id.slice(0, 8)}`);
    node = found;
    entries = found.type === 'dir' ? await loadEntries(repo, found.tree) : undefined;
  }
  return { node, entries };
}

export interface WalkedEntry {
  /** Path relative to the walk's start, components joined by "/" (bytes). */
  readonly path: Buffer;
  readonly node: TreeNode;
}

/** Depth-first, pre-order walk under `entries` (directories before their contents). */
export async function* walkEntries(repo: Repository, entries: readonly TreeNode[], prefix: Buffer = Buffer.alloc(0)): AsyncGenerator<WalkedEntry> {
  for (const node of entries) {
    const name = nodeName(node);
    const path = prefix.length ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
    yield { path, node };
    if (node.type === 'dir' && node.tree?.length) yield* walkEntries(repo, await loadEntries(repo, node.tree), path);
  }
}

/** A symlink target resolved against the link's directory ("..", "." and absolute paths, "/" being the top). */
export function resolveLink(dir: string, target: string): string {
  const parts = target.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return parts.join('/');
}

/** lookupPath, following a symlink at the end (relative to its directory; at most 40). */
export async function lookupFollow(repo: Repository, s: TreeSnapshot, path: string): Promise<{ node: TreeNode | undefined; entries: TreeNode[] | undefined }> {
  let want = pathComponents(path).map(String).join('/');
  for (let hops = 0; hops <= 40; hops++) {
    const r = await lookupPath(repo, s, want);
    if (r.node?.type !== 'symlink') return r;
    want = resolveLink(want.includes('/') ? want.slice(0, want.lastIndexOf('/')) : '', symlinkTarget(r.node).toString());
  }
  throw new StowageError('INVALID_ARGUMENT', `${path}: too many levels of symbolic links`);
}
