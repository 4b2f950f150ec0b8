/**
 * `stowage version` (and `stowage --version`): the CLI's version, the repository format version
 * it reads and writes, Node's, and the native modules' (zstd-napi and its zstd, blake-hash,
 * classic-level). With a repository given (-r or STOWAGE_REPOSITORY) also that repository's
 * format version, read from its config (no password needed).
 */
import { CONFIG_HANDLE, runtimeVersions, type RuntimeVersions } from '@stowage/core/internal';
import type { Command } from 'commander';
import { backendFor, type Context } from '../context.js';

/** The human text of `stowage version`. */
export function versionText(cli: string, v: RuntimeVersions, repo?: { location: string; format: number | string }): string {
  const mods = Object.entries(v.modules).map(([n, x]) => `  ${n} ${x}${n === 'zstd-napi' && v.zstd ? ` (zstd ${v.zstd})` : ''}`);
  return [
    `stowage ${cli}`,
    `repository format ${v.repositoryFormat} (reads and writes)`,
    ...(repo ? [`repository ${repo.location}: format ${repo.format}`] : []),
    `node ${v.node}`,
    'native modules:',
    ...mods,
  ].join('\n');
}

/** The format version of the repository at `location`, from its config file; a message when it cannot be read. */
async function repoFormat(ctx: Context, location: string): Promise<number | string> {
  try {
    const cfg = JSON.parse(Buffer.from(await (await backendFor(ctx, location)).load(CONFIG_HANDLE)).toString('utf8')) as { version?: unknown };
    return typeof cfg.version === 'number' ? cfg.version : 'unknown (config has no version)';
  } catch (err) {
    return `unreadable (${(err as Error).message})`;
  }
}

export function registerVersion(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>, cli: string): void {
  program
    .command('version')
    .description('print the version, the repository format version, and the versions of Node and the native modules')
    .action(() =>
      run(async (ctx) => {
        const v = runtimeVersions(import.meta.url);
        const location = ctx.opts.repo ?? process.env.STOWAGE_REPOSITORY;
        const repo = location ? { location, format: await repoFormat(ctx, location) } : undefined;
        if (ctx.opts.json) ctx.json({ version: cli, ...v, ...(repo && { repository: repo }) });
        else ctx.out(versionText(cli, v, repo));
      }),
    );
}
