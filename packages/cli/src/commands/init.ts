/** `stowage init`: create a repository at an empty location. */
import { Repository } from '@stowage/core';
import type { Command } from 'commander';
import { backendFor, cacheRoot, repoLocation, type Context } from '../context.js';
import { parseSize, parseIntArg } from '../args.js';

export function registerInit(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('init')
    .description('create a repository (fails on a non-empty location)')
    .option('--chunk-avg <size>', 'average chunk size (e.g. 256K, 1M); min = avg/4, max = avg*4 unless given', parseSize)
    .option('--chunk-min <size>', 'minimum chunk size', parseSize)
    .option('--chunk-max <size>', 'maximum chunk size', parseSize)
    .option('--compression-level <n>', 'zstd level 1..22, 0 stores raw (default 3)', parseIntArg)
    .option('--pack-size <size>', 'target pack size (default 16M)', parseSize)
    .option('--insecure-no-encryption', 'create a plaintext repository (the only kind this build supports)')
    .action((o: { chunkAvg?: number; chunkMin?: number; chunkMax?: number; compressionLevel?: number; packSize?: number }) =>
      run(async (ctx) => {
        const location = repoLocation(ctx);
        const repo = await Repository.init(backendFor(location), {
          cacheRoot: cacheRoot(ctx),
          ...(o.chunkAvg !== undefined && { chunkAvg: o.chunkAvg }),
          ...(o.chunkMin !== undefined && { chunkMin: o.chunkMin }),
          ...(o.chunkMax !== undefined && { chunkMax: o.chunkMax }),
          ...(o.compressionLevel !== undefined && { compressionLevel: o.compressionLevel }),
          ...(o.packSize !== undefined && { packSize: o.packSize }),
        });
        try {
          if (ctx.opts.json) ctx.json({ id: repo.config.id, location, config: repo.config });
          else ctx.out(`created stowage repository ${repo.config.id.slice(0, 10)} at ${location}`);
        } finally {
          await repo.close();
        }
      }),
    );
}
