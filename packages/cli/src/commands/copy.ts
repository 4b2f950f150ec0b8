/**
 * `stowage copy --from-repo <location> [snapshot...]`: copies snapshots from another
 * repository into the one given by -r (restic's copy). The work is the core's
 * (copySnapshots, core/src/copy/); this opens the source and prints what happened.
 */
import { Repository, StowageError, copySnapshots, isStowageError, type CopyEvent, type CopyMode, type CopyResult } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { backendFor, cacheRoot, kekCacheFor, withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { formatBytes } from '../format.js';
import { applyLockOptions } from '../locking.js';
import { fromPasswordSource } from '../password.js';
import { progressFor } from '../progress-bar.js';
import { printable } from '../escape.js';

interface Opts extends FilterOpts {
  fromRepo?: string;
  fromPasswordFile?: string;
  fromKeyHint?: string;
  mode: string;
}

const MODES = ['auto', 'blobs', 'rechunk'];

export function registerCopy(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program
      .command('copy')
      .description(
        'copy snapshots from another repository (--from-repo) into this one, keeping their name, tags, host, time and every other fact; snapshots copied before are skipped, and only data this repository lacks is stored',
      ),
    'copy only',
  )
    .argument('[snapshot...]', 'snapshots of the source to copy: ids, unique prefixes, "latest" or image references (default: all that match the filters)')
    .option('--from-repo <location>', 'the source repository: a path or s3:... location (or STOWAGE_FROM_REPOSITORY)')
    .option('--from-password-file <file>', 'file holding the source repository password (or STOWAGE_FROM_PASSWORD_FILE / STOWAGE_FROM_PASSWORD)')
    .option('--from-key-hint <key>', 'key id (prefix) of the source to try first (or STOWAGE_FROM_KEY_HINT)')
    .option('--mode <mode>', 'auto: copy blobs as they are when both repositories cut and name chunks alike, else re-chunk; blobs; rechunk', 'auto')
    .action((refs: string[], o: Opts) =>
      run(async (ctx) => {
        if (!MODES.includes(o.mode)) throw new StowageError('INVALID_ARGUMENT', `invalid --mode "${o.mode}": use ${MODES.join(', ')}`);
        const from = o.fromRepo ?? (process.env.STOWAGE_FROM_REPOSITORY || undefined);
        if (!from) throw new StowageError('INVALID_ARGUMENT', 'no source repository: use --from-repo <location> or set STOWAGE_FROM_REPOSITORY');
        const src = await openSource(ctx, from, o);
        try {
          return await withRepo(ctx, async (dst) => {
            const filter = filterFrom(o);
            const bar = progressFor(ctx, 'copy');
            let result: CopyResult;
            try {
              result = await copySnapshots(src, dst, {
                refs,
                mode: o.mode as CopyMode | 'auto',
                signal: ctx.signal,
                ...(filter && { filter }),
                ...(bar.fn && { progress: bar.fn }),
                onEvent: (e) => {
                  bar.done();
                  if (!ctx.opts.json) printEvent(ctx, e);
                },
              });
            } finally {
              bar.done();
            }
            if (ctx.opts.json) ctx.json(copyJson(result));
            else printSummary(ctx, result);
          });
        } finally {
          await src.close();
        }
      }),
    );
}

/** Opens the source; its errors say that they are about the source (codes unchanged). */
async function openSource(ctx: Context, location: string, o: Opts): Promise<Repository> {
  const keyHint = o.fromKeyHint ?? (process.env.STOWAGE_FROM_KEY_HINT || undefined);
  try {
    const repo = await Repository.open(await backendFor(ctx, location), {
      cacheRoot: cacheRoot(ctx),
      password: fromPasswordSource(o.fromPasswordFile),
      ...(keyHint && { keyHint }),
      ...kekCacheFor(ctx),
    });
    applyLockOptions(ctx, repo);
    return repo;
  } catch (err) {
    if (isStowageError(err) && !err.message.includes('source')) throw new StowageError(err.code, `source repository: ${err.message}`, { cause: err });
    throw err;
  }
}

function printEvent(ctx: Context, e: CopyEvent): void {
  const what = (s: { id: string; name: string; time: string }) => `snapshot ${shortId(s.id)} (${printable(s.name)}, ${s.time})`;
  if (e.kind === 'skip') ctx.say(`${what(e.source)}: already copied as ${shortId(e.existing)}, skipped`);
  else if (e.kind === 'start') ctx.verbose(`copying ${what(e.source)} [${e.index + 1}/${e.count}]`);
  else ctx.say(`${what(e.source)} copied as ${shortId(e.copy.id)}: ${e.stats.newBlobs} new blobs, ${formatBytes(e.stats.newBytes)} (${formatBytes(e.stats.storedBytes)} stored)`);
}

function printSummary(ctx: Context, r: CopyResult): void {
  ctx.verbose(`mode ${r.mode}: ${r.reason}`);
  ctx.say(
    `${r.copied.length} snapshot${r.copied.length === 1 ? '' : 's'} copied, ${r.skipped.length} skipped (already there); ${r.stats.newBlobs} new blobs, ${formatBytes(r.stats.newBytes)} (${formatBytes(r.stats.storedBytes)} stored); mode ${r.mode}`,
  );
}

function copyJson(r: CopyResult): unknown {
  return {
    mode: r.mode,
    reason: r.reason,
    copied: r.copied.map((c) => ({ source: c.source.id, copy: c.copy.id, name: c.source.name, time: c.source.time, ...c.stats })),
    skipped: r.skipped.map((s) => ({ source: s.source.id, existing: s.existing, name: s.source.name, time: s.source.time })),
    stats: r.stats,
  };
}
