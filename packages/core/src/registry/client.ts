/**
 * A small registry v2 client (what a push and a pull need), on node:http/https.
 *
 * Contract:
 * - Loopback hosts (localhost, 127.0.0.0/8, ::1) are spoken to over plain http, as docker
 *   treats them as insecure registries; other hosts over https (`plainHttp` forces http,
 *   `insecureTls` skips certificate checks).
 * - Authentication as distribution's token flow: a 401 with `WWW-Authenticate: Bearer
 *   realm=..,service=..,scope=..` -> GET the realm (with Basic credentials when given) ->
 *   `{"token"|"access_token"}` -> the request again with `Authorization: Bearer`; a `Basic`
 *   challenge -> the request again with Basic credentials. Tokens are kept per scope.
 * - Errors carry stable codes: REGISTRY_UNREACHABLE (connection refused, DNS, TLS, timeout),
 *   REGISTRY_AUTH (401/403 after authenticating), NOT_FOUND (404 of a manifest or blob),
 *   REGISTRY (any other unexpected answer, with the registry's error code and message).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { StowageError } from '../errors.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface ClientOptions {
  readonly credentials?: Credentials;
  readonly plainHttp?: boolean;
  readonly insecureTls?: boolean;
  /** Per-request timeout without progress, ms (default 60 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly userAgent?: string;
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body stream (consume it, or call `discard`). */
  readonly body: http.IncomingMessage;
}

export interface RequestInit {
  readonly method?: string;
  readonly headers?: Record<string, string | number>;
  /** A buffer, or a function giving a fresh stream (requests may be repeated after a 401). */
  readonly body?: Buffer | (() => Readable | AsyncIterable<Uint8Array>);
  /** The scope a token for this request needs (default: pull on the client's repository). */
  readonly scope?: string;
}

