/**
 * The key agent's server (`stowage agent`; the client and the trade-offs are in key-agent.ts):
 * key-encryption keys by key file name, in memory only, each forgotten (and zeroed) `ttlMs`
 * after it was put, all of them on clear, stop or close. The socket is created with umask 077
 * and chmod 0600, so only its user (and root) can connect; put it in a directory of mode 0700
 * (socketDir makes one). The agent closes itself when it has held nothing and heard nothing
 * for `ttlMs`.
 */
import { chmodSync, lstatSync, mkdtempSync, rmdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StowageError } from '../errors.js';
import { KEK_BYTES } from './kek.js';
import { AGENT_MAX_MESSAGE, agentRequest, type AgentEntry, type AgentRequest } from './key-agent.js';

export interface KeyAgentOptions {
  /** Where to listen: a unix socket path. */
  readonly socketPath: string;
  /** How long an entry lives after it was put, and how long an empty, unused agent waits before it closes. */
  readonly ttlMs: number;
  /** Most entries held at once (default 256); the oldest goes first. */
  readonly maxEntries?: number;
}

export interface KeyAgent {
  readonly socketPath: string;
  /** Settles when the agent has closed (stop request, idle timeout, or close()). */
  readonly closed: Promise<void>;
  /** Forgets every key, stops listening and removes the socket. */
  close(): Promise<void>;
}

interface Entry {
  readonly kek: Buffer;
  readonly expires: number;
  readonly timer: NodeJS.Timeout;
}

/** A fresh private directory (mode 0700) for an agent socket, under $XDG_RUNTIME_DIR or the temp dir. */
export function socketDir(): string {
  const base = process.env.XDG_RUNTIME_DIR || tmpdir();
  return mkdtempSync(join(base, SOCKET_DIR_PREFIX));
}

/** socketDir's prefix; an agent removes such a directory (when empty) as it closes. */
const SOCKET_DIR_PREFIX = 'stowage-agent-';

/** Starts an agent listening on `opts.socketPath`. INVALID_ARGUMENT when another agent answers there. */
export async function startKeyAgent(opts: KeyAgentOptions): Promise<KeyAgent> {
  const { socketPath, ttlMs } = opts;
  if (!(ttlMs > 0)) throw new StowageError('INVALID_ARGUMENT', `key agent TTL must be positive, got ${ttlMs} ms`);
  const maxEntries = opts.maxEntries ?? 256;
  await removeStaleSocket(socketPath);
  const entries = new Map<string, Entry>();
  const forget = (name: string): void => {
    const e = entries.get(name);
    if (e === undefined) return;
    clearTimeout(e.timer);
    e.kek.fill(0);
    entries.delete(name);
  };
  let idle: NodeJS.Timeout | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const server: Server = createServer((sock) => {
    armIdle();
    serve(sock);
  });
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      if (idle) clearTimeout(idle);
      for (const name of [...entries.keys()]) forget(name);
      server.close(() => {
        try {
          unlinkSync(socketPath);
          if (basename(dirname(socketPath)).startsWith(SOCKET_DIR_PREFIX)) rmdirSync(dirname(socketPath));
        } catch {
          // already gone, or the directory holds other files
        }
        resolveClosed();
        resolve();
      });
    }));
  const armIdle = (): void => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => (entries.size === 0 ? void close() : armIdle()), ttlMs);
  };

  const answer = (req: AgentRequest): Record<string, unknown> => {
    switch (req.op) {
      case 'get': {
        if (!Array.isArray(req.names)) return { error: 'names must be an array' };
        for (const name of req.names) {
          const e = typeof name === 'string' ? entries.get(name) : undefined;
          if (e !== undefined) return { name, kek: e.kek.toString('base64') };
        }
        return {};
      }
      case 'put': {
        if (typeof req.name !== 'string' || !/^[0-9a-f]{64}$/.test(req.name) || typeof req.kek !== 'string') return { error: 'put needs a key file name and a kek' };
        const kek = Buffer.from(req.kek, 'base64');
        if (kek.length !== KEK_BYTES) return { error: `a kek has ${KEK_BYTES} bytes` };
        forget(req.name);
        while (entries.size >= maxEntries) forget(entries.keys().next().value!);
        const timer = setTimeout(() => forget(req.name), ttlMs);
        timer.unref();
        entries.set(req.name, { kek, expires: Date.now() + ttlMs, timer });
        return { ok: true };
      }
      case 'list':
        return { entries: [...entries].map(([name, e]): AgentEntry => ({ name, expires: e.expires })) };
      case 'clear': {
        const removed = entries.size;
        for (const name of [...entries.keys()]) forget(name);
        return { ok: true, removed };
      }
      case 'stop':
        setImmediate(() => void close());
        return { ok: true };
      default:
        return { error: 'unknown op' };
    }
  };

  const serve = (sock: Socket): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > AGENT_MAX_MESSAGE) return void sock.destroy();
      chunks.push(b);
    });
    sock.on('end', () => {
      let reply: Record<string, unknown>;
      try {
        const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentRequest;
        reply = typeof req === 'object' && req !== null ? answer(req) : { error: 'not a request' };
      } catch {
        reply = { error: 'not JSON' };
      }
      sock.end(JSON.stringify(reply) + '\n');
    });
  };

  // umask 077 while the socket is created (chmod below closes the window where umask cannot
  // be changed: worker threads)
  let oldMask: number | undefined;
  try {
    oldMask = process.umask(0o177);
  } catch {
    oldMask = undefined;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `cannot listen on ${socketPath}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
  chmodSync(socketPath, 0o600);
  armIdle();
  return { socketPath, closed, close };
}

/** Removes a socket file nobody listens on; INVALID_ARGUMENT when an agent answers, or the path is not a socket. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new StowageError('INVALID_ARGUMENT', `${socketPath} exists and is not a socket`);
  try {
    await agentRequest(socketPath, { op: 'list' }, 1000);
  } catch {
    unlinkSync(socketPath);
    return;
  }
  throw new StowageError('INVALID_ARGUMENT', `a key agent already listens on ${socketPath}`);
}
