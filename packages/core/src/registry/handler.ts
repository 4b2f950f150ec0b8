/**
 * The read-only OCI distribution (registry v2) endpoint of `stowage serve`, as a node:http
 * request handler over a RegistryCatalog.
 *
 * Answers (OCI distribution spec, pull workflow; as CNCF distribution does):
 * - `GET /v2/` 200 with `Docker-Distribution-API-Version: registry/2.0`
 * - `GET /v2/_catalog`, `GET /v2/<name>/tags/list` (`n` and `last` paginate, `Link` header)
 * - `HEAD`/`GET /v2/<name>/manifests/<tag|digest>`: the manifest bytes (stored bytes of an
 *   OCI archive; the generated manifest of a docker-archive), `Content-Type` = its media
 *   type, `Docker-Content-Digest`; MANIFEST_UNKNOWN when `Accept` excludes its type
 * - `HEAD`/`GET /v2/<name>/blobs/<digest>`: streamed from the repository, `Range` (one
 *   range) -> 206 + `Content-Range`, unsatisfiable -> 416; `Accept-Ranges`, `ETag`
 * - any other method: 405 UNSUPPORTED (read-only); unknown paths: 404
 * Errors are OCI error bodies: `{"errors":[{"code","message","detail"}]}`.
 * The core never prints: `onEvent` reports each request's outcome.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StowageError, isStowageError } from '../errors.js';
import type { CodecPool } from '../repository/codec-pool.js';
import type { Repository } from '../repository/repository.js';
import { isDigest, isRepositoryName, isTag } from '../image/ref.js';
import { manifestMediaTypeOf } from '../image/served.js';
import type { Authenticator } from './auth.js';
import { blobPieces, blobSize, blobWindows, readBlob, type BlobWindow, type ReadRings } from './blob-reader.js';
import type { RegistryCatalog, CatalogImage } from './catalog.js';

export type RegistryErrorCode =
  'NAME_UNKNOWN' | 'NAME_INVALID' | 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'DIGEST_INVALID' | 'UNSUPPORTED' | 'UNAUTHORIZED' | 'TAG_INVALID' | 'PAGINATION_NUMBER_INVALID' | 'RANGE_INVALID';

/** One served request, for logs. */
export interface RequestEvent {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly error?: string;
}

export interface HandlerOptions {
  readonly auth?: Authenticator;
  /** Re-list the snapshots at most this often (default 2000 ms). */
  readonly refreshMs?: number;
  /** Plaintext window of a blob read (bounds memory per request; default 4 MiB). */
  readonly windowBytes?: number;
  /** Shared slots every blob read takes its windows from (bounds the memory of all requests together). */
  readonly rings?: ReadRings;
  /** Codec pool decoding the windows read through `rings` (default: the repository's default pool). */
  readonly pool?: CodecPool;
  /**
   * Disconnect a client that takes no bytes of a pending blob write for this long (its
   * window slots go back to the other requests); 0 or absent: never. Only time spent with
   * a write pending counts: waiting for a free slot does not.
   */
  readonly idleTimeoutMs?: number;
  readonly onEvent?: (e: RequestEvent) => void;
}

const MAX_CACHED_MANIFESTS = 512;

