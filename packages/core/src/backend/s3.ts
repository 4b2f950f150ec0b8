/**
 * S3 backend: the repository layout (layout.ts) as object keys under `bucket/prefix/`.
 *
 * - A file goes up as one PutObject; above `multipartThreshold` (200 MiB) as a multipart
 *   upload, aborted when it fails (a lifecycle rule cleans up after a killed process, and gc
 *   aborts the ones it finds).
 * - New files are create-only: `If-None-Match: *` when the store honours it (probed once per
 *   repository, the answer kept under the cache dir), else a HEAD before the PUT; names are
 *   content hashes, so a lost race writes identical bytes. Nothing overwrites (locks too are refreshed as new files).
 * - Ranged GETs read straight into the caller's buffer; a body shorter than announced is a
 *   retryable error, a range past the end of the object CORRUPT.
 * - Listing follows pagination; keys that are not files of the layout are skipped.
 * - `remove` HEADs first, so a missing file is NOT_FOUND as on every backend (not with `missingOk`:
 *   a lock's release is one DELETE).
 * - No retries here (the SDK's are off too): wrap with `retrying` (retry.ts).
 *
 * `requests` counts requests by kind, for tests and benchmarks.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { finished, type Readable } from 'node:stream';
import type { S3Client, StorageClass } from '@aws-sdk/client-s3';
import { StowageError } from '../errors.js';
import { AbstractBackend } from './abstract-backend.js';
import type { BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, RemoveOptions, SaveOptions } from './backend.js';
import { dirOf, pathOf } from './layout.js';
import { formatLocation, type S3Location } from './location.js';
import { DEFAULT_S3_CONNECTIONS, makeS3Transport, type S3Settings, type S3Transport } from './s3-transport.js';
import { mapS3Error, shortBody } from './s3-errors.js';
import { S3Requests, type ListPage } from './s3-request.js';
import { GarbageBound, exposedGc, type Gc } from '../util/garbage-bound.js';
import { now, timelineOn, timelineSpan } from '../util/timeline.js';

type Sdk = typeof import('@aws-sdk/client-s3');

export type RequestKind = 'PUT' | 'GET' | 'HEAD' | 'LIST' | 'DELETE' | 'POST';

export interface S3BackendOptions extends S3Settings {
  /** Where to remember what the store supports (the probe), e.g. the cache root. */
  readonly cacheDir?: string;
  /** Told about things a user should know (e.g. "created bucket b"). */
  readonly onNotice?: (message: string) => void;
  /** A client to use instead of one made from the settings (every request then goes through it). */
  readonly client?: S3Client;
  /** The collector of dead response buffers (default V8's, see RESPONSE_SCAVENGE_BYTES; tests count its calls). */
  readonly collect?: Gc;
}

const MiB = 1 << 20;

/**
 * Node's http client leaves two dead buffers behind per chunk of a response body: the
 * socket's read buffer (up to 64 KiB) and the parser's copy of the body bytes in it
 * (llhttp's on_body makes a new Buffer), both external memory that V8 frees only when a
 * collection of the young generation runs, which the few small objects a response makes
 * rarely start. With the bodies copied into the caller's buffer, 20-25 MB of such dead
 * chunks sat in the peak RSS of a snapshot of docker.tar v5 (its delta bases are read by
 * ranged GETs; heaptrack at the malloc peak: 12.3 MB of parser copies and 12.3 MB of socket
 * buffers, nothing of the kind into a local repository) and of a restore. So a scavenge runs
 * after every RESPONSE_SCAVENGE_BYTES of dead buffers (2 MiB of body): v5 snapshot 252-262
 * -> 227-233 MB, restore of v5 223-231 -> 203-205 MB, CPU the same within noise (3 pairs
 * each; every 4 or 8 MiB of body freed less: restore 208-213 and 218-222 MB).
 */
const RESPONSE_SCAVENGE_BYTES = 4 * MiB;

