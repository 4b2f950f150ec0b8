/**
 * Requests outside the SDK's middleware stack, for an S3-compatible endpoint (`s3:http(s)://...`):
 * GET (ranges), PUT, HEAD, DELETE and ListObjectsV2, the requests a repository sends all the time.
 *
 * Through the SDK's command and middleware stack (endpoint rules, user agent, checksum and
 * signing middleware, response wrapping) a 256 KiB ranged GET cost 1.4-2.2 ms of CPU on this
 * 2-core machine against 0.6-0.9 ms for the same signed GET sent with Node's http (Ceph RGW,
 * 400 GETs, 8 at once: native-bench/dist/s3-requests-bench.js), and loading the SDK's S3 client
 * cost a process ~90 ms of CPU and ~20 MB. Requests here are signed by the SDK's own SigV4 signer
 * (@smithy/signature-v4) with the same credential and region providers and go out on the same
 * keep-alive agent; a body is signed with its SHA-256 as the SDK signs it; a response body is
 * handed over as the stream it is, so the caller reads it straight into its buffer. Failures
 * carry what mapS3Error reads of an SDK error (`name`, `$metadata.httpStatusCode`, socket
 * codes), so both paths fail alike.
 *
 * The SDK's client stays for what is rare (bucket creation, multipart uploads, listing
 * uploads) and for AWS locations without an explicit endpoint (its endpoint rules and region
 * redirects).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Transport } from './s3-transport.js';
import { DirectGets, FallbackError, HttpStatusError, type DirectGetResult } from './s3-direct-get.js';
import { now, timelineOn, timelineSpan } from '../util/timeline.js';

/** SHA-256 (or HMAC-SHA-256 with a key) in the shape the signer takes. */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

