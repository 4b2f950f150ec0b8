/**
 * `stowage dump <snapshot> <path>`: one file to stdout (verified), from a snapshot of
 * directories or from an image (its layers applied, whiteouts honoured) or tar snapshot;
 * a directory of a tree snapshot comes out as a tar stream.
 */
import { fileContent, findImageFile, imageFileContent, isTreeSnapshot, loadSnapshot, resolveSnapshot, restoreTreeToTar, StowageError } from '@stowage/core';
import { lookupFollow, shortId } from '@stowage/core/internal';
import { once } from 'node:events';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { readLock } from '../locking.js';
import { printable } from './tree-render.js';

export function registerDump(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('dump')
    .description("write one file of a snapshot to stdout: from a snapshot of directories, or from an image snapshot's filesystem (e.g. /etc/nginx/nginx.conf); a directory comes out as a tar stream")
    .argument('<snapshot>', 'snapshot id, unique prefix, "latest", or an image reference (name:tag)')
    .argument('<path>', 'path of the file in the snapshot')
    .action((ref: string, path: string) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          await using _lock = await readLock(ctx, repo);
          const snap = await loadSnapshot(repo, await resolveSnapshot(repo, ref));
          const write = async (data: AsyncIterable<Uint8Array>): Promise<number> => {
            let n = 0;
            for await (const d of data) {
              n += d.length;
              // a closed stdout aborts ctx.signal (main.ts): never wait for a 'drain' that cannot come
              if (!process.stdout.write(d)) await once(process.stdout, 'drain', { signal: ctx.signal });
            }
            return n;
          };
          if (isTreeSnapshot(snap)) {
            const { node, entries } = await lookupFollow(repo, snap, path);
            if (entries) {
              const r = await restoreTreeToTar(repo, snap, process.stdout, { subpath: path, signal: ctx.signal });
              ctx.info(`dumped ${printable(path)} of snapshot ${shortId(snap.id)} as a tar stream (${r.entries} entries)`);
              return;
            }
            await write(fileContent(repo, node!, printable(path)));
            return;
          }
          const hit = await findImageFile(repo, snap, path, ctx.signal);
          if (!hit) throw new StowageError('NOT_FOUND', `${printable(path)}: no such file in snapshot ${shortId(snap.id)}${snap.image ? ' (its layers applied in order)' : ''}`);
          await write(imageFileContent(repo, snap, hit, ctx.signal));
        }),
      ),
    );
}
