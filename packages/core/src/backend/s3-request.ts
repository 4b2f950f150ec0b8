/**
 * GETs outside the SDK's middleware stack, for an S3-compatible endpoint (`s3:http(s)://...`).
 *
 * A restore sends hundreds of ranged GETs; through the SDK's command and middleware stack
 * (endpoint rules, user agent, checksum and signing middleware, response wrapping) each cost
 * about 2.3 ms of CPU on this 2-core machine against about 1.1 ms for the same signed GET sent
 * with Node's http (256 KiB ranges from Ceph RGW, 400 GETs, 8 at once; native-bench/README.md,
 * S3 section). The request is signed by the SDK's own SigV4 signer (@smithy/signature-v4) with
 * the same credential and region providers and goes out on the same keep-alive agent as the
 * SDK's requests; its response body is handed over as the stream it is, so the caller reads it
 * straight into its buffer. Failures carry what mapS3Error reads of an SDK error (`name`,
 * `$metadata.httpStatusCode`, socket codes), so both paths fail alike.
 *
 * Locations on AWS without an explicit endpoint keep the SDK (its endpoint rules and region
 * redirects).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Transport } from './s3-client.js';

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

export class S3Requests {
  private readonly signer: SignatureV4;
  private readonly protocol: 'http:' | 'https:';
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly host: string;
  private readonly pathOf: (key: string) => string;
  private readonly send: typeof http.request;

  constructor(
    endpoint: string,
    bucket: string,
    pathStyle: boolean,
    private readonly t: S3Transport,
  ) {
    const u = new URL(endpoint);
    this.protocol = u.protocol === 'https:' ? 'https:' : 'http:';
    this.send = this.protocol === 'https:' ? https.request : http.request;
    // virtual-hosted style puts the bucket in the host name
    this.hostname = pathStyle ? u.hostname : `${bucket}.${u.hostname}`;
    this.port = u.port ? Number(u.port) : undefined;
    this.host = u.port ? `${this.hostname}:${u.port}` : this.hostname;
    const bucketPath = pathStyle ? `/${encodeKey(bucket)}/` : '/';
    this.pathOf = (key) => bucketPath + encodeKey(key);
    this.signer = new SignatureV4({ service: 's3', region: t.region, credentials: t.credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: true });
  }

  /**
   * GETs `key` (`range`: an HTTP Range value such as "bytes=0-99"); resolves with the
   * response once its headers are in (status 200/206), the body still to be read.
   * Rejects with an S3ResponseError for any other status, with the socket's error when the
   * connection fails, with an AbortError when `signal` fires.
   */
  async get(key: string, range: string | undefined, signal?: AbortSignal): Promise<GetResponse> {
    const path = this.pathOf(key);
    const headers: Record<string, string> = { host: this.host, 'x-amz-content-sha256': EMPTY_SHA256 };
    if (range) headers.range = range;
    const signed = await this.signer.sign({ method: 'GET', protocol: this.protocol, hostname: this.hostname, ...(this.port && { port: this.port }), path, query: {}, headers });
    signal?.throwIfAborted();
    return new Promise<GetResponse>((resolve, reject) => {
      const req = this.send(
        {
          agent: this.t.agent,
          protocol: this.protocol,
          host: this.hostname,
          ...(this.port && { port: this.port }),
          path,
          method: 'GET',
          headers: signed.headers,
          timeout: this.t.idleTimeoutMs,
          ...(signal && { signal }),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 200 || status === 206) {
            const len = res.headers['content-length'];
            const cr = res.headers['content-range'];
            resolve({ Body: res, ...(len !== undefined && { ContentLength: Number(len) }), ...(cr !== undefined && { ContentRange: cr }) });
            return;
          }
          errorOf(res, status).then(reject, reject);
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
      req.end();
    });
  }
}

/** The S3ResponseError of a non-2xx answer, from its XML error body (read up to 64 KiB). */
function errorOf(res: http.IncomingMessage, status: number): Promise<S3ResponseError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (): void => {
      const xml = Buffer.concat(chunks).toString('utf8');
      const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
      const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];
      resolve(new S3ResponseError(status, code, message));
    };
    res.on('data', (c: Buffer) => {
      if (n < 65536) chunks.push(c);
      n += c.length;
    });
    res.on('end', done);
    res.on('error', done);
    res.on('aborted', done);
  });
}
