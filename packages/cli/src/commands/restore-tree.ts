/** `stowage restore <snapshot>[:<path>] <dir|->` for tree snapshots (directories with metadata, or a tar stream). */
import { restoreTree, restoreTreeToTar, StowageError, type Repository, type Snapshot } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Context } from '../context.js';
import { formatBytes, formatRate } from '../format.js';
import { progressFor } from '../progress-bar.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { printable } from './tree-render.js';

export interface TreeRestoreOpts {
  overwrite?: boolean;
  include?: string[];
  exclude?: string[];
  format?: string;
}

/** "abcd1234:etc/nginx" -> ["abcd1234", "etc/nginx"]; no colon -> [ref, undefined]. */
export function splitSnapshotPath(ref: string): [string, string | undefined] {
  const i = ref.indexOf(':');
  return i < 0 ? [ref, undefined] : [ref.slice(0, i), ref.slice(i + 1)];
}

export async function runTreeRestore(ctx: Context, repo: Repository, snap: Snapshot, subpath: string | undefined, target: string, o: TreeRestoreOpts): Promise<number | undefined> {
  const t0 = performance.now();
  const format = o.format ?? (target === '-' ? 'tar' : 'dir');
  if (format !== 'dir' && format !== 'tar') throw new StowageError('INVALID_ARGUMENT', `--format ${format}: use dir or tar`);
  if (format === 'tar') {
    if (target !== '-') throw new StowageError('INVALID_ARGUMENT', '--format tar writes to stdout: give - as the target');
    if (o.include?.length || o.exclude?.length) throw new StowageError('INVALID_ARGUMENT', '--include/--exclude apply to a restore to a directory; use <snapshot>:<path> for part of a tar stream');
    const r = await restoreTreeToTar(repo, snap, process.stdout, { ...(subpath !== undefined && { subpath }), signal: ctx.signal });
    ctx.info(`restored snapshot ${shortId(snap.id)}${subpath ? `:${printable(subpath)}` : ''} as a tar stream: ${r.entries} entries, ${formatBytes(r.bytes)}, every blob verified`);
    return undefined;
  }
  if (target === '-') throw new StowageError('INVALID_ARGUMENT', 'a snapshot of directories restores to a directory, or to stdout with --format tar');
  const progress = progressFor(ctx);
  let r;
  try {
    r = await restoreTree(repo, snap, target, {
      overwrite: o.overwrite ?? false,
      ...(subpath !== undefined && { subpath }),
      ...(o.include && { includes: o.include }),
      ...(o.exclude && { excludes: o.exclude }),
      signal: ctx.signal,
      ...(progress.fn && { progress: progress.fn }),
      onWarning: (m) => ctx.warn(printable(m)),
    });
  } finally {
    progress.done();
  }
  const secs = (performance.now() - t0) / 1000;
  if (ctx.opts.json) ctx.json({ id: snap.id, target, files: r.files, dirs: r.dirs, others: r.others, bytes: r.bytes, warnings: r.warnings.length, verified: true, seconds: secs });
  else
    ctx.say(
      `restored snapshot ${shortId(snap.id)}${subpath ? `:${printable(subpath)}` : ''} to ${printable(target)}: ${r.files} files, ${r.dirs} directories, ${r.others} other entries, ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s (${formatRate(r.bytes, secs)}), every blob verified, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}`,
    );
  return r.warnings.length ? EXIT_WARNINGS : undefined;
}
