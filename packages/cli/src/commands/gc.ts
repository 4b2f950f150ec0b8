/** `stowage gc`: delete data no snapshot references; --dry-run prints the plan. */
import { gc, type GcOutcome, type GcPlan } from '@stowage/core';
import { formatMaxUnused, parseMaxUnused, shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { progressFor } from '../progress-bar.js';
import { formatBytes, table } from '../format.js';

export interface GcCliOptions extends FilterOpts {
  dryRun?: boolean;
  maxUnused?: string;
}

export function registerGc(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program
      .command('gc')
      .description('delete packs no snapshot uses and repack partly used ones (holds the exclusive lock); with --dry-run, --name/--host/--tag/--path plan as if only matching snapshots existed'),
    'with --dry-run, plan for only',
  )
    .option('--dry-run', 'print the plan (packs kept, repacked, deleted; bytes to free) and change nothing')
    .option('--max-unused <limit>', 'unused data to tolerate in kept packs: a percentage of the used data, a size, or "unlimited"', '5%')
    .action((o: GcCliOptions) => run((ctx) => withRepo(ctx, (repo) => runGc(ctx, repo, o))));
}

/** Runs gc and prints the outcome (also used by `forget --prune`). */
export async function runGc(ctx: Context, repo: Parameters<typeof gc>[0], o: GcCliOptions): Promise<void> {
  const filter = filterFrom(o);
  const progress = progressFor(ctx);
  let out;
  try {
    out = await gc(repo, { maxUnused: parseMaxUnused(o.maxUnused ?? '5%'), dryRun: o.dryRun ?? false, signal: ctx.signal, ...(filter && { filter }), ...(progress.fn && { progress: progress.fn }) });
  } finally {
    progress.done();
  }
  if (ctx.opts.json) ctx.json(gcJson(out));
  else printGc(ctx, out);
}

export function gcJson(out: GcOutcome): unknown {
  const p = out.plan;
  return {
    dryRun: out.result === undefined,
    seconds: out.seconds,
    plan: {
      snapshots: p.snapshots,
      ...(p.filtered && { filtered: true }),
      maxUnused: formatMaxUnused(p.maxUnused),
      indexFiles: p.indexFiles.length,
      rewriteIndex: p.rewriteIndex,
      stats: p.stats,
      packs: p.packs,
      unindexedPacks: p.unindexedPacks,
      missingPacks: p.missingPacks,
    },
    ...(out.result && { result: out.result }),
  };
}

function printGc(ctx: Context, out: GcOutcome): void {
  // a dry run's plan is what was asked for; a real run's lines are a summary (not with -q)
  const put = out.result === undefined ? ctx.out : ctx.say;
  const p = out.plan;
  const s = p.stats;
  const count = (a: string) => p.packs.filter((x) => x.action === a);
  const keep = count('keep');
  const repack = count('repack');
  const del = count('delete');
  put(`${p.snapshots} snapshots, ${s.packs} packs (${formatBytes(s.packBytes)}), ${s.blobs} blobs of which ${s.usedBlobs} used`);
  put(`used ${formatBytes(s.usedBytes)}, unused ${formatBytes(s.unusedBytes)}${s.duplicateBlobs ? `, ${s.duplicateBlobs} duplicate blob copies` : ''}`);
  if (out.result === undefined) printPlanTable(ctx, p);
  else if ((ctx.opts.verbose ?? 0) > 0 && !ctx.opts.quiet) printPlanTable(ctx, p); // -v: the per-pack table of a real run too
  put(
    `plan: keep ${keep.length} packs, repack ${repack.length} (${formatBytes(s.repackBytes)}, copying ${formatBytes(s.repackUsedBytes)}), delete ${del.length}${p.unindexedPacks.length ? ` + ${p.unindexedPacks.length} unindexed` : ''} (${formatBytes(s.deleteBytes)})`,
  );
  put(`${out.result ? 'expected to free' : 'would free'} ${formatBytes(s.freeBytes)}; unused left ${formatBytes(s.unusedAfter)} (max-unused ${formatMaxUnused(p.maxUnused)})`);
  const r = out.result;
  if (!r) {
    put('dry run: nothing was changed');
    return;
  }
  put(
    `deleted ${r.packsDeleted} packs, wrote ${r.packsWritten} (${r.blobsRepacked} blobs repacked), index files: wrote ${r.indexFilesWritten}, removed ${r.indexFilesRemoved}; freed ${formatBytes(Math.max(0, r.bytesFreed))} in ${out.seconds.toFixed(2)} s`,
  );
}

function printPlanTable(ctx: Context, p: GcPlan): void {
  const rows = [
    ...p.packs.map((x) => [x.action, shortId(x.id), formatBytes(x.size), `${x.usedBlobs}/${x.blobs}`, formatBytes(x.usedBytes), formatBytes(x.unusedBytes)]),
    ...p.unindexedPacks.map((x) => ['delete', shortId(x.id), formatBytes(x.size), 'unindexed', '', '']),
  ];
  const order: Record<string, number> = { delete: 0, repack: 1, keep: 2 };
  rows.sort((a, b) => order[a[0]!]! - order[b[0]!]!);
  if (rows.length) ctx.out(table(['Action', 'Pack', 'Size', 'Used blobs', 'Used', 'Unused'], rows));
  for (const m of p.missingPacks) ctx.out(`missing pack ${shortId(m)} (nothing uses it): dropped from the index`);
}