/** A request handler serving `catalog` of `repo`. */
export function registryHandler(repo: Repository, catalog: RegistryCatalog, opts: HandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const manifests = new Map<string, Buffer>(); // digest -> verified bytes (small; bounded)
  const manifestBytes = async (ci: CatalogImage, signal: AbortSignal): Promise<Buffer> => {
    const img = ci.image;
    if (img.manifestBytes) return img.manifestBytes;
    let b = manifests.get(img.manifestDigest);
    if (!b) {
      b = await readBlob(repo, { snapshot: ci.snapshot, place: { digest: img.manifestDigest, size: img.manifestRange!.length, range: img.manifestRange!, mediaType: '' } }, { signal });
      if (manifests.size >= MAX_CACHED_MANIFESTS) manifests.delete(manifests.keys().next().value!);
      manifests.set(img.manifestDigest, b);
    }
    return b;
  };

  return (req, res) => {
    const t0 = performance.now();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const url = new URL(req.url ?? '/', 'http://registry');
    let bytes = 0;
    let errorCode: string | undefined;
    const send = (status: number, headers: Record<string, string | number>, body?: Buffer | string) => {
      const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...(buf && !('Content-Length' in headers) && { 'Content-Length': buf.length }), ...headers });
      if (buf && req.method !== 'HEAD') {
        bytes += buf.length;
        res.end(buf);
      } else {
        res.end();
      }
    };
    const fail = (status: number, code: RegistryErrorCode, message: string, detail?: unknown, headers: Record<string, string> = {}) => {
      errorCode = code;
      send(status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify({ errors: [{ code, message, detail: detail ?? null }] }));
    };
    const json = (v: unknown, headers: Record<string, string> = {}) => send(200, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(v));

    const handle = async (): Promise<void> => {
      const path = url.pathname;
      if (!path.startsWith('/v2')) return fail(404, 'NAME_UNKNOWN', 'not a registry v2 path');
      if (opts.auth && !(await opts.auth.check(req.headers.authorization))) {
        return fail(401, 'UNAUTHORIZED', 'authentication required', null, { 'WWW-Authenticate': opts.auth.challenge() });
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'UNSUPPORTED', `${req.method} is not supported: this registry is read-only (stowage serve)`, null, { Allow: 'GET, HEAD' });
      if (path === '/v2' || path === '/v2/') return send(200, { 'Content-Type': 'application/json' }, '{}');
      await catalog.refresh(opts.refreshMs ?? 2000);
      if (path === '/v2/_catalog') {
        const page = paginate(catalog.repositories(), url, '/v2/_catalog');
        if ('error' in page) return fail(400, 'PAGINATION_NUMBER_INVALID', page.error);
        return json({ repositories: page.items }, page.link ? { Link: page.link } : {});
      }
      const m = /^\/v2\/(.+)\/(tags\/list|manifests\/([^/]+)|blobs\/([^/]+))$/.exec(path);
      if (!m) {
        if (/^\/v2\/.+\/blobs\/uploads\/?/.test(path)) return fail(405, 'UNSUPPORTED', 'uploads are not supported: this registry is read-only (stowage serve)');
        return fail(404, 'NAME_UNKNOWN', `no such endpoint: ${path}`);
      }
      const name = decodeURIComponent(m[1]!);
      if (!isRepositoryName(name)) return fail(400, 'NAME_INVALID', `invalid repository name "${name}"`);
      if (!catalog.has(name)) return fail(404, 'NAME_UNKNOWN', `repository ${name} is not known (no image snapshot names it)`, { name });
      if (m[2] === 'tags/list') {
        const page = paginate(catalog.tags(name) ?? [], url, `/v2/${name}/tags/list`);
        if ('error' in page) return fail(400, 'PAGINATION_NUMBER_INVALID', page.error);
        return json({ name, tags: page.items }, page.link ? { Link: page.link } : {});
      }
      if (m[3] !== undefined) {
        const ref = decodeURIComponent(m[3]);
        if (!isDigest(ref) && !isTag(ref)) return fail(400, ref.includes(':') ? 'DIGEST_INVALID' : 'TAG_INVALID', `invalid manifest reference "${ref}"`);
        const ci = catalog.manifest(name, ref);
        if (!ci) return fail(404, 'MANIFEST_UNKNOWN', `manifest ${ref} of ${name} is not in any snapshot`, { name, reference: ref });
        const body = await manifestBytes(ci, ac.signal);
        const type = ci.image.manifestMediaType ?? manifestMediaTypeOf(body);
        if (!accepts(req.headers.accept, type))
          return fail(404, 'MANIFEST_UNKNOWN', `manifest ${ref} of ${name} is ${type}, which the request's Accept header leaves out`, { name, reference: ref, mediaType: type });
        return send(200, { 'Content-Type': type, 'Docker-Content-Digest': ci.image.manifestDigest, ETag: `"${ci.image.manifestDigest}"` }, body);
      }
      const digest = decodeURIComponent(m[4]!);
      if (!isDigest(digest)) return fail(400, 'DIGEST_INVALID', `invalid digest "${digest}"`);
      const src = catalog.blob(name, digest);
      if (!src) return fail(404, 'BLOB_UNKNOWN', `blob ${digest} is not part of any image of ${name}`, { digest });
      const size = blobSize(src);
      const base = { 'Docker-Content-Digest': digest, ETag: `"${digest}"`, 'Accept-Ranges': 'bytes', 'Cache-Control': 'max-age=31536000', 'Content-Type': 'application/octet-stream' };
      const range = parseRange(req.headers.range, size);
      if (range === 'invalid') return fail(416, 'RANGE_INVALID', `range ${req.headers.range} is not satisfiable for ${size} bytes`, null, { 'Content-Range': `bytes */${size}` });
      const [from, to] = range ?? [0, size];
      const status = range ? 206 : 200;
      const headers = { ...base, 'Content-Length': to - from, ...(range && { 'Content-Range': `bytes ${from}-${to - 1}/${size}` }) };
      if (req.method === 'HEAD') return send(status, headers);
      // bytes go out as they are read: headers first, then each window once the previous one
      // is written (its slot is reused only after the socket is done with it)
      const it = opts.rings
        ? blobWindows(repo, src, opts.rings, { from, to, signal: ac.signal, ...(opts.pool && { pool: opts.pool }) })
        : (async function* () {
            for await (const pieces of blobPieces(repo, src, { from, to, signal: ac.signal, ...(opts.windowBytes && { windowBytes: opts.windowBytes }) })) yield { pieces, release: () => undefined }; // fresh memory
          })();
      let cur = await it.next(); // an error before any byte still gets an error answer
      res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
      const idle = opts.idleTimeoutMs ?? 0;
      if (idle > 0) {
        // the socket's timer runs only while a write is pending (armed per window below);
        // node suppresses it while the client keeps taking bytes of that write
        res.on('timeout', () => {
          errorCode = `client took no bytes for ${idle} ms: disconnected`;
          res.destroy();
        });
      }
      let next: Promise<IteratorResult<BlobWindow>> | undefined;
      try {
        while (!cur.done) {
          const w = cur.value;
          for (const p of w.pieces) bytes += p.length;
          if (idle > 0) res.setTimeout(idle);
          const written = writeAll(res, w.pieces, ac.signal);
          next = it.next(); // read ahead while the socket takes this window
          next.catch(() => undefined);
          try {
            await written;
          } finally {
            if (idle > 0) res.setTimeout(0);
            w.release();
          }
          cur = await next;
          next = undefined;
        }
        res.end();
      } catch (err) {
        errorCode ??= errorText(err);
        res.destroy(err instanceof Error ? err : undefined); // the client sees a short body, never a complete wrong one
        // the window read ahead, if any, goes back to its slot; then the reader stops
        await next?.then(
          (r) => (r.done ? undefined : r.value.release()),
          () => undefined,
        );
        await it.return(undefined).catch(() => undefined);
      }
    };

    handle()
      .catch((err: unknown) => {
        if (res.headersSent) {
          errorCode ??= errorText(err);
          res.destroy();
          return;
        }
        if (isStowageError(err, 'ABORTED')) {
          errorCode = 'ABORTED';
          res.destroy();
          return;
        }
        fail(500, 'UNSUPPORTED', `stowage could not read this from the repository: ${err instanceof Error ? err.message : String(err)}`, isStowageError(err) ? { code: err.code } : null);
        errorCode = errorText(err);
      })
      .finally(() => {
        opts.onEvent?.({ method: req.method ?? '?', path: url.pathname, status: res.statusCode, bytes, ms: performance.now() - t0, ...(errorCode && { error: errorCode }) });
      });
  };
}

