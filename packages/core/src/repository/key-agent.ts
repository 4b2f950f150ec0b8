/**
 * The key agent's client and wire format: an opt-in cache of key-encryption keys (KEKs) held
 * in memory by a separate process (`stowage agent`, key-agent-server.ts) behind a unix socket
 * that only its user can open, like ssh-agent. With it, a command that opens an encrypted
 * repository asks the agent for the KEK of one of the repository's key files instead of
 * running the password's scrypt (about 150 ms of CPU and 64 MiB), and after a successful
 * unlock from the password it hands the agent that key file's KEK.
 *
 * What it trades: the key files and their scrypt parameters are unchanged (nothing is written
 * to disk, nothing about the key derivation is weakened), but while an entry lives (its TTL)
 * any process of the same user that can open the socket can unlock a repository whose key
 * file it can read, without the password, as with ssh-agent; and the KEKs sit in the agent's
 * memory (root, or the same user through ptrace, can read them). Every KEK from the agent is
 * checked like a derived one: the key file's AEAD tag must open with it, else the command
 * falls back to the password.
 *
 * Wire format: one request per connection, one JSON line each way (at most 64 KiB):
 * `{op:"get", names:[key file names]}` -> `{name, kek}` (kek base64) or `{}`;
 * `{op:"put", name, kek}` -> `{ok:true}`; `{op:"list"}` -> `{entries:[{name, expires}]}`;
 * `{op:"clear"}` -> `{ok:true, removed}`; `{op:"stop"}` -> `{ok:true}` (the agent exits).
 */
import { connect } from 'node:net';

/** A cache of key-encryption keys by key file name. Implementations never throw from get/put. */
export interface KekCache {
  /** A remembered KEK of one of these key files, or undefined. */
  get(names: readonly string[]): Promise<{ readonly name: string; readonly kek: Buffer } | undefined>;
  /** Remembers the KEK of key file `name` (a copy is sent; the caller still owns `kek`). */
  put(name: string, kek: Buffer): Promise<void>;
}

export type AgentRequest =
  | { readonly op: 'get'; readonly names: readonly string[] }
  | { readonly op: 'put'; readonly name: string; readonly kek: string }
  | { readonly op: 'list' }
  | { readonly op: 'clear' }
  | { readonly op: 'stop' };

export interface AgentEntry {
  readonly name: string;
  /** Epoch milliseconds at which the agent forgets it. */
  readonly expires: number;
}

/** Largest request or response line, in bytes. */
export const AGENT_MAX_MESSAGE = 64 * 1024;
/** Environment variable that names the agent's socket; setting it is the opt-in. */
export const AGENT_SOCKET_ENV = 'STOWAGE_AGENT_SOCK';

/** Sends one request to the agent at `socketPath`; rejects when it cannot be reached or answers badly. */
export function agentRequest(socketPath: string, req: AgentRequest, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error): void => {
      sock.destroy();
      reject(err);
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`key agent at ${socketPath} did not answer within ${timeoutMs} ms`)));
    sock.on('error', fail);
    sock.on('connect', () => sock.end(JSON.stringify(req) + '\n'));
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > AGENT_MAX_MESSAGE) return fail(new Error('key agent answer too long'));
      chunks.push(b);
    });
    sock.on('end', () => {
      sock.destroy();
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch (err) {
        reject(new Error(`key agent at ${socketPath} answered badly: ${(err as Error).message}`));
      }
    });
  });
}

/** A KekCache backed by the agent at `socketPath`; `onError` hears why a request failed (the command goes on without it). */
export function keyAgentCache(socketPath: string, onError?: (err: Error) => void): KekCache {
  const quiet = (err: unknown): undefined => {
    onError?.(err instanceof Error ? err : new Error(String(err)));
    return undefined;
  };
  return {
    async get(names) {
      if (names.length === 0) return undefined;
      try {
        const r = await agentRequest(socketPath, { op: 'get', names });
        if (typeof r.name !== 'string' || typeof r.kek !== 'string' || !names.includes(r.name)) return undefined;
        return { name: r.name, kek: Buffer.from(r.kek, 'base64') };
      } catch (err) {
        return quiet(err);
      }
    },
    async put(name, kek) {
      try {
        await agentRequest(socketPath, { op: 'put', name, kek: kek.toString('base64') });
      } catch (err) {
        quiet(err);
      }
    },
  };
}