/**
 * Hands each chunk of a response body to `onChunk` (which may throw to stop) until the body
 * ends; rejects when it fails or closes early. 'data' events rather than async iteration: on
 * 1.4 MB ranged GETs (a restore's reads) about 12% less CPU per request.
 */
function consume(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      body.destroy();
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        onChunk(chunk);
      } catch (err) {
        fail(err);
      }
    });
    finished(body, (err) => (err ? fail(err) : failed || resolve()));
  });
}

export class S3Backend extends AbstractBackend {
  readonly info: BackendInfo;
  readonly location: S3Location;
  /** Requests sent, by kind. */
  readonly requests: Record<RequestKind, number> = { PUT: 0, GET: 0, HEAD: 0, LIST: 0, DELETE: 0, POST: 0 };
  private readonly transport: S3Transport | undefined;
  private readonly lean: S3Requests | undefined;
  private sdkReady: Promise<{ sdk: Sdk; client: S3Client }> | undefined;
  private readonly base: string;
  private readonly opts: S3BackendOptions;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private conditional: Promise<boolean> | undefined;
  /** Ranged GETs into a buffer go through S3Requests.getInto first. */
  private readonly directGets: boolean = false;
  /** Dead response buffers (see RESPONSE_SCAVENGE_BYTES). */
  private readonly garbage: GarbageBound;

  constructor(location: S3Location, opts: S3BackendOptions = {}) {
    super();
    this.location = location;
    this.opts = opts;
    if (!opts.client) {
      this.transport = makeS3Transport(location, opts);
      if (location.endpoint && opts.leanRequests !== false)
        this.lean = new S3Requests(location.endpoint, location.bucket, opts.pathStyle ?? location.pathStyle, this.transport, opts.directGets !== false);
      this.directGets = this.lean !== undefined && opts.directGets !== false;
    }
    this.base = location.prefix ? `${location.prefix}/` : '';
    this.multipartThreshold = opts.multipartThreshold ?? 200 * MiB;
    this.partSize = Math.max(5 * MiB, opts.partSize ?? 64 * MiB);
    this.garbage = new GarbageBound(RESPONSE_SCAVENGE_BYTES, Number.POSITIVE_INFINITY, opts.collect ?? exposedGc());
    const connections = opts.connections ?? DEFAULT_S3_CONNECTIONS;
    // a writer keeps up to 3 packs uploading (fewer with fewer connections) and builds one: at
    // most `connections` packs buffered (7 in flight peaked at 275 MB RSS on the docker.tar
    // series: native-bench/dist/s3-bench.js).
    this.info = { location: formatLocation(location), connections, uploads: Math.max(1, Math.min(3, connections - 1)), contentSha256: this.lean !== undefined };
  }

  private key(h: Handle): string {
    return this.base + pathOf(h);
  }

  /** The SDK and its client, loaded on first use. */
  private sdk(): Promise<{ sdk: Sdk; client: S3Client }> {
    return (this.sdkReady ??= (async () => {
      // through s3-client.ts, whose static import of the SDK also holds in a bundle
      const { sdk, makeS3Client } = await import('./s3-client.js');
      return { sdk, client: this.opts.client ?? makeS3Client(this.location, this.opts, this.transport) };
    })());
  }

  /** Sends an SDK command (made by `cmd` from the loaded SDK), counted, its failure mapped. */
  private send<T>(kind: RequestKind, cmd: (sdk: Sdk) => object, op: string, what: string, signal?: AbortSignal): Promise<T> {
    return this.counted(kind, op, what, signal, async () => {
      const { sdk, client } = await this.sdk();
      return (await client.send(cmd(sdk) as never, signal ? { abortSignal: signal } : undefined)) as T;
    });
  }

  /** A request through the lean path (s3-request.ts), counted and its failure mapped as send() does. */
  private leanSend<T>(kind: RequestKind, fn: (r: S3Requests) => Promise<T>, op: string, what: string, signal?: AbortSignal, bytes?: number): Promise<T> {
    return this.counted(kind, op, what, signal, () => fn(this.lean!), bytes);
  }

