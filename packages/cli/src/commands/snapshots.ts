/** `stowage snapshots`: list snapshots (table, or a JSON array with --json), optionally filtered. */
import { filterSnapshots, imageNames, listSnapshots, type Snapshot } from '@stowage/core';
import { describeFilter, shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { formatBytes, formatTime, table } from '../format.js';
import { oneLine } from '../escape.js';

export function registerSnapshots(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(program.command('snapshots').description('list snapshots (newest last); --name, --host, --tag, --path choose which')).action((o: FilterOpts) =>
    run((ctx) =>
      withRepo(ctx, async (repo) => {
        const filter = filterFrom(o);
        const snaps = filterSnapshots(await listSnapshots(repo), filter);
        if (ctx.opts.json) {
          ctx.json(snaps.map(snapshotJson));
          return;
        }
        // image snapshots show their image names (RepoTags, OCI ref names); an image archive cut short says so
        const images = snaps.some((s) => s.image);
        ctx.out(
          table(
            ['ID', 'Time', 'Host', 'Name', ...(images ? ['Image'] : []), 'Tags', 'Size'],
            snaps.map((s) => [
              shortId(s.id),
              formatTime(s.time),
              s.hostname,
              s.name,
              ...(images ? [imageCell(s)] : []),
              s.tags.join(','),
              `${formatBytes(s.source.size)}${s.changedWhileRead ? ' ~' : ''}`,
            ]),
          ),
        );
        const which = describeFilter(filter);
        ctx.say(`${snaps.length} snapshot${snaps.length === 1 ? '' : 's'}${which ? ` matching ${oneLine(which)}` : ''}`);
        if (snaps.some((s) => s.image?.warnings)) ctx.say('"!" marks an incomplete image archive, stored as a plain tar (see stowage ls <id>)');
        if (snaps.some((s) => s.changedWhileRead)) ctx.say('"~" marks a snapshot of a file that changed while it was read');
      }),
    ),
  );
}

function imageCell(s: Snapshot): string {
  if (!s.image) return '';
  if (s.image.warnings) return `! incomplete ${s.image.kind === 'docker' ? 'docker-archive' : 'OCI archive'}`;
  return imageNames(s.image).join(',') || `(${s.format})`;
}

/** One snapshot as `snapshots --json` lists it (camelCase keys, as every --json output). */
export function snapshotJson(s: Snapshot): Record<string, unknown> {
  return {
    id: s.id,
    shortId: shortId(s.id),
    time: s.time,
    hostname: s.hostname,
    username: s.username,
    name: s.name,
    tags: s.tags,
    size: s.source.size,
    sha256: s.source.sha256,
    path: s.source.path,
    ...(s.parent && { parent: s.parent }),
    ...(s.original && { original: s.original }),
    ...(s.format && { format: s.format }),
    ...(s.image && { imageNames: imageNames(s.image) }),
    ...(s.image?.warnings && { incomplete: true, warnings: s.image.warnings }),
    ...(s.changedWhileRead && { changedWhileRead: s.changedWhileRead }),
    summary: s.summary,
  };
}
