/** `stowage serve`: the repository's image snapshots as a read-only OCI registry (until SIGINT/SIGTERM). */
import { jsonText, oneLine, printable } from '../escape.js';
import { readFileSync } from 'node:fs';
import { StowageError, startRegistryServer, type AuthConfig } from '@stowage/core';
import type { Command } from 'commander';
import { durationArg } from '../args.js';
import { withRepo, type Context } from '../context.js';
import { readLock } from '../locking.js';

interface Opts {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  tokenFile?: string;
  platform?: string;
  log?: boolean;
  idleTimeout: number;
}

export function registerServe(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('serve')
    .description('serve the image snapshots as a read-only OCI registry (docker pull, podman pull, skopeo copy docker://...) until interrupted')
    .option('--listen <host:port>', 'address to listen on (a non-loopback address needs --tls-cert/--tls-key and --htpasswd or --token-file)', '127.0.0.1:5000')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--htpasswd <file>', 'require HTTP Basic credentials from this htpasswd file (bcrypt: htpasswd -B)')
    .option('--token-file <file>', 'require "Authorization: Bearer <token>" with the token in this file')
    .option('--platform <os/arch>', 'image served for a tag several platforms share (default linux/amd64)')
    .option(
      '--idle-timeout <duration>',
      'disconnect a client that takes none of the bytes being sent to it for this long, freeing its share of the read memory (e.g. 30s, 2m)',
      durationArg('--idle-timeout'),
      60_000,
    )
    .option('--log', 'print one line per request on stderr')
    .action((o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          const { host, port } = parseListen(o.listen);
          if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new StowageError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together');
          const auth: AuthConfig | undefined =
            o.htpasswd !== undefined || o.tokenFile !== undefined
              ? { ...(o.htpasswd !== undefined && { htpasswd: readArgFile(o.htpasswd, '--htpasswd') }), ...(o.tokenFile !== undefined && { token: readArgFile(o.tokenFile, '--token-file') }) }
              : undefined;
          const tls = o.tlsCert !== undefined && o.tlsKey !== undefined ? { cert: readArgFile(o.tlsCert, '--tls-cert'), key: readArgFile(o.tlsKey, '--tls-key') } : undefined;
          await using _lock = await readLock(ctx, repo); // shared: gc cannot delete what is being served
          const server = await startRegistryServer(repo, {
            host,
            port,
            ...(tls && { tls }),
            ...(auth && { auth }),
            ...(o.platform && { platform: o.platform }),
            idleTimeoutMs: o.idleTimeout,
            ...(o.log && {
              onEvent: (e) => void process.stderr.write(oneLine(`${printable(e.method)} ${printable(e.path)} ${e.status} ${e.bytes} B ${e.ms.toFixed(0)} ms${e.error ? ` ${e.error}` : ''}`) + '\n'),
            }),
          });
          try {
            const repos = server.catalog.repositories();
            if (ctx.opts.json) process.stdout.write(jsonText({ url: server.url, repositories: repos }) + '\n');
            else ctx.out(`serving ${repos.length} image repositor${repos.length === 1 ? 'y' : 'ies'} on ${server.url} (read-only; Ctrl-C stops)`);
            await new Promise<void>((resolve) => {
              if (ctx.signal.aborted) return resolve();
              ctx.signal.addEventListener('abort', () => resolve(), { once: true });
            });
          } finally {
            await server.close();
          }
          ctx.info('stopped');
        }),
      ),
    );
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(v.trim()) ?? /^()()(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new StowageError('INVALID_ARGUMENT', `invalid --listen "${v}": expected host:port (e.g. 127.0.0.1:5000, [::1]:5000, or a port)`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function readArgFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
