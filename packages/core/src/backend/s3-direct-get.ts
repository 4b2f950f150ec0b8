/**
 * Ranged GETs over plain http whose body the socket reads straight into the caller's buffer
 * (net.Socket's `onread` with a buffer chosen per read): no Buffer per 64 KiB socket read and
 * no copy out of it. Through Node's http client every read of a restore's 180 MB of ranged
 * GETs was a fresh 64 KiB ArrayBuffer, and their external memory set off V8's full
 * collections on the main thread (docker.tar v5 from RGW: 9 mark-compacts, ~0.26 CPU-s of
 * main-thread GC against ~0.08 s restoring from a local directory).
 *
 * A deliberately small HTTP/1.1 client for one shape of exchange: a signed GET (headers from
 * s3-request.ts) answered with a Content-Length body. Anything else (a chunked or unframed
 * answer, an interim 1xx) is not handled here: the exchange fails with FALLBACK and the caller
 * sends the request through Node's http client instead. Non-2xx answers end in an
 * S3ResponseError read from their (length-framed) XML body. Keep-alive sockets are reused
 * (one request at a time each; a reused socket that closes before answering is retried once
 * on a new one, as browsers do); idle ones are unref'ed so they never keep a process alive.
 */
import * as net from 'node:net';

/** What the answer said besides its body. */
export interface DirectGetResult {
  readonly status: number;
  /** The body's length as announced (Content-Length). */
  readonly contentLength: number;
  readonly contentRange: string | undefined;
}

/** A non-2xx answer, with (the first 64 KiB of) its body. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: Buffer,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

/** The exchange took a shape this client does not read: send the request another way. */
export class FallbackError extends Error {
  constructor(why: string) {
    super(`direct GET not possible: ${why}`);
    this.name = 'FallbackError';
  }
}

const HEAD_BYTES = 64 * 1024;
/** Largest response head accepted. */
const MAX_HEAD = 64 * 1024;

interface Exchange {
  /** Bytes of the head so far (copied out of the scratch buffer). */
  head: Buffer[];
  headLength: number;
  status: number;
  contentLength: number;
  contentRange: string | undefined;
  close: boolean;
  /** Where the body goes: the caller's target (2xx) or an error body. */
  body: Uint8Array | undefined;
  got: number;
  /** Any byte of the answer arrived. */
  answered: boolean;
  done(err?: unknown): void;
}

/** One keep-alive connection; `ex` is the exchange in progress. */
class Conn {
  readonly socket: net.Socket;
  private readonly scratch = Buffer.allocUnsafe(HEAD_BYTES);
  ex: Exchange | undefined;
  reused = false;

  constructor(host: string, port: number, idleTimeoutMs: number, onGone: (c: Conn) => void) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.nextBuffer(),
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf);
          return true;
        },
      },
    });
    const gone = (err?: Error): void => {
      onGone(this);
      this.ex?.done(err ?? Object.assign(new Error('socket closed before the answer was complete'), { code: 'ECONNRESET' }));
    };
    this.socket.on('timeout', () => this.socket.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
    this.socket.resume();
  }

  /** The buffer the next socket read fills: the rest of a body in progress, else scratch. */
  private nextBuffer(): Uint8Array {
    const ex = this.ex;
    if (ex?.body && ex.status !== 0 && ex.got < ex.contentLength) return ex.body.subarray(ex.got, Math.min(ex.contentLength, ex.body.length));
    return this.scratch;
  }

  private onRead(n: number, buf: Uint8Array): void {
    const ex = this.ex;
    if (!ex) {
      this.socket.destroy(); // bytes nobody asked for: the stream is out of step
      return;
    }
    ex.answered = true;
    if (ex.status === 0) return this.readHead(ex, buf.subarray(0, n));
    if (buf === this.scratch) return this.fail(new Error('internal error: body bytes in the scratch buffer'));
    ex.got += n; // read in place
    if (ex.got === ex.contentLength) ex.done();
  }

  private readHead(ex: Exchange, bytes: Uint8Array): void {
    ex.head.push(Buffer.from(bytes));
    ex.headLength += bytes.length;
    const all = ex.head.length === 1 ? ex.head[0]! : Buffer.concat(ex.head, ex.headLength);
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (ex.headLength > MAX_HEAD) this.fail(new FallbackError('response head too large'));
      return;
    }
    const lines = all.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) return this.fail(new FallbackError(`unexpected status line ${JSON.stringify(lines[0]!.slice(0, 40))}`));
    const status = Number(m[1]);
    const h = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) h.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const len = h.get('content-length');
    if (status < 200 || h.has('transfer-encoding') || len === undefined || !/^\d+$/.test(len)) return this.fail(new FallbackError(`status ${status}, ${h.get('transfer-encoding') ?? 'no length'}`));
    ex.status = status;
    ex.contentLength = Number(len);
    ex.contentRange = h.get('content-range');
    ex.close = /close/i.test(h.get('connection') ?? '');
    const ok = status < 300;
    if (!ok) ex.body = Buffer.allocUnsafe(Math.min(ex.contentLength, 65536));
    else if (ex.contentLength > ex.body!.length) return this.fail(Object.assign(new Error(`body of ${ex.contentLength} bytes, ${ex.body!.length} asked for`), { code: 'ECONNRESET' }));
    if (!ok && ex.contentLength > 65536) return this.fail(new FallbackError('large error body'));
    const rest = all.subarray(end + 4);
    if (rest.length > ex.contentLength) return this.fail(new Error('more bytes than the answer announced'));
    ex.body!.set(rest, 0);
    ex.got = rest.length;
    if (ex.got === ex.contentLength) ex.done();
  }

  private fail(err: Error): void {
    const ex = this.ex;
    this.socket.destroy();
    ex?.done(err);
  }
}

