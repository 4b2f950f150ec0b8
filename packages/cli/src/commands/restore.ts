/** `stowage restore <snapshot> <target|->`: restore byte for byte, verified. */
import { resolveSnapshot, restoreToFile, restoreToStream, shortId } from '@stowage/core';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { readLock } from '../locking.js';
import { formatBytes, formatRate } from '../format.js';
import { progressFor } from '../progress-bar.js';

export function registerRestore(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('restore')
    .description('restore a snapshot to a file, or to stdout with "-" ("latest" and unique id prefixes work)')
    .argument('<snapshot>', 'snapshot id, unique prefix, or "latest"')
    .argument('<target>', 'file to create, or - for stdout')
    .option('--overwrite', 'replace the target if it exists')
    .action((ref: string, target: string, o: { overwrite?: boolean }) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          await using _lock = await readLock(ctx, repo); // shared: gc cannot delete what is being read
          const id = await resolveSnapshot(repo, ref);
          const progress = target === '-' ? { fn: undefined, done: () => undefined } : progressFor(ctx);
          const t0 = performance.now();
          const opts = { overwrite: o.overwrite ?? false, signal: ctx.signal, ...(progress.fn && { progress: progress.fn }) };
          let r;
          try {
            r = target === '-' ? await restoreToStream(repo, id, process.stdout, opts) : await restoreToFile(repo, id, target, opts);
          } finally {
            progress.done();
          }
          const secs = (performance.now() - t0) / 1000;
          const summary = { id, target, bytes: r.bytes, sha256: r.sha256, verified: true, seconds: secs };
          if (target === '-') {
            if (ctx.opts.json) process.stderr.write(JSON.stringify(summary) + '\n');
            else ctx.info(`restored snapshot ${shortId(id)}: ${formatBytes(r.bytes)}, sha256 verified`);
          } else if (ctx.opts.json) {
            ctx.json(summary);
          } else {
            ctx.out(`restored snapshot ${shortId(id)} to ${target}: ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s (${formatRate(r.bytes, secs)}), sha256 ${r.sha256} verified`);
          }
        }),
      ),
    );
}
