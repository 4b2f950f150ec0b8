/**
 * Restore into a registry: push one image of a snapshot to `docker://<host>/<repo>:<tag>`.
 *
 * Contract:
 * - Blobs first (layers, then the config), each checked with a HEAD first: a blob the
 *   registry has is skipped. A blob is uploaded monolithically (POST, then PUT with the
 *   bytes and `?digest=`) when it is at most `chunkBytes`, else in chunks (PATCH with
 *   `Content-Range`, following each `Location`, then PUT `?digest=`); a registry that
 *   announces `OCI-Chunk-Min-Length` gets chunks at least that long.
 * - The bytes stream from the repository (each repository blob checked against its id; a
 *   whole blob also against its digest before its last bytes leave); the registry checks
 *   the digest again when the upload completes.
 * - The manifest goes last (`PUT /v2/<repo>/manifests/<tag>` with its media type): until
 *   then nothing is tagged, so a failed push leaves no half-pushed image under the tag;
 *   the upload session of a failed blob is cancelled (DELETE), best effort.
 * - The pushed image has the digests of the original: an OCI archive's manifest bytes are
 *   pushed unchanged; a docker-archive's generated manifest (image/served.ts) is pushed.
 *   The registry's `Docker-Content-Digest` is checked against it (REGISTRY otherwise).
 */
import { StowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { manifestMediaTypeOf, type BlobPlace, type ServedImage } from '../image/served.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { blobPieces, readBlob } from './blob-reader.js';
import { RegistryClient, discard, errorOf, type ClientOptions } from './client.js';

export interface PushTarget {
  readonly host: string;
  readonly repository: string;
  /** Tag to put the manifest under (default: pushed by digest only). */
  readonly tag?: string;
}

export interface PushProgress {
  readonly op: 'push';
  readonly done: number;
  readonly total: number;
}

export interface PushOptions extends ClientOptions {
  /** Blobs larger than this are uploaded in chunks of this size (default 64 MiB). */
  readonly chunkBytes?: number;
  readonly progress?: (p: PushProgress) => void;
}

export interface PushResult {
  readonly manifestDigest: string;
  readonly mediaType: string;
  readonly blobsPushed: number;
  readonly blobsSkipped: number;
  readonly bytesPushed: number;
  readonly chunkedUploads: number;
}

export async function pushImage(repo: Repository, snap: Snapshot, image: ServedImage, target: PushTarget, opts: PushOptions = {}): Promise<PushResult> {
  const client = new RegistryClient(target.host, opts);
  const scope = `repository:${target.repository}:pull,push`;
  const name = target.repository;
  const seen = new Set<string>();
  const blobs = [...image.layers, image.config].filter((b) => !seen.has(b.digest) && seen.add(b.digest));
  const total = blobs.reduce((a, b) => a + b.size, 0);
  let done = 0;
  let pushed = 0;
  let skipped = 0;
  let bytesPushed = 0;
  let chunked = 0;
  for (const b of blobs) {
    opts.signal?.throwIfAborted();
    const head = await client.request(`/v2/${name}/blobs/${b.digest}`, { method: 'HEAD', scope });
    await discard(head);
    if (head.status === 200) {
      skipped++;
    } else if (head.status === 404) {
      const how = await uploadBlob(client, repo, snap, name, b, scope, opts);
      if (how === 'chunked') chunked++;
      pushed++;
      bytesPushed += b.size;
    } else {
      throw new StowageError('REGISTRY', `${target.host}: HEAD of blob ${b.digest} answered HTTP ${head.status}`);
    }
    done += b.size;
    opts.progress?.({ op: 'push', done, total });
  }
  const bytes =
    image.manifestBytes ??
    (await readBlob(
      repo,
      { snapshot: snap, place: { digest: image.manifestDigest, size: image.manifestRange!.length, range: image.manifestRange!, mediaType: '' } },
      opts.signal ? { signal: opts.signal } : {},
    ));
  const mediaType = image.manifestMediaType ?? manifestMediaTypeOf(bytes);
  const ref = target.tag ?? image.manifestDigest;
  const res = await client.request(`/v2/${name}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': mediaType }, body: bytes, scope });
  if (res.status !== 201 && res.status !== 200) throw new StowageError('REGISTRY', `${target.host}: the manifest of ${name}:${ref} was refused: ${await errorOf(res)}`);
  const digest = res.headers['docker-content-digest'];
  await discard(res);
  if (typeof digest === 'string' && digest !== image.manifestDigest) throw new StowageError('REGISTRY', `${target.host}: the registry stored the manifest as ${digest}, not ${image.manifestDigest}`);
  return { manifestDigest: image.manifestDigest, mediaType, blobsPushed: pushed, blobsSkipped: skipped, bytesPushed, chunkedUploads: chunked };
}

async function uploadBlob(client: RegistryClient, repo: Repository, snap: Snapshot, name: string, b: BlobPlace, scope: string, opts: PushOptions): Promise<'monolithic' | 'chunked'> {
  const start = await client.request(`/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': 0 }, scope });
  if (start.status !== 202) throw new StowageError('REGISTRY', `${client.host}: starting the upload of ${b.digest} was refused: ${await errorOf(start)}`);
  await discard(start);
  let location = locationOf(client, start.headers.location, b.digest);
  const minChunk = Number(start.headers['oci-chunk-min-length'] ?? 0) || 0;
  const chunkBytes = Math.max(opts.chunkBytes ?? 64 * 1024 * 1024, minChunk);
  const readOpts = opts.signal ? { signal: opts.signal } : {};
  const piecesOf = (from?: number, to?: number) =>
    async function* () {
      for await (const pieces of blobPieces(repo, { snapshot: snap, place: b }, { ...readOpts, ...(from !== undefined && { from }), ...(to !== undefined && { to }) })) yield* pieces;
    };
  try {
    if (b.size <= chunkBytes) {
      const put = withDigest(location, b.digest);
      const res = await client.request(put, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': b.size }, body: piecesOf(), scope });
      if (res.status !== 201) throw new StowageError('REGISTRY', `${client.host}: the upload of ${b.digest} was refused: ${await errorOf(res)}`);
      await discard(res);
      return 'monolithic';
    }
    for (let from = 0; from < b.size; from += chunkBytes) {
      const to = Math.min(b.size, from + chunkBytes);
      const res = await client.request(location, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': to - from, 'Content-Range': `${from}-${to - 1}` },
        body: piecesOf(from, to),
        scope,
      });
      if (res.status !== 202) throw new StowageError('REGISTRY', `${client.host}: chunk ${from}-${to - 1} of ${b.digest} was refused: ${await errorOf(res)}`);
      await discard(res);
      location = locationOf(client, res.headers.location, b.digest, location);
    }
    const res = await client.request(withDigest(location, b.digest), { method: 'PUT', headers: { 'Content-Length': 0 }, scope });
    if (res.status !== 201) throw new StowageError('REGISTRY', `${client.host}: completing the upload of ${b.digest} was refused: ${await errorOf(res)}`);
    await discard(res);
    return 'chunked';
  } catch (err) {
    await client
      .request(location, { method: 'DELETE', scope })
      .then(discard)
      .catch(() => undefined);
    throw err;
  }
}

function locationOf(client: RegistryClient, loc: string | undefined, digest: string, prev?: URL): URL {
  if (!loc) {
    if (prev) return prev;
    throw new StowageError('REGISTRY', `${client.host}: the upload of ${digest} got no Location`);
  }
  return client.url(loc);
}

function withDigest(u: URL, digest: string): URL {
  const out = new URL(u);
  out.searchParams.set('digest', digest);
  return out;
}
