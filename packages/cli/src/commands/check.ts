/** `stowage check`: verify the repository's structure, and with --read-data its data. Exit 0 only when clean. */
import { StowageError, check, type CheckResult, type Finding } from '@stowage/core';
import { parseReadDataSubset, shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { formatBytes } from '../format.js';
import { readLock } from '../locking.js';
import { progressFor } from '../progress-bar.js';
import { oneLine } from '../escape.js';

interface Opts extends FilterOpts {
  readData?: boolean;
  readDataSubset?: string;
}

export function registerCheck(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program
      .command('check')
      .description('verify snapshots, chunk lists, index and pack trailers; --read-data also re-hashes every blob; --name/--host/--tag/--path check the chunks of matching snapshots only'),
    'check the chunks of only',
  )
    .option('--read-data', 'read every pack and verify every blob against its id')
    .option('--read-data-subset <n/m|p%>', 'read only packs of group n of m (by pack id), or a random p percent of them')
    .action((o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const subset = o.readDataSubset === undefined ? undefined : parseReadDataSubset(o.readDataSubset);
          const filter = filterFrom(o);
          const progress = progressFor(ctx);
          await using held = await readLock(ctx, repo); // shared (check's own is re-entrant); none on a read-only repository
          let r;
          try {
            r = await check(repo, {
              readData: o.readData ?? false,
              ...(subset && { readDataSubset: subset }),
              lock: held !== undefined,
              signal: ctx.signal,
              ...(filter && { filter }),
              ...(progress.fn && { progress: progress.fn }),
            });
          } finally {
            progress.done();
          }
          if (ctx.opts.json) ctx.json(r);
          else printCheck(ctx, r);
          if (r.errors > 0)
            throw new StowageError('CORRUPT', `check found ${r.errors} error${r.errors === 1 ? '' : 's'} (the findings above name what is damaged and the snapshots that depend on it)`);
        }),
      ),
    );
}

function printCheck(ctx: Context, r: CheckResult): void {
  for (const f of r.findings) ctx.out(line(f));
  const read = r.packsRead ? `; read ${r.packsRead} packs (${formatBytes(r.bytesRead)}), verified ${r.blobsRead} blobs` : '';
  ctx.say(`checked ${r.snapshots} snapshots, ${r.indexFiles} index files, ${r.packs} packs, ${r.blobs} blobs${read} in ${r.seconds.toFixed(2)} s`);
  const infos = r.findings.filter((f) => f.severity === 'info').length;
  if (r.errors === 0) ctx.say(`no errors found${infos ? ` (${infos} notes)` : ''}`);
}

function line(f: Finding): string {
  const deps = f.snapshots?.length ? `\n  snapshots affected: ${f.snapshots.map(shortId).join(', ')}` : '';
  return `${f.severity === 'error' ? 'error' : 'note'}: [${f.kind}] ${oneLine(f.message)}${deps}`;
}
