/** `stowage init`: create a repository at an empty location. */
import { Repository } from '@stowage/core';
import type { Command } from 'commander';
import { backendFor, cacheRoot, kekCacheFor, repoLocation, type Context } from '../context.js';
import { sizeArg, parseIntArg } from '../args.js';
import { kdfForNewKeys, newRepositoryPassword } from '../password.js';
import { printable } from '../escape.js';

export function registerInit(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('init')
    .description('create an encrypted repository (fails on a non-empty location); the password comes from --password-file, STOWAGE_PASSWORD_FILE, STOWAGE_PASSWORD or a prompt')
    .option('--chunk-avg <size>', 'average chunk size (e.g. 256K, 1M; K/M/G/KiB.. are powers of 1024, KB/MB/GB powers of 1000); min = avg/4, max = avg*4 unless given', sizeArg('--chunk-avg'))
    .option('--chunk-min <size>', 'minimum chunk size', sizeArg('--chunk-min'))
    .option('--chunk-max <size>', 'maximum chunk size', sizeArg('--chunk-max'))
    .option('--compression-level <n>', 'zstd level 1..22, 0 stores raw (default 3)', parseIntArg)
    .option('--pack-size <size>', 'target pack size (default 16M)', sizeArg('--pack-size'))
    .option('--insecure-no-encryption', 'create a plaintext repository: anyone who can read its files can read the data')
    .action((o: { chunkAvg?: number; chunkMin?: number; chunkMax?: number; compressionLevel?: number; packSize?: number; insecureNoEncryption?: boolean }) =>
      run(async (ctx) => {
        const location = repoLocation(ctx);
        const encrypted = !o.insecureNoEncryption;
        const repo = await Repository.init(await backendFor(ctx, location), {
          cacheRoot: cacheRoot(ctx),
          ...(encrypted ? { encryption: 'aes-256-gcm' as const, password: newRepositoryPassword(ctx), kdf: kdfForNewKeys(), ...kekCacheFor(ctx) } : { encryption: 'none' as const }),
          ...(o.chunkAvg !== undefined && { chunkAvg: o.chunkAvg }),
          ...(o.chunkMin !== undefined && { chunkMin: o.chunkMin }),
          ...(o.chunkMax !== undefined && { chunkMax: o.chunkMax }),
          ...(o.compressionLevel !== undefined && { compressionLevel: o.compressionLevel }),
          ...(o.packSize !== undefined && { packSize: o.packSize }),
        });
        try {
          if (ctx.opts.json) ctx.json({ id: repo.config.id, location, encrypted, ...(repo.keyName && { key: repo.keyName }), config: repo.config });
          else {
            const how = repo.keyName ? `encrypted, key ${repo.keyName.slice(0, 8)}` : 'NOT encrypted';
            ctx.say(`created stowage repository ${repo.config.id.slice(0, 10)} at ${printable(location)} (${how})`);
            if (repo.keyName) ctx.info('the password is needed to read this repository: without it nobody can restore the data, so keep it safe');
          }
        } finally {
          await repo.close();
        }
      }),
    );
}