function toBytes(d: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

/** SHA-256 of an empty payload (a GET's body), as SigV4 wants it. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A key as an S3 canonical URI path (RFC 3986: everything but unreserved characters and '/' percent-encoded). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** What a GET answered: the fields of the SDK's GetObject output the backend reads. */
export interface GetResponse {
  readonly Body: http.IncomingMessage;
  readonly ContentLength?: number;
  readonly ContentRange?: string;
}

/** The error of a non-2xx answer, shaped like the SDK's service exceptions (for mapS3Error). */
export class S3ResponseError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };
  readonly Code: string | undefined;
  constructor(status: number, code: string | undefined, message: string | undefined) {
    super(message || code || `HTTP ${status}`);
    this.name = code ?? (status === 404 ? 'NotFound' : `HTTP${status}`);
    this.Code = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** One page of a listing. */
export interface ListPage {
  readonly keys: { readonly key: string; readonly size: number }[];
  readonly keyCount: number;
  /** The token of the next page, when there is one. */
  readonly next: string | undefined;
}

export interface RequestOptions {
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** The body, as consecutive parts (sent one after another, never joined). */
  readonly body?: readonly Uint8Array[];
  /** The body's hex SHA-256 when the caller has it (else it is hashed here, part by part). */
  readonly bodySha256?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export class S3Requests {
  private readonly signer: SignatureV4;
  private readonly protocol: 'http:' | 'https:';
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly host: string;
  private readonly bucketPath: string;
  private readonly send: typeof http.request;
  /** Ranged GETs read in place (plain http endpoints only). */
  private readonly direct: DirectGets | undefined;

  constructor(
    endpoint: string,
    bucket: string,
    pathStyle: boolean,
    private readonly t: Pick<S3Transport, 'agent' | 'credentials' | 'region' | 'connectTimeoutMs' | 'idleTimeoutMs'>,
    directGets = true,
  ) {
    const u = new URL(endpoint);
    this.protocol = u.protocol === 'https:' ? 'https:' : 'http:';
    this.send = this.protocol === 'https:' ? https.request : http.request;
    // virtual-hosted style puts the bucket in the host name
    this.hostname = pathStyle ? u.hostname : `${bucket}.${u.hostname}`;
    this.port = u.port ? Number(u.port) : undefined;
    this.host = u.port ? `${this.hostname}:${u.port}` : this.hostname;
    this.bucketPath = pathStyle ? `/${encodeKey(bucket)}` : '';
    // header values are sent as they are: a host name or region with line breaks would split them
    if (this.protocol === 'http:' && directGets && !/[\r\n]/.test(this.host)) this.direct = new DirectGets(this.hostname, this.port ?? 80, t);
    this.signer = new SignatureV4({ service: 's3', region: t.region, credentials: t.credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: true });
  }

  /**
   * Sends a signed request for `key` (undefined: the bucket itself); resolves with the
   * response once its headers are in and its status is 2xx, the body still to be read.
   * Rejects with an S3ResponseError for any other status, with the socket's error when the
   * connection fails, with an AbortError when `signal` fires. A body is signed with its
   * SHA-256 (as the SDK does), hashed part by part.
   */
  async request(method: string, key: string | undefined, o: RequestOptions = {}): Promise<http.IncomingMessage> {
    const t0 = timelineOn ? now() : 0;
    const signed = await this.sign(method, key, o);
    if (timelineOn && o.body) timelineSpan('s3 sign', t0, { method, key });
    o.signal?.throwIfAborted();
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = this.send(
        {
          agent: this.t.agent,
          protocol: this.protocol,
          host: this.hostname,
          ...(this.port && { port: this.port }),
          path: signed.path,
          method,
          headers: signed.headers,
          timeout: this.t.idleTimeoutMs,
          ...(o.signal && { signal: o.signal }),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(res);
          else errorOf(res, status).then(reject, reject);
        },
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const t = setTimeout(() => req.destroy(Object.assign(new Error(`connect timeout after ${this.t.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })), this.t.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(t));
        socket.once('close', () => clearTimeout(t));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no data for ${this.t.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      for (const p of o.body ?? []) req.write(p);
      req.end();
    });
  }

  /** The path (with its query) and signed headers of a request (a body is signed with its SHA-256, hashed part by part). */
  private async sign(method: string, key: string | undefined, o: RequestOptions): Promise<{ path: string; headers: Record<string, string> }> {
    // the bucket itself as the SDK names it: '/bucket/' (path style) or '/'
    const path = key === undefined ? `${this.bucketPath}/` : `${this.bucketPath}/${encodeKey(key)}`;
    const headers: Record<string, string> = { host: this.host, ...o.headers };
    let size = 0;
    if (o.body) {
      const h = o.bodySha256 === undefined ? createHash('sha256') : undefined;
      for (const p of o.body) {
        h?.update(p);
        size += p.length;
      }
      headers['x-amz-content-sha256'] = h ? h.digest('hex') : o.bodySha256!;
      headers['content-length'] = String(size);
    } else headers['x-amz-content-sha256'] = EMPTY_SHA256;
    const query = o.query ?? {};
    const signed = await this.signer.sign({ method, protocol: this.protocol, hostname: this.hostname, ...(this.port && { port: this.port }), path, query, headers });
    const qs = Object.keys(query)
      .sort()
      .map((k) => `${encodeKey(k)}=${encodeKey(query[k]!)}`)
      .join('&');
    return { path: qs ? `${path}?${qs}` : path, headers: signed.headers };
  }

  /**
   * A ranged GET of `key` read straight into `target` (s3-direct-get.ts: plain http
   * endpoints); undefined when this endpoint or this answer needs the regular path (https,
   * or an answer without a Content-Length), which the caller then takes.
   */
  async getInto(key: string, range: string, target: Uint8Array, signal?: AbortSignal): Promise<DirectGetResult | undefined> {
    if (!this.direct) return undefined;
    const signed = await this.sign('GET', key, { headers: { range } });
    signal?.throwIfAborted();
    let head = `GET ${signed.path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(signed.headers)) head += `${k}: ${v}\r\n`;
    try {
      return await this.direct.get(`${head}\r\n`, target, signal);
    } catch (err) {
      if (err instanceof FallbackError) return undefined;
      if (err instanceof HttpStatusError) throw s3ErrorOf(err.status, err.body.toString('utf8'));
      throw err;
    }
  }

  /** Closes the direct path's idle connections. */
  close(): void {
    this.direct?.close();
  }

  /** GETs `key` (`range`: an HTTP Range value such as "bytes=0-99"); the body is still to be read. */
  async get(key: string, range: string | undefined, signal?: AbortSignal): Promise<GetResponse> {
    const res = await this.request('GET', key, { ...(range && { headers: { range } }), signal });
    const len = res.headers['content-length'];
    const cr = res.headers['content-range'];
    return { Body: res, ...(len !== undefined && { ContentLength: Number(len) }), ...(cr !== undefined && { ContentRange: cr }) };
  }

  /** PUTs `key` with the parts as its body and `headers` (If-None-Match, x-amz-storage-class); `sha256`: the body's, when known. */
  async put(key: string, parts: readonly Uint8Array[], headers: Record<string, string>, signal?: AbortSignal, sha256?: string): Promise<void> {
    await drain(await this.request('PUT', key, { body: parts, headers, signal, bodySha256: sha256 }));
  }

  /** The size of `key` (HEAD). */
  async head(key: string, signal?: AbortSignal): Promise<number> {
    const res = await this.request('HEAD', key, { signal });
    await drain(res);
    return Number(res.headers['content-length'] ?? 0);
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await drain(await this.request('DELETE', key, { signal }));
  }

  /** One page of ListObjectsV2 under `prefix`. */
  async list(prefix: string, token: string | undefined, maxKeys: number | undefined, signal?: AbortSignal): Promise<ListPage> {
    const query: Record<string, string> = { 'list-type': '2', prefix };
    if (token) query['continuation-token'] = token;
    if (maxKeys !== undefined) query['max-keys'] = String(maxKeys);
    const xml = await text(await this.request('GET', undefined, { query, signal }));
    const keys: { key: string; size: number }[] = [];
    for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const key = /<Key>([^<]*)<\/Key>/.exec(m[1]!)?.[1];
      if (key === undefined) continue;
      keys.push({ key: xmlText(key), size: Number(/<Size>(\d+)<\/Size>/.exec(m[1]!)?.[1] ?? 0) });
    }
    const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/i.test(xml);
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
    const keyCount = /<KeyCount>(\d+)<\/KeyCount>/.exec(xml)?.[1];
    return { keys, keyCount: keyCount === undefined ? keys.length : Number(keyCount), next: truncated && next ? xmlText(next) : undefined };
  }
}

/** Reads a response body to its end and drops it. */
function drain(res: http.IncomingMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    res.on('error', reject);
    res.on('end', resolve);
    res.resume();
  });
}

/** A (small) response body as text. */
function text(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The text of an XML element (entities decoded). */
export function xmlText(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e as 'amp']!;
  });
}

/** The S3ResponseError of a non-2xx answer's XML error body. */
function s3ErrorOf(status: number, xml: string): S3ResponseError {
  return new S3ResponseError(status, /<Code>([^<]*)<\/Code>/.exec(xml)?.[1], /<Message>([^<]*)<\/Message>/.exec(xml)?.[1]);
}

/** The S3ResponseError of a non-2xx answer, from its XML error body (read up to 64 KiB). */
function errorOf(res: http.IncomingMessage, status: number): Promise<S3ResponseError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (): void => resolve(s3ErrorOf(status, Buffer.concat(chunks).toString('utf8')));
    res.on('data', (c: Buffer) => {
      if (n < 65536) chunks.push(c);
      n += c.length;
    });
    res.on('end', done);
    res.on('error', done);
    res.on('aborted', done);
  });
}
