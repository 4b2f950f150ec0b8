/** `stowage forget`: remove snapshots by id or by a retention policy; --prune runs gc after. */
import { StowageError, forget, gc, parseCalendarDuration, parseMaxUnused, shortId, type ForgetResult, type GroupKey, type RetentionPolicy } from '@stowage/core';
import type { Command } from 'commander';
import { collect } from '../args.js';
import { withRepo, type Context } from '../context.js';
import { formatTime, table } from '../format.js';
import { gcJson, runGc } from './gc.js';

interface Opts {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepTag?: string[];
  groupBy: string;
  dryRun?: boolean;
  prune?: boolean;
  maxUnused: string;
}

/** A --keep-* count: a non-negative integer, or "unlimited" (also -1). */
function parseKeep(v: string): number {
  const s = v.trim().toLowerCase();
  if (s === 'unlimited' || s === '-1') return -1;
  if (!/^\d+$/.test(s)) throw new StowageError('INVALID_ARGUMENT', `invalid count "${v}": expected a number or "unlimited"`);
  return Number(s);
}

function parseGroupBy(v: string): GroupKey[] {
  const parts = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const p of parts) if (p !== 'name' && p !== 'host') throw new StowageError('INVALID_ARGUMENT', `invalid --group-by "${v}": use name, host, "name,host" or "" (one group)`);
  return parts as GroupKey[];
}

export function registerForget(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('forget')
    .description('remove snapshots, by id or by a retention policy (per snapshot name); data is freed by gc (or --prune)')
    .argument('[snapshot...]', 'snapshot ids, unique prefixes or "latest" (instead of a policy)')
    .option('--keep-last <n>', 'keep the n newest snapshots', parseKeep)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one', parseKeep)
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days that have one', parseKeep)
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks that have one', parseKeep)
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months that have one', parseKeep)
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years that have one', parseKeep)
    .option('--keep-within <duration>', 'keep snapshots newer than the newest minus this duration (e.g. 2y5m7d3h, 1w)')
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect)
    .option('--group-by <keys>', 'apply the policy per group: name, host, "name,host", or "" for one group', 'name')
    .option('--dry-run', 'print what would be kept and removed, and why; remove nothing')
    .option('--prune', 'run gc afterwards')
    .option('--max-unused <limit>', 'with --prune: gc --max-unused', '5%')
    .action((ids: string[], o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          let within;
          if (o.keepWithin !== undefined) {
            within = parseCalendarDuration(o.keepWithin);
            if (!within) throw new StowageError('INVALID_ARGUMENT', `invalid --keep-within "${o.keepWithin}" (examples: 7d, 2y5m7d3h, 36h, 1w)`);
          }
          const policy: RetentionPolicy = {
            ...(o.keepLast !== undefined && { last: o.keepLast }),
            ...(o.keepHourly !== undefined && { hourly: o.keepHourly }),
            ...(o.keepDaily !== undefined && { daily: o.keepDaily }),
            ...(o.keepWeekly !== undefined && { weekly: o.keepWeekly }),
            ...(o.keepMonthly !== undefined && { monthly: o.keepMonthly }),
            ...(o.keepYearly !== undefined && { yearly: o.keepYearly }),
            ...(within && { within }),
            ...(o.keepTag && { tags: o.keepTag }),
          };
          const maxUnused = parseMaxUnused(o.maxUnused);
          const r = await forget(repo, { ids, policy, groupBy: parseGroupBy(o.groupBy), dryRun: o.dryRun ?? false });
          if (ctx.opts.json) {
            const doc = forgetJson(r);
            if (o.prune && !r.dryRun) doc.gc = gcJson(await gc(repo, { maxUnused, signal: ctx.signal }));
            ctx.json(doc);
            return;
          }
          printForget(ctx, r);
          if (o.prune && !r.dryRun) await runGc(ctx, repo, { maxUnused: o.maxUnused });
        }),
      ),
    );
}

function forgetJson(r: ForgetResult): Record<string, unknown> {
  return {
    dryRun: r.dryRun,
    removed: r.removed,
    kept: r.kept,
    groups: r.groups.map((g) => ({
      key: g.key,
      keep: g.decisions.filter((d) => d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags, reasons: d.reasons })),
      remove: g.decisions.filter((d) => !d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags })),
    })),
  };
}

function printForget(ctx: Context, r: ForgetResult): void {
  for (const g of r.groups) {
    const key = Object.entries(g.key).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ') || 'all snapshots';
    const kept = g.decisions.filter((d) => d.keep).length;
    ctx.out(`${key}: keep ${kept}, remove ${g.decisions.length - kept}`);
    ctx.out(
      table(
        ['ID', 'Time', 'Tags', 'Action', 'Reasons'],
        g.decisions.map((d) => [shortId(d.snapshot.id), formatTime(d.snapshot.time), d.snapshot.tags.join(','), d.keep ? 'keep' : 'remove', d.reasons.join(', ')]),
      ),
    );
    ctx.out('');
  }
  const verb = r.dryRun ? 'would remove' : 'removed';
  ctx.out(`${verb} ${r.removed.length} snapshot${r.removed.length === 1 ? '' : 's'}${r.groups.length === 0 && r.removed.length ? `: ${r.removed.map(shortId).join(', ')}` : ''}, kept ${r.kept}`);
  if (r.dryRun) ctx.out('dry run: nothing was changed');
}
