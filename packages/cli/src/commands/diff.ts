/** `stowage diff <a> <b>`: what changed between two snapshots of directories. */
import { diffTrees, isTreeSnapshot, loadSnapshot, resolveSnapshot, StowageError, type DiffKind } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { readLock } from '../locking.js';
import { jsonText, printable } from '../escape.js';

const MARK: Record<DiffKind, string> = { added: '+', removed: '-', changed: 'M', metadata: 'U' };

export function registerDiff(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('diff')
    .description('list added (+), removed (-), changed (M) and metadata-only changed (U) paths between two snapshots of directories')
    .argument('<a>', 'the older snapshot')
    .argument('<b>', 'the newer snapshot')
    .action((ra: string, rb: string) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          await using _lock = await readLock(ctx, repo);
          const a = await loadSnapshot(repo, await resolveSnapshot(repo, ra));
          const b = await loadSnapshot(repo, await resolveSnapshot(repo, rb));
          for (const s of [a, b])
            if (!isTreeSnapshot(s)) throw new StowageError('INVALID_ARGUMENT', `snapshot ${shortId(s.id)} is ${s.format ?? 'raw'}, not a snapshot of directories: diff compares trees`);
          const counts: Record<DiffKind, number> = { added: 0, removed: 0, changed: 0, metadata: 0 };
          await diffTrees(repo, a, b, (d) => {
            counts[d.kind]++;
            const type = (d.b ?? d.a)!.type;
            const path = d.path.toString() + (type === 'dir' ? '/' : '');
            if (ctx.opts.json) ctx.out(jsonText({ kind: d.kind, path, type, ...(d.fields && { fields: d.fields }) }));
            else ctx.out(`${MARK[d.kind]}    ${printable(path)}${d.kind === 'metadata' || d.fields?.includes('type') ? `  (${d.fields!.join(', ')})` : ''}`);
          });
          if (!ctx.opts.json) ctx.info(`snapshots ${shortId(a.id)} -> ${shortId(b.id)}: ${counts.added} added, ${counts.removed} removed, ${counts.changed} changed, ${counts.metadata} metadata only`);
        }),
      ),
    );
}
