/** `stowage repair index`: rebuild the index files from the pack trailers alone. */
import { repairIndex } from '@stowage/core';
import type { Command } from 'commander';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { withRepo, type Context } from '../context.js';

export function registerRepair(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  const repair = program.command('repair').description('repair parts of a repository');
  repair
    .command('index')
    .description('rebuild the index files from the pack trailers')
    .action(() =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const r = await repairIndex(repo);
          if (ctx.opts.json) ctx.json(r);
          else {
            ctx.say(`read ${r.packs} packs (${r.blobs} blobs); wrote ${r.indexFilesWritten} index files, removed ${r.indexFilesRemoved} old ones`);
            for (const d of r.damagedPacks) ctx.warn(`damaged pack ${d.pack}: ${d.error}`);
          }
          return r.damagedPacks.length ? EXIT_WARNINGS : undefined;
        }),
      ),
    );
}