function errorText(err: unknown): string {
  return isStowageError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/** Writes `pieces`; resolves once the socket has taken the last of them (their memory may then be reused). */
function writeAll(res: ServerResponse, pieces: readonly Buffer[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StowageError('ABORTED', 'the client went away'));
    if (pieces.length === 0) return resolve();
    const onAbort = () => reject(new StowageError('ABORTED', 'the client went away'));
    signal.addEventListener('abort', onAbort, { once: true });
    for (let i = 0; i < pieces.length - 1; i++) res.write(pieces[i]!);
    res.write(pieces[pieces.length - 1]!, (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** True when an Accept header admits `type` (no header, `*\/*`, or the type listed). */
function accepts(accept: string | undefined, type: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  return types.some((t) => t === '' || t === '*/*' || t === 'application/*' || t === type.toLowerCase());
}

/** [from, to) of a single `bytes=` range; undefined when absent; 'invalid' when unsatisfiable. */
export function parseRange(h: string | undefined, size: number): [number, number] | undefined | 'invalid' {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'invalid';
    return [Math.max(0, size - n), size];
  }
  const from = Number(m[1]);
  const to = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  if (from >= size || to <= from) return 'invalid';
  return [from, to];
}

function paginate(all: string[], url: URL, path: string): { items: string[]; link?: string } | { error: string } {
  const nRaw = url.searchParams.get('n');
  const last = url.searchParams.get('last');
  let items = last ? all.filter((x) => x > last) : all;
  if (nRaw === null || nRaw === '') return { items };
  const n = Number(nRaw);
  if (!Number.isInteger(n) || n < 0) return { error: `invalid page size n=${nRaw}` };
  const more = items.length > n;
  items = items.slice(0, n);
  return more && items.length ? { items, link: `<${path}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"` } : { items };
}
