/** `stowage forget`: remove snapshots by id or by a retention policy; --prune runs gc after. */
import { StowageError, forget, gc, type ForgetResult, type GroupKey, type RetentionPolicy, type SnapshotFilter } from '@stowage/core';
import { describeFilter, parseMaxUnused, shortId, type CalendarDuration } from '@stowage/core/internal';
import type { Command } from 'commander';
import { calendarDurationArg, collect } from '../args.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { withRepo, type Context } from '../context.js';
import { formatTime, table } from '../format.js';
import { gcJson, runGc } from './gc.js';
import { oneLine } from '../escape.js';

interface Opts extends FilterOpts {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: CalendarDuration;
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
  const parts = v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  for (const p of parts) if (p !== 'name' && p !== 'host') throw new StowageError('INVALID_ARGUMENT', `invalid --group-by "${v}": use name, host, "name,host" or "" (one group)`);
  return parts as GroupKey[];
}

export function registerForget(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program
      .command('forget')
      .description(
        'remove snapshots, by id or by a retention policy (per snapshot name; --group-by changes that); --name/--host/--tag/--path limit it to matching snapshots; data is freed by gc (or --prune)',
      ),
    'consider only',
  )
    .argument('[snapshot...]', 'snapshot ids, unique prefixes or "latest" (instead of a policy)')
    .option('--keep-last <n>', 'keep the n newest snapshots', parseKeep)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one', parseKeep)
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days that have one', parseKeep)
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks that have one', parseKeep)
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months that have one', parseKeep)
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years that have one', parseKeep)
    .option(
      '--keep-within <duration>',
      'keep snapshots newer than the newest minus this calendar duration: y, mo, w, d, h, min (e.g. 2y5mo7d3h, 1w, 36h; "5m" is refused as ambiguous)',
      calendarDurationArg('--keep-within'),
    )
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect)
    .option('--group-by <keys>', 'apply the policy per group: name, host, "name,host", or "" for one group', 'name')
    .option('--dry-run', 'print what would be kept and removed, and why; remove nothing')
    .option('--prune', 'run gc afterwards')
    .option('--max-unused <limit>', 'with --prune: gc --max-unused', '5%')
    .action((ids: string[], o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const within = o.keepWithin;
          const filter = filterFrom(o);
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
          const r = await forget(repo, { ids, policy, groupBy: parseGroupBy(o.groupBy), dryRun: o.dryRun ?? false, ...(filter && { filter }) });
          if (ctx.opts.json) {
            const doc = forgetJson(r, filter);
            if (o.prune && !r.dryRun) doc.gc = gcJson(await gc(repo, { maxUnused, signal: ctx.signal }));
            ctx.json(doc);
            return;
          }
          printForget(ctx, r, filter);
          if (o.prune && !r.dryRun) await runGc(ctx, repo, { maxUnused: o.maxUnused });
        }),
      ),
    );
}

function forgetJson(r: ForgetResult, filter: SnapshotFilter | undefined): Record<string, unknown> {
  return {
    dryRun: r.dryRun,
    groupBy: r.groupBy,
    ...(filter && { filter }),
    removed: r.removed,
    kept: r.kept,
    groups: r.groups.map((g) => ({
      key: g.key,
      keep: g.decisions.filter((d) => d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags, reasons: d.reasons })),
      remove: g.decisions.filter((d) => !d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags })),
    })),
  };
}

function printForget(ctx: Context, r: ForgetResult, filter: SnapshotFilter | undefined): void {
  // a dry run's decisions are what was asked for; a real run's are a summary (not with -q)
  const put = r.dryRun ? ctx.out : ctx.say;
  if (r.groups.length || !r.removed.length) put(groupingLine(r.groupBy, filter));
  for (const g of r.groups) {
    const key =
      Object.entries(g.key)
        .map(([k, v]) => `${k} ${oneLine(JSON.stringify(v))}`)
        .join(', ') || 'all snapshots';
    const kept = g.decisions.filter((d) => d.keep).length;
    put(`${key}: keep ${kept}, remove ${g.decisions.length - kept}`);
    put(
      table(
        ['ID', 'Time', 'Tags', 'Action', 'Reasons'],
        g.decisions.map((d) => [shortId(d.snapshot.id), formatTime(d.snapshot.time), d.snapshot.tags.join(','), d.keep ? 'keep' : 'remove', d.reasons.join(', ')]),
      ),
    );
    put('');
  }
  const verb = r.dryRun ? 'would remove' : 'removed';
  put(`${verb} ${r.removed.length} snapshot${r.removed.length === 1 ? '' : 's'}${r.groups.length === 0 && r.removed.length ? `: ${r.removed.map(shortId).join(', ')}` : ''}, kept ${r.kept}`);
  if (r.dryRun) put('dry run: nothing was changed');
}

/** Which grouping the policy used, and over which snapshots: "policy applied per name (--group-by name), to snapshots matching tag daily". */
function groupingLine(groupBy: readonly GroupKey[], filter: SnapshotFilter | undefined): string {
  const which = describeFilter(filter);
  const per = groupBy.length ? `per ${groupBy.join(' and ')} (--group-by ${groupBy.join(',')})` : 'to all snapshots as one group (--group-by "")';
  return `policy applied ${per}${which ? `, to snapshots matching ${oneLine(which)}` : ''}`;
}
