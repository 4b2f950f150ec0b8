/** `stowage ls <snapshot> [path]` for snapshots of directories: every entry under path (mode, owner, size, mtime, path). */
import { lookupPath, walkEntries, type Repository, type Snapshot } from '@stowage/core';
import { nodeName } from '@stowage/core/internal';
import type { Context } from '../context.js';
import { lsJson, lsLine } from './tree-render.js';

export async function runTreeLs(ctx: Context, repo: Repository, snap: Snapshot, sub: string | undefined): Promise<void> {
  const { node, entries } = await lookupPath(repo, snap, sub ?? '');
  const prefix = Buffer.from((sub ?? '').replace(/^\/+|\/+$/g, ''));
  const print = (path: Buffer, n: NonNullable<typeof node>) => ctx.out(ctx.opts.json ? lsJson(path, n) : lsLine(path, n));
  if (!entries) {
    print(prefix.length ? prefix : nodeName(node!), node!);
    return;
  }
  if (node && prefix.length) print(prefix, node);
  for await (const e of walkEntries(repo, entries, prefix)) print(e.path, e.node);
}