/** Direct GETs to one http endpoint. */
export class DirectGets {
  private readonly idle: Conn[] = [];
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly t: { readonly connectTimeoutMs: number; readonly idleTimeoutMs: number },
  ) {}

  /**
   * Sends `request` (the whole head of a GET, CRLF-terminated) and reads a 2xx body into
   * `target` (its length at most target.length; the caller checks it against what it asked
   * for). Rejects with an HttpStatusError for non-2xx, FallbackError for an answer of another
   * shape, a socket error (ECONNRESET, ETIMEDOUT) when the connection fails or stalls.
   */
  async get(request: string, target: Uint8Array, signal?: AbortSignal): Promise<DirectGetResult> {
    try {
      return await this.once(request, target, signal, true);
    } catch (err) {
      if ((err as { retryFresh?: boolean }).retryFresh) return this.once(request, target, signal, false);
      throw err;
    }
  }

  private once(request: string, target: Uint8Array, signal: AbortSignal | undefined, mayReuse: boolean): Promise<DirectGetResult> {
    signal?.throwIfAborted();
    const conn = (mayReuse && this.idle.pop()) || this.connect();
    const reused = conn.reused;
    const socket = conn.socket;
    socket.ref();
    return new Promise<DirectGetResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        socket.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      };
      const ex: Exchange = {
        head: [],
        headLength: 0,
        status: 0,
        contentLength: 0,
        contentRange: undefined,
        close: false,
        body: target,
        got: 0,
        answered: false,
        done: (err?: unknown) => {
          if (conn.ex !== ex) return;
          conn.ex = undefined;
          clearTimeout(timer);
          socket.setTimeout(0);
          signal?.removeEventListener('abort', onAbort);
          if (err) {
            socket.destroy();
            // a kept-alive socket the server closed before it answered: once more, on a new one
            if (reused && !ex.answered && !signal?.aborted && !(err instanceof FallbackError)) Object.assign(err as object, { retryFresh: true });
            reject(err);
            return;
          }
          if (ex.close || this.closed) socket.destroy();
          else {
            conn.reused = true;
            socket.unref();
            this.idle.push(conn);
          }
          if (ex.status >= 300) reject(new HttpStatusError(ex.status, Buffer.from(ex.body!.subarray(0, ex.got))));
          else resolve({ status: ex.status, contentLength: ex.contentLength, contentRange: ex.contentRange });
        },
      };
      conn.ex = ex;
      signal?.addEventListener('abort', onAbort, { once: true });
      if (socket.connecting) {
        timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect timeout after ${this.t.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })), this.t.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
      }
      socket.setTimeout(this.t.idleTimeoutMs); // 'timeout' destroys it (Conn)
      socket.write(request);
    });
  }

  private connect(): Conn {
    return new Conn(this.host, this.port, this.t.idleTimeoutMs, (c) => {
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
    });
  }

  /** Closes the idle connections; ones in use close when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }
}