export function isLoopbackHost(host: string): boolean {
  // "[::1]:5000", "127.0.0.1:5000", "::1", "localhost"
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':').length === 2 ? host.split(':')[0]! : host;
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export class RegistryClient {
  readonly host: string;
  readonly #opts: ClientOptions;
  readonly #base: string;
  readonly #tokens = new Map<string, string>();
  #basicPreferred = false;

  constructor(host: string, opts: ClientOptions = {}) {
    this.host = host;
    this.#opts = opts;
    this.#base = `${opts.plainHttp || isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
  }

  /** An absolute URL for a path or a Location header (relative or absolute). */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.#base);
  }

  /** Sends a request, authenticating on a 401 once; the caller consumes or discards the body. */
  async request(pathOrUrl: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = typeof pathOrUrl === 'string' ? this.url(pathOrUrl) : pathOrUrl;
    const scope = init.scope ?? '';
    let res = await this.#send(url, init, this.#authHeader(scope));
    if (res.status !== 401) return res;
    const challenge = String(res.headers['www-authenticate'] ?? '');
    await discard(res);
    const auth = await this.#authenticate(challenge, scope);
    if (!auth)
      throw new StowageError(
        'REGISTRY_AUTH',
        `${this.host}: authentication required${this.#opts.credentials ? ', and the credentials given were refused' : ' (give credentials with --registry-auth <docker config.json>)'}`,
      );
    res = await this.#send(url, init, auth);
    if (res.status === 401 || res.status === 403) {
      const err = await errorOf(res);
      throw new StowageError('REGISTRY_AUTH', `${this.host}: access denied to ${url.pathname}${err ? `: ${err}` : ''}${this.#opts.credentials ? ' (wrong credentials?)' : ''}`);
    }
    return res;
  }

  /** A request whose whole body is read (small answers: manifests, JSON). */
  async fetchBytes(pathOrUrl: string | URL, init: RequestInit = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: Buffer }> {
    const res = await this.request(pathOrUrl, init);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return { status: res.status, headers: res.headers, bytes: Buffer.concat(chunks) };
  }

  #authHeader(scope: string): string | undefined {
    const t = this.#tokens.get(scope) ?? this.#tokens.get('');
    if (t) return `Bearer ${t}`;
    if (this.#basicPreferred && this.#opts.credentials) return basic(this.#opts.credentials);
    return undefined;
  }

  async #authenticate(challenge: string, scope: string): Promise<string | undefined> {
    const m = /^\s*(\w+)\s*(.*)$/.exec(challenge);
    const scheme = m?.[1]?.toLowerCase();
    if (scheme === 'basic') {
      if (!this.#opts.credentials) return undefined;
      this.#basicPreferred = true;
      return basic(this.#opts.credentials);
    }
    if (scheme !== 'bearer') return undefined;
    const params = new Map<string, string>();
    for (const p of (m?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params.set(p[1]!.toLowerCase(), p[2]!);
    const realm = params.get('realm');
    if (!realm) return undefined;
    const u = new URL(realm);
    if (params.get('service')) u.searchParams.set('service', params.get('service')!);
    const wanted = scope || params.get('scope');
    if (wanted) for (const s of wanted.split(' ')) u.searchParams.append('scope', s);
    const res = await this.#send(u, {}, this.#opts.credentials ? basic(this.#opts.credentials) : undefined);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    if (res.status !== 200)
      throw new StowageError('REGISTRY_AUTH', `${this.host}: the token service ${u.host} refused ${this.#opts.credentials ? 'the credentials' : 'an anonymous token'} (HTTP ${res.status})`);
    let token: string | undefined;
    try {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : undefined;
    } catch {
      token = undefined;
    }
    if (!token) throw new StowageError('REGISTRY_AUTH', `${this.host}: the token service ${u.host} answered no token`);
    this.#tokens.set(scope, token);
    return `Bearer ${token}`;
  }

  #send(url: URL, init: RequestInit, authorization: string | undefined): Promise<Response> {
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string | number> = { 'User-Agent': this.#opts.userAgent ?? 'stowage', ...init.headers };
      if (authorization) headers.Authorization = authorization;
      const body = init.body;
      if (Buffer.isBuffer(body)) headers['Content-Length'] = body.length;
      const req = lib.request(
        url,
        { method: init.method ?? 'GET', headers, ...(url.protocol === 'https:' && this.#opts.insecureTls && { rejectUnauthorized: false }), ...(this.#opts.signal && { signal: this.#opts.signal }) },
        (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.setTimeout(this.#opts.timeoutMs ?? 60_000, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof StowageError) return reject(err); // the body's source failed (a damaged repository blob)
        if (err.name === 'AbortError') return reject(new StowageError('ABORTED', 'interrupted', { cause: err }));
        reject(
          new StowageError('REGISTRY_UNREACHABLE', `cannot reach registry ${this.host} (${url.protocol.slice(0, -1)}): ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ').trim(), {
            cause: err,
            retryable: true,
          }),
        );
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else void pipeBody(body(), req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  }
}

async function pipeBody(src: Readable | AsyncIterable<Uint8Array>, req: http.ClientRequest): Promise<void> {
  for await (const chunk of src as AsyncIterable<Uint8Array>) {
    if (!req.write(chunk))
      await new Promise<void>((resolve, reject) => {
        const onErr = (e: Error) => reject(e);
        req.once('drain', () => {
          req.off('error', onErr);
          resolve();
        });
        req.once('error', onErr);
      });
  }
  req.end();
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Reads and drops a body. */
export async function discard(res: Response): Promise<void> {
  res.body.resume();
  await new Promise<void>((resolve) => {
    if (res.body.complete || res.body.readableEnded) return resolve();
    res.body.once('end', resolve);
    res.body.once('close', resolve);
    res.body.once('error', () => resolve());
  });
}

/** "CODE: message" of an OCI error body, or the status line; consumes the body. */
export async function errorOf(res: Response): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const e = doc.errors?.[0];
    if (e) return `${e.code ?? 'ERROR'}: ${e.message ?? ''}`.trim();
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.status}${text ? ` ${text.slice(0, 200).trim()}` : ''}`;
}
