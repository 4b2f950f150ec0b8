/** `stowage unlock`: remove stale locks (all locks with --remove-all). */
import { removeLocks } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';

export function registerUnlock(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('unlock')
    .description('remove stale locks (of processes that are gone, or not refreshed for 30 minutes)')
    .option('--remove-all', 'remove every lock, also live ones: only when no other stowage process uses the repository')
    .action((o: { removeAll?: boolean }) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const removed = await removeLocks(repo, { all: o.removeAll ?? false });
          if (ctx.opts.json) ctx.json({ removed });
          else ctx.say(removed.length ? `removed ${removed.length} lock${removed.length === 1 ? '' : 's'}: ${removed.map(shortId).join(', ')}` : 'no stale locks');
        }),
      ),
    );
}
