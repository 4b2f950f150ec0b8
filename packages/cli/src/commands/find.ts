/**
 * `stowage find <pattern>...`: the paths matching gitignore-style patterns in snapshots of
 * directories (their trees) and in image and tar snapshots (the files of each layer, read
 * from the stored data); all snapshots, or those given with --snapshot.
 */
import { isTreeSnapshot, listFiles, listSnapshots, loadSnapshot, resolveSnapshot, walkEntries, type Snapshot } from '@stowage/core';
import { pathMatcher, shortId, tarUnits, treeTop } from '@stowage/core/internal';
import type { Command } from 'commander';
import { collect } from '../args.js';
import { withRepo, type Context } from '../context.js';
import { readLock } from '../locking.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { lsJson, lsLine } from './tree-render.js';
import { jsonText, printable } from '../escape.js';

interface Opts {
  snapshot?: string[];
  images?: boolean;
}

export function registerFind(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('find')
    .description('find paths matching gitignore-style patterns (e.g. "*.conf", "/etc/nginx/") in snapshots of directories and in the layers of image snapshots')
    .argument('<pattern...>', 'patterns: a name at any depth ("nginx.conf", "*.log"), or anchored with a slash ("/etc/hosts")')
    .option('--snapshot <snapshot>', 'search only this snapshot (repeatable; id, prefix, latest or image reference)', collect)
    .option('--no-images', 'search only snapshots of directories (image layers are read from the stored data, which takes longer)')
    .action((patterns: string[], o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          await using _lock = await readLock(ctx, repo);
          const match = pathMatcher(patterns);
          const snaps: Snapshot[] = o.snapshot ? await Promise.all(o.snapshot.map(async (r) => loadSnapshot(repo, await resolveSnapshot(repo, r)))) : await listSnapshots(repo);
          let hits = 0;
          let problems = 0;
          for (const s of snaps) {
            const head = `${shortId(s.id)} ${printable(s.name)}`;
            if (isTreeSnapshot(s)) {
              for await (const e of walkEntries(repo, (await treeTop(repo, s)).entries)) {
                if (!match(e.path.toString(), e.node.type === 'dir')) continue;
                hits++;
                ctx.out(ctx.opts.json ? lsJson(e.path, e.node, { snapshot: s.id, name: s.name }) : `${head}  ${lsLine(e.path, e.node)}`);
              }
              continue;
            }
            if (o.images === false || (s.format !== 'tar' && !s.image)) continue;
            for (const unit of tarUnits(s)) {
              const r = await listFiles(
                repo,
                s,
                unit,
                (e) => {
                  if (!match(e.path, e.type === 'dir')) return;
                  hits++;
                  const layer = unit.layer ? (unit.layer.digest ?? unit.layer.path) : null;
                  if (ctx.opts.json)
                    ctx.out(jsonText({ snapshot: s.id, name: s.name, layer, path: e.path, type: e.type, size: e.size, mode: e.mode, ...(e.linkname !== undefined && { linkname: e.linkname }) }));
                  else ctx.out(`${head}  ${layer ? `${layer.slice(0, 19)} ` : ''}${String(e.size).padStart(10)}  ${printable(e.path)}`);
                },
                { signal: ctx.signal },
              );
              if (r.problem) {
                problems++;
                ctx.warn(`snapshot ${shortId(s.id)} layer ${printable(unit.layer?.digest ?? 'archive')}: ${r.problem}`);
              }
            }
          }
          if (!ctx.opts.json) ctx.info(`${hits} match${hits === 1 ? '' : 'es'} in ${snaps.length} snapshot${snaps.length === 1 ? '' : 's'}`);
          return problems ? EXIT_WARNINGS : undefined;
        }),
      ),
    );
}