  /** Runs one request of `kind`: refused once `signal` fired, counted, its failure mapped (mapS3Error). */
  private async counted<T>(kind: RequestKind, op: string, what: string, signal: AbortSignal | undefined, request: () => Promise<T>, bytes?: number): Promise<T> {
    signal?.throwIfAborted();
    this.requests[kind]++;
    const t0 = timelineOn ? now() : 0;
    try {
      return await request();
    } catch (err) {
      throw mapS3Error(signal?.aborted ? Object.assign(new Error('aborted'), { name: 'AbortError' }) : err, op, what, this.location.bucket);
    } finally {
      if (timelineOn) timelineSpan(`s3 ${kind}`, t0, { what, bytes });
    }
  }

  /** PUTs one object (no multipart): `headers` as HTTP headers (lower case). */
  private async putObject(key: string, parts: readonly Uint8Array[], headers: Record<string, string>, op: string, what: string, signal?: AbortSignal, sha256?: string): Promise<void> {
    if (this.lean) return this.leanSend('PUT', (r) => r.put(key, parts, headers, signal, sha256), op, what, signal, timelineOn ? parts.reduce((n, p) => n + p.length, 0) : undefined);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    const ifNoneMatch = headers['if-none-match'];
    const storageClass = headers['x-amz-storage-class'];
    await this.send(
      'PUT',
      (sdk) =>
        new sdk.PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ...(ifNoneMatch && { IfNoneMatch: ifNoneMatch }),
          ...(storageClass && { StorageClass: storageClass as StorageClass }),
        }),
      op,
      what,
      signal,
    );
  }

  private async deleteObject(key: string, op: string, what: string, signal?: AbortSignal): Promise<void> {
    if (this.lean) return this.leanSend('DELETE', (r) => r.delete(key, signal), op, what, signal);
    await this.send('DELETE', (sdk) => new sdk.DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }), op, what, signal);
  }

  /** One page of the listing under `prefix`. */
  private async listPage(prefix: string, token: string | undefined, maxKeys: number | undefined, what: string, signal?: AbortSignal): Promise<ListPage> {
    if (this.lean) return this.leanSend('LIST', (r) => r.list(prefix, token, maxKeys, signal), 'list', what, signal);
    const r = await this.send<{ Contents?: { Key?: string; Size?: number }[]; IsTruncated?: boolean; NextContinuationToken?: string; KeyCount?: number }>(
      'LIST',
      (sdk) => new sdk.ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }), ...(maxKeys !== undefined && { MaxKeys: maxKeys }) }),
      'list',
      what,
      signal,
    );
    const keys = (r.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0 }));
    return { keys, keyCount: r.KeyCount ?? keys.length, next: r.IsTruncated ? r.NextContinuationToken : undefined };
  }

  protected async _save(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions): Promise<void> {
    const key = this.key(h);
    const what = pathOf(h);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const signal = opts?.signal;
    const createOnly = !opts?.overwrite;
    const multipart = size > this.multipartThreshold;
    // If-None-Match is ignored on CompleteMultipartUpload (RGW 16): HEAD for those
    const conditional = createOnly && !multipart && (await this.conditionalWrites(signal));
    if (createOnly && !conditional && (await this.headObject(key, what, signal)) !== undefined) {
      throw new StowageError('ALREADY_EXISTS', `${what}: already exists`);
    }
    if (multipart) return this.multipartUpload(key, what, parts, size, signal);
    const headers: Record<string, string> = {};
    if (conditional) headers['if-none-match'] = '*';
    if (this.opts.storageClass && h.type === 'pack') headers['x-amz-storage-class'] = this.opts.storageClass;
    await this.putObject(key, parts, headers, 'save', what, signal, opts.sha256);
  }

  private async multipartUpload(key: string, what: string, parts: readonly Uint8Array[], size: number, signal?: AbortSignal): Promise<void> {
    const bucket = this.location.bucket;
    const created = await this.send<{ UploadId?: string }>(
      'POST',
      (sdk) => new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...(this.opts.storageClass && { StorageClass: this.opts.storageClass as StorageClass }) }),
      'save',
      what,
      signal,
    );
    const uploadId = created.UploadId!;
    try {
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      const done: { PartNumber: number; ETag: string }[] = [];
      for (let off = 0, n = 1; off < size; off += this.partSize, n++) {
        const body = whole.subarray(off, Math.min(size, off + this.partSize));
        const r = await this.send<{ ETag?: string }>(
          'PUT',
          (sdk) => new sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length }),
          'save',
          what,
          signal,
        );
        done.push({ PartNumber: n, ETag: r.ETag! });
      }
      await this.send('POST', (sdk) => new sdk.CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }), 'save', what, signal);
    } catch (err) {
      await this.send('DELETE', (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), 'abort upload of', what).catch(() => undefined);
      throw err;
    }
  }

  /** Whether the store refuses a PUT with If-None-Match: * on an existing key (probed once, remembered). */
  private conditionalWrites(signal?: AbortSignal): Promise<boolean> {
    if (!this.conditional) {
      this.conditional = this.probeConditional(signal);
      this.conditional.catch(() => (this.conditional = undefined));
    }
    return this.conditional;
  }

  private probeFile(): string | undefined {
    if (!this.opts.cacheDir) return undefined;
    const id = createHash('sha256')
      .update(`${this.location.endpoint ?? 'aws'}\0${this.location.bucket}\0${this.location.prefix}`)
      .digest('hex')
      .slice(0, 32);
    return path.join(this.opts.cacheDir, 's3-probe', `${id}.json`);
  }

  private async probeConditional(signal?: AbortSignal): Promise<boolean> {
    const file = this.probeFile();
    if (file) {
      try {
        const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { ifNoneMatch?: unknown };
        if (typeof v.ifNoneMatch === 'boolean') return v.ifNoneMatch;
      } catch {
        /* not probed yet */
      }
    }
    // a key outside the layout (a dot name is never a file of the repository)
    const key = `${this.base}.stowage-probe-${randomBytes(8).toString('hex')}`;
    const put = (conditional: boolean) => this.putObject(key, [Buffer.from('probe')], conditional ? { 'if-none-match': '*' } : {}, 'probe', key, signal);
    await put(false);
    let honoured: boolean;
    try {
      await put(true);
      honoured = false;
    } catch (err) {
      if ((err as StowageError).code === 'ALREADY_EXISTS') honoured = true;
      else if ((err as StowageError).retryable) throw err;
      else honoured = false; // 400/501 NotImplemented: not supported
    } finally {
      await this.deleteObject(key, 'probe', key).catch(() => undefined);
    }
    if (file) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ location: this.info.location, ifNoneMatch: honoured, probed: new Date().toISOString() }) + '\n');
      } catch {
        /* a cache we cannot write only costs a probe next time */
      }
    }
    return honoured;
  }

  /** The object's size, or undefined when it does not exist. */
  private async headObject(key: string, what: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      if (this.lean) return await this.leanSend('HEAD', (r) => r.head(key, signal), 'stat', what, signal);
      const r = await this.send<{ ContentLength?: number }>('HEAD', (sdk) => new sdk.HeadObjectCommand({ Bucket: this.location.bucket, Key: key }), 'stat', what, signal);
      return r.ContentLength ?? 0;
    } catch (err) {
      if ((err as StowageError).code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  protected async _load(h: Handle, range: Range | undefined, opts: OpOptions): Promise<Uint8Array> {
    if (range) {
      const buf = Buffer.allocUnsafe(range.length);
      await this._loadInto(h, range, buf, opts);
      return buf;
    }
    return this.get(h, undefined, undefined, opts.signal);
  }

  protected override async _loadInto(h: Handle, range: Range, target: Uint8Array, opts: OpOptions): Promise<void> {
    await this.get(h, range, target, opts.signal);
  }

  /** GETs a file or a range; into `target` when given, else into a new buffer of the announced size. */
  private async get(h: Handle, range: Range | undefined, target: Uint8Array | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    const key = this.key(h);
    const what = pathOf(h);
    const rangeHeader = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    if (range && target && rangeHeader && this.directGets) {
      // read in place (plain http endpoints, s3-direct-get.ts); undefined: the answer needs the path below
      const into = target.subarray(0, range.length);
      const d = await this.leanSend('GET', (l) => l.getInto(key, rangeHeader, into, signal), 'load', what, signal, range.length);
      if (d) {
        if (d.contentLength < range.length) {
          const total = /\/(\d+)$/.exec(d.contentRange ?? '')?.[1];
          throw new StowageError('CORRUPT', `${what}: short read, wanted ${range.length} bytes at offset ${range.offset}, the object has ${total ?? '?'}`);
        }
        return target;
      }
    }
    const r = this.lean
      ? await this.leanSend('GET', (l) => l.get(key, rangeHeader, signal), 'load', what, signal)
      : await this.send<{ Body?: Readable; ContentLength?: number; ContentRange?: string }>(
          'GET',
          (sdk) => new sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: key, ...(rangeHeader && { Range: rangeHeader }) }),
          'load',
          what,
          signal,
        );
    const announced = r.ContentLength;
    if (range && announced !== undefined && announced < range.length) {
      r.Body?.destroy();
      const total = /\/(\d+)$/.exec(r.ContentRange ?? '')?.[1];
      throw new StowageError('CORRUPT', `${what}: short read, wanted ${range.length} bytes at offset ${range.offset}, the object has ${total ?? '?'}`);
    }
    const want = range ? range.length : announced;
    const out = target ?? (want !== undefined ? Buffer.allocUnsafe(want) : undefined);
    let got = 0;
    const chunks: Buffer[] = [];
    try {
      if (!r.Body) throw new StowageError('BACKEND', `load ${what}: response without a body`, { retryable: true });
      await consume(r.Body, (chunk) => {
        if (out) {
          if (got + chunk.length > (want ?? out.length)) throw new StowageError('BACKEND', `load ${what}: body longer than announced`, { retryable: true });
          out.set(chunk, got);
          this.garbage.add(2 * chunk.length); // the socket's buffer and the parser's copy, both dead now
        } else chunks.push(chunk);
        got += chunk.length;
      });
    } catch (err) {
      r.Body?.destroy();
      if (err instanceof StowageError) throw err;
      const mapped = mapS3Error(signal?.aborted ? Object.assign(new Error('aborted'), { name: 'AbortError' }) : err, 'load', what, this.location.bucket);
      // a body cut off mid-transfer is transient whatever the socket said
      throw mapped.code === 'BACKEND' ? new StowageError('BACKEND', mapped.message, { cause: err, retryable: true }) : mapped;
    }
    if (!out) return Buffer.concat(chunks, got);
    if (got !== want) throw shortBody(what, got, want!);
    return out;
  }

  protected async _stat(h: Handle, opts: OpOptions): Promise<{ size: number }> {
    const size = await this.headObject(this.key(h), pathOf(h), opts?.signal);
    if (size === undefined) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
    return { size };
  }

  protected override async _exists(h: Handle, opts: OpOptions): Promise<boolean> {
    return (await this.headObject(this.key(h), pathOf(h), opts?.signal)) !== undefined;
  }

  protected async *_list(type: FileType, opts: OpOptions): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const size = await this.headObject(this.key({ type, name: 'config' }), 'config', opts?.signal);
      if (size !== undefined) yield { name: 'config', size };
      return;
    }
    const dir = `${this.base}${dirOf(type)}/`;
    let token: string | undefined;
    do {
      const page = await this.listPage(dir, token, undefined, `${dirOf(type)}/`, opts?.signal);
      for (const o of page.keys) {
        const rel = o.key.slice(this.base.length);
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        if (name.startsWith('.') || pathOf({ type, name }) !== rel) continue;
        yield { name, size: o.size };
      }
      token = page.next;
    } while (token);
  }

  protected async _remove(h: Handle, opts: RemoveOptions): Promise<void> {
    const key = this.key(h);
    // a DELETE of a missing key succeeds: HEAD first only when the caller tells "missing" apart
    if (!opts?.missingOk && (await this.headObject(key, pathOf(h), opts?.signal)) === undefined) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
    await this.deleteObject(key, 'remove', pathOf(h), opts?.signal);
  }

  protected async _isEmpty(opts: OpOptions): Promise<boolean> {
    try {
      return (await this.listPage(this.base, undefined, 1, this.info.location, opts?.signal)).keyCount === 0;
    } catch (err) {
      if ((err as StowageError).code === 'NO_REPOSITORY') return true;
      throw err;
    }
  }

  /** Creates the bucket when it is missing (and says so through onNotice); prefixes need nothing. */
  protected override async _create(opts: OpOptions): Promise<void> {
    const bucket = this.location.bucket;
    try {
      await this.send('HEAD', (sdk) => new sdk.HeadBucketCommand({ Bucket: bucket }), 'check', `bucket ${bucket}`, opts?.signal);
      return;
    } catch (err) {
      if ((err as StowageError).code !== 'NOT_FOUND' && (err as StowageError).code !== 'NO_REPOSITORY') throw err;
    }
    const region = await (this.transport ? this.transport.region() : (await this.sdk()).client.config.region());
    const constraint = this.location.endpoint === undefined && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {};
    try {
      await this.send('PUT', (sdk) => new sdk.CreateBucketCommand({ Bucket: bucket, ...constraint }), 'create', `bucket ${bucket}`, opts?.signal);
    } catch (err) {
      // another process created it first
      const name = ((err as StowageError).cause as { name?: string } | undefined)?.name;
      if (name === 'BucketAlreadyOwnedByYou') return;
      throw err;
    }
    this.opts.onNotice?.(`created bucket ${bucket}${this.location.endpoint ? ` at ${this.location.endpoint}` : ` in ${region}`}`);
  }

  /**
   * Aborts unfinished multipart uploads under the repository's prefix (the debris of killed
   * processes); gc calls this under the exclusive lock. Returns how many.
   */
  protected override async _removeTemporary(types: readonly FileType[], opts: OpOptions): Promise<number> {
    const dirs = types.filter((t) => t !== 'config').map((t) => `${this.base}${dirOf(t)}/`);
    let n = 0;
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const r = await this.send<{ Uploads?: { Key?: string; UploadId?: string }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }>(
        'LIST',
        (sdk) => new sdk.ListMultipartUploadsCommand({ Bucket: this.location.bucket, Prefix: this.base, ...(keyMarker && { KeyMarker: keyMarker }), ...(idMarker && { UploadIdMarker: idMarker }) }),
        'list uploads',
        this.info.location,
        opts?.signal,
      );
      for (const u of r.Uploads ?? []) {
        if (!dirs.some((d) => u.Key!.startsWith(d))) continue;
        await this.send('DELETE', (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: u.Key!, UploadId: u.UploadId! }), 'abort upload of', u.Key!, opts?.signal);
        n++;
      }
      keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
      idMarker = r.IsTruncated ? r.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return n;
  }

  protected override async _close(): Promise<void> {
    this.lean?.close();
    if (this.sdkReady) (await this.sdkReady.catch(() => undefined))?.client.destroy();
    this.transport?.httpAgent.destroy();
    this.transport?.httpsAgent.destroy();
  }
}
