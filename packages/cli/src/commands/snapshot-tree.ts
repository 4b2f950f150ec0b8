/** `stowage snapshot <dir>...`: the tree snapshot half of the snapshot command. */
import { readFileSync } from 'node:fs';
import { snapshotTree, StowageError, type ProgressFn, type Repository, type TreeScan, type TreeSnapshotResult } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Context } from '../context.js';
import { formatBytes } from '../format.js';
import { saySnapshotSummary, snapshotSummaryJson } from './snapshot-report.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { printable } from './tree-render.js';
import { withHeapGrowth } from '../heap-growth.js';

/** V8 heap growth (percent) during a tree snapshot's walk (heap-growth.ts). */
const TREE_HEAP_GROWTH = 100;

export interface TreeOpts {
  exclude?: string[];
  excludeFile?: string[];
  excludeIfPresent?: string[];
  oneFileSystem?: boolean;
  parent?: string;
}

/** Patterns from --exclude and the lines of each --exclude-file (blank lines and # comments skipped, as gitignore). */
export function excludePatterns(o: TreeOpts): string[] {
  const out = [...(o.exclude ?? [])];
  for (const f of o.excludeFile ?? []) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      throw new StowageError('INVALID_ARGUMENT', `--exclude-file ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
    }
    for (const line of text.split('\n')) if (line.trim() && !line.startsWith('#')) out.push(line.replace(/\r$/, ''));
  }
  return out;
}

export async function runTreeSnapshot(
  ctx: Context,
  repo: Repository,
  inputs: string[],
  o: TreeOpts,
  common: { name?: string; hostname?: string; tags: string[]; delta?: boolean; signal: AbortSignal; force: boolean; progress?: ProgressFn; scan?: TreeScan },
): Promise<number | undefined> {
  // the old generation grows to twice what survived a full collection, not V8's up to 4x (peak RSS, see heap-growth.ts)
  const r = await withHeapGrowth(TREE_HEAP_GROWTH, () =>
    snapshotTree(repo, inputs, {
      ...common,
      excludes: excludePatterns(o),
      ...(o.excludeIfPresent && { excludeIfPresent: o.excludeIfPresent }),
      ...(o.oneFileSystem && { oneFileSystem: true }),
      ...(o.parent !== undefined && { parent: o.parent }),
      onWarning: (w) => (w.note ? ctx.info(`stowage: note: ${printable(w.message)} [${w.code}]`) : ctx.warn(`${printable(w.message)} [${w.code}]`)),
    }),
  );
  report(ctx, r);
  return r.warnings.some((w) => !w.note) ? EXIT_WARNINGS : undefined;
}

function report(ctx: Context, r: TreeSnapshotResult): void {
  const s = r.snapshot;
  const t = s.tree!;
  const warnings = r.warnings.filter((w) => !w.note).length;
  if (ctx.opts.json) {
    ctx.json({
      ...snapshotSummaryJson(s),
      format: 'tree',
      paths: t.paths,
      files: t.files,
      dirs: t.dirs,
      others: t.others,
      size: t.bytes,
      filesRead: r.filesRead,
      filesReused: r.filesReused,
      warnings,
    });
    return;
  }
  saySnapshotSummary(ctx, s, {
    middle: [
      `  tree    ${t.files} files, ${t.dirs} directories, ${t.others} other entries, ${formatBytes(t.bytes)}`,
      ...(s.parent ? [`  parent  ${shortId(s.parent)}: ${r.filesReused} unchanged files not read again (use --force to re-read)`] : []),
    ],
    readOf: `${r.filesRead} files`,
    after: [warnings ? `  warnings ${warnings} (see above)` : undefined],
  });
}
