/** `stowage snapshots`: list snapshots (table, or a JSON array with --json). */
import { imageNames, listSnapshots, shortId } from '@stowage/core';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { formatBytes, formatTime, table } from '../format.js';

export function registerSnapshots(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('snapshots')
    .description('list snapshots')
    .action(() =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const snaps = await listSnapshots(repo);
          if (ctx.opts.json) {
            ctx.json(
              snaps.map((s) => ({
                id: s.id,
                short_id: shortId(s.id),
                time: s.time,
                hostname: s.hostname,
                username: s.username,
                name: s.name,
                tags: s.tags,
                size: s.source.size,
                sha256: s.source.sha256,
                path: s.source.path,
                ...(s.parent && { parent: s.parent }),
                ...(s.format && { format: s.format }),
                ...(s.image && { image_names: imageNames(s.image) }),
                summary: s.summary,
              })),
            );
            return;
          }
          // image snapshots show their image names (RepoTags, OCI ref names)
          const images = snaps.some((s) => s.image);
          const imageCell = (s: (typeof snaps)[number]) => (s.image && !s.image.warnings ? imageNames(s.image).join(',') || `(${s.format})` : '');
          ctx.out(
            table(
              ['ID', 'Time', 'Host', 'Name', ...(images ? ['Image'] : []), 'Tags', 'Size'],
              snaps.map((s) => [shortId(s.id), formatTime(s.time), s.hostname, s.name, ...(images ? [imageCell(s)] : []), s.tags.join(','), formatBytes(s.source.size)]),
            ),
          );
          ctx.out(`${snaps.length} snapshot${snaps.length === 1 ? '' : 's'}`);
        }),
      ),
    );
}
