/**
 * `stowage agent`: the opt-in key agent (core: repository/key-agent.ts, key-agent-server.ts).
 * `start` runs one in the background and prints the shell line that opts in
 * (`eval "$(stowage agent start)"`, like ssh-agent); `serve` runs one in the foreground;
 * `list`, `clear` and `stop` talk to the one named by STOWAGE_AGENT_SOCK (or --socket).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { StowageError } from '@stowage/core';
import { AGENT_SOCKET_ENV, agentRequest, socketDir, startKeyAgent, type AgentEntry } from '@stowage/core/internal';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { durationArg } from '../args.js';

type Run = (fn: (ctx: Context) => Promise<number | void>) => Promise<void>;

const DEFAULT_TTL_MS = 15 * 60_000;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function ttlMs(ms: number): number {
  if (!(ms >= 1000)) throw new StowageError('INVALID_ARGUMENT', `--ttl must be at least 1s, got ${ms} ms`);
  return ms;
}

function agentSocket(o: { socket?: string }): string {
  const s = o.socket ?? process.env[AGENT_SOCKET_ENV];
  if (!s) throw new StowageError('INVALID_ARGUMENT', `no key agent: set ${AGENT_SOCKET_ENV} (eval "$(stowage agent start)") or give --socket`);
  return s;
}

async function ask(socket: string, op: 'list' | 'clear' | 'stop'): Promise<Record<string, unknown>> {
  try {
    return await agentRequest(socket, { op });
  } catch (err) {
    throw new StowageError('NOT_FOUND', `no key agent answers at ${socket}: ${(err as Error).message}`, { cause: err });
  }
}

async function waitReady(socket: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await agentRequest(socket, { op: 'list' }, 500);
      return;
    } catch (err) {
      if (Date.now() > until) throw new StowageError('BACKEND', `the key agent did not start at ${socket}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export function registerAgent(program: Command, run: Run): void {
  const agent = program
    .command('agent')
    .description(`opt-in key agent: keeps the key-encryption keys of unlocked key files in memory for a while, so commands skip the password's key derivation (${AGENT_SOCKET_ENV} opts in)`);

  agent
    .command('start')
    .description(`start an agent in the background and print the line that opts in: eval "$(stowage agent start)"`)
    .option('--ttl <duration>', `how long a key is kept after it was added (e.g. 30m, 2h; default 15m); the agent exits when it has held nothing for as long`, durationArg('--ttl'), DEFAULT_TTL_MS)
    .option('--socket <path>', 'socket path (default: a new 0700 directory under $XDG_RUNTIME_DIR or the temp dir)')
    .action((o: { ttl: number; socket?: string }) =>
      run(async (ctx) => {
        const ttl = ttlMs(o.ttl);
        const socket = o.socket ?? join(socketDir(), 'agent.sock');
        const script = process.argv[1];
        if (script === undefined) throw new StowageError('INVALID_ARGUMENT', 'cannot find the stowage script to start the agent');
        // the agent needs no password: keep passwords out of its environment
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^STOWAGE_(NEW_)?PASSWORD/.test(k)));
        const child = spawn(process.execPath, [script, 'agent', 'serve', '--socket', socket, '--ttl', `${ttl}ms`], { detached: true, stdio: 'ignore', env });
        child.unref();
        await waitReady(socket, 10_000);
        if (ctx.opts.json) ctx.json({ socket, pid: child.pid, ttlMs: ttl });
        else {
          ctx.out(`${AGENT_SOCKET_ENV}=${shellQuote(socket)}; export ${AGENT_SOCKET_ENV};`);
          ctx.info(`stowage: key agent pid ${child.pid} at ${socket}, keys kept for ${ttl / 1000} s`);
        }
      }),
    );

  agent
    .command('serve')
    .description('run an agent in the foreground until stopped, interrupted, or idle (empty) for the TTL')
    .option('--ttl <duration>', 'how long a key is kept after it was added (default 15m)', durationArg('--ttl'), DEFAULT_TTL_MS)
    .option('--socket <path>', 'socket path (default: a new 0700 directory under $XDG_RUNTIME_DIR or the temp dir)')
    .action((o: { ttl: number; socket?: string }) =>
      run(async (ctx) => {
        const ttl = ttlMs(o.ttl);
        const socket = o.socket ?? join(socketDir(), 'agent.sock');
        const a = await startKeyAgent({ socketPath: socket, ttlMs: ttl });
        const stop = (): void => void a.close();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (ctx.opts.json) ctx.json({ socket, pid: process.pid, ttlMs: ttl });
        else ctx.out(`${AGENT_SOCKET_ENV}=${shellQuote(socket)}; export ${AGENT_SOCKET_ENV};`);
        await a.closed;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }),
    );

  const talk = (op: 'list' | 'clear' | 'stop', description: string, show: (ctx: Context, r: Record<string, unknown>) => void): void => {
    agent
      .command(op)
      .description(description)
      .option('--socket <path>', `agent socket (default: ${AGENT_SOCKET_ENV})`)
      .action((o: { socket?: string }) => run(async (ctx) => show(ctx, await ask(agentSocket(o), op))));
  };
  talk('list', 'list the key files whose keys the agent holds, and when it forgets them', (ctx, r) => {
    const entries = (Array.isArray(r.entries) ? r.entries : []) as AgentEntry[];
    if (ctx.opts.json) ctx.json({ entries: entries.map((e) => ({ key: e.name, expires: new Date(e.expires).toISOString() })) });
    else if (entries.length === 0) ctx.out('the agent holds no keys');
    else for (const e of entries) ctx.out(`${e.name.slice(0, 8)}  until ${new Date(e.expires).toISOString()}`);
  });
  talk('clear', 'make the agent forget every key (it keeps running)', (ctx, r) =>
    ctx.opts.json ? ctx.json({ removed: r.removed }) : ctx.say(`forgot ${String(r.removed)} key${r.removed === 1 ? '' : 's'}`),
  );
  talk('stop', 'make the agent forget every key and exit', (ctx) => (ctx.opts.json ? ctx.json({ stopped: true }) : ctx.say('key agent stopped')));
}
