/**
 * Snapshot an image from a registry (`docker://<host>/<repo>:<tag>`) or an OCI image layout
 * (`oci:<dir>[:<tag>]`): the image is composed into an OCI archive (oci-layout, index.json,
 * blobs/sha256/...) and stored as an OCI archive snapshot with its facts, so every other
 * command (ls, restore, serve, push) treats it like a snapshotted `oci-archive:` file.
 *
 * Contract:
 * - The manifest is fetched with an Accept list of OCI and docker schema 2 manifests and
 *   indexes; an index (multi-platform) is resolved to the manifest of `platform` (default
 *   the host's, e.g. linux/amd64); any other media type (docker schema 1, artifacts) is
 *   UNSUPPORTED_FORMAT. The manifest's bytes are checked against the digest asked for (a
 *   digest reference) or the one the registry states.
 * - Blobs (config, layers) the repository already holds (in any image snapshot) by digest
 *   are not downloaded: they are read from the repository (verified). The others are
 *   downloaded to a temp directory first, each checked against its digest and size (CORRUPT
 *   when a registry answers with other bytes), so a failed pull stores nothing in the
 *   repository; the temp directory is removed either way.
 * - The archive names the image by `org.opencontainers.image.ref.name` = `<repo>:<tag>` and
 *   `io.containerd.image.name` = `<host>/<repo>:<tag>`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StowageError, corrupt } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../image/served.js';
import { snapshotStream, type SnapshotOptions } from '../snapshot/create.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { blobPieces } from './blob-reader.js';
import { RegistryCatalog, type BlobSource } from './catalog.js';
import { RegistryClient, discard, errorOf, type ClientOptions } from './client.js';
import { ownedPieces, tarStream, type TarEntry } from './tar-writer.js';
import type { ImageLocation } from './transport.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
  readonly annotations?: Record<string, string>;
}

export interface PullOptions extends ClientOptions, Pick<SnapshotOptions, 'name' | 'tags' | 'hostname' | 'workers' | 'delta' | 'basis'> {
  /** "os/arch[/variant]" of an index's manifest (default the host's). */
  readonly platform?: string;
  /** Where downloads wait until verified (default the OS temp dir). */
  readonly tmpDir?: string;
  readonly progress?: ProgressFn;
}

export interface PullResult {
  readonly snapshot: Snapshot;
  readonly manifestDigest: string;
  /** The index the manifest was chosen from, if any. */
  readonly indexDigest?: string;
  readonly platform?: string;
  readonly blobsDownloaded: number;
  readonly bytesDownloaded: number;
  /** Blobs read from the repository instead of downloaded. */
  readonly blobsFromRepository: number;
}

const ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');
const MANIFESTS = [OCI_MANIFEST, DOCKER_MANIFEST];
const INDEXES = [OCI_INDEX, DOCKER_MANIFEST_LIST];
const MAX_MANIFEST = 4 * 1024 * 1024;
/** Blobs downloading at once (skopeo's default is 6; the machine here has 2 cores). */
const PARALLEL_DOWNLOADS = 3;

/** The host's platform as OCI names it: linux/amd64, linux/arm64, linux/arm/v7... */
export function hostPlatform(): string {
  const arch = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  return `linux/${arch}`;
}

/** One image to compose: its manifest bytes and where each blob comes from. */
interface Composed {
  readonly name: string;
  readonly refNames: { readonly ref: string; readonly full: string };
  readonly manifest: { readonly bytes: Buffer; readonly digest: string; readonly mediaType: string };
  readonly blobs: readonly Descriptor[];
  readonly indexDigest?: string;
  readonly platform?: string;
}

export async function snapshotFromLocation(repo: Repository, loc: ImageLocation, opts: PullOptions = {}): Promise<PullResult> {
  if (loc.kind === 'docker') return snapshotFromRegistry(repo, loc, opts);
  if (loc.kind === 'oci') return snapshotFromLayout(repo, loc.dir, loc.tag, opts);
  throw new StowageError('INVALID_ARGUMENT', `${loc.kind}:${loc.file} is an archive: snapshot the file itself (stowage snapshot ${loc.file})`);
}

/** `docker://host/repo:tag`: fetch, verify, compose, snapshot. */
export async function snapshotFromRegistry(repo: Repository, loc: Extract<ImageLocation, { kind: 'docker' }>, opts: PullOptions = {}): Promise<PullResult> {
  const client = new RegistryClient(loc.host, opts);
  const scope = `repository:${loc.repository}:pull`;
  const ref = loc.digest ?? loc.tag ?? 'latest';
  const shown = `${loc.host}/${loc.repository}${loc.digest ? `@${loc.digest}` : `:${ref}`}`;
  const getManifest = async (reference: string, expected?: string) => {
    const res = await client.request(`/v2/${loc.repository}/manifests/${reference}`, { headers: { Accept: ACCEPT }, scope });
    if (res.status === 404) throw new StowageError('NOT_FOUND', `${shown}: no such image in the registry (${await errorOf(res)})`);
    if (res.status !== 200) throw new StowageError('REGISTRY', `${shown}: the manifest request answered ${await errorOf(res)}`);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > MAX_MANIFEST) throw new StowageError('REGISTRY', `${shown}: the manifest is larger than ${MAX_MANIFEST} bytes`);
      chunks.push(c as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const stated = expected ?? (typeof res.headers['docker-content-digest'] === 'string' ? res.headers['docker-content-digest'] : undefined);
    if (stated && stated.startsWith('sha256:') && stated !== digest) throw corrupt(`${shown}: the registry answered a manifest with ${digest}, not ${stated}`);
    const mediaType = mediaTypeOf(bytes, String(res.headers['content-type'] ?? ''));
    return { bytes, digest, mediaType };
  };
  let manifest = await getManifest(ref, loc.digest);
  let indexDigest: string | undefined;
  let platform: string | undefined;
  if (INDEXES.includes(manifest.mediaType)) {
    indexDigest = manifest.digest;
    const chosen = choosePlatform(manifest.bytes, opts.platform ?? hostPlatform(), shown);
    platform = chosen.platform;
    manifest = await getManifest(chosen.digest, chosen.digest);
    if (INDEXES.includes(manifest.mediaType)) throw new StowageError('UNSUPPORTED_FORMAT', `${shown}: an index inside an index is not supported`);
  }
  if (!MANIFESTS.includes(manifest.mediaType)) throw unsupported(shown, manifest.mediaType);
  const blobs = blobsOf(manifest.bytes, shown);
  const tagPart = loc.digest ? `@${loc.digest}` : `:${ref}`;
  const composed: Composed = {
    name: opts.name ?? loc.repository,
    refNames: { ref: `${loc.repository}${tagPart}`, full: `${loc.host}/${loc.repository}${tagPart}` },
    manifest,
    blobs,
    ...(indexDigest && { indexDigest }),
    ...(platform && { platform }),
  };
  return composeAndSnapshot(repo, composed, `docker://${shown}`, opts, async (d, file) => {
    let url: string | URL = `/v2/${loc.repository}/blobs/${d.digest}`;
    for (let hops = 0; ; hops++) {
      const res = await client.request(url, { scope });
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location && hops < 5) {
        await discard(res);
        url = client.url(res.headers.location);
        continue;
      }
      if (res.status === 404) throw new StowageError('NOT_FOUND', `${shown}: the registry has no blob ${d.digest} the manifest names (${await errorOf(res)})`);
      if (res.status !== 200) throw new StowageError('REGISTRY', `${shown}: blob ${d.digest} answered ${await errorOf(res)}`);
      await downloadVerified(res.body, d, file, shown);
      return;
    }
  });
}

/** `oci:<dir>[:tag]`: the layout's manifest of that tag (or its only one). */
export async function snapshotFromLayout(repo: Repository, dir: string, tag: string | undefined, opts: PullOptions = {}): Promise<PullResult> {
  const shown = `oci:${dir}${tag ? `:${tag}` : ''}`;
  let index: { manifests?: Descriptor[] };
  try {
    index = JSON.parse(await fs.promises.readFile(path.join(dir, 'index.json'), 'utf8')) as typeof index;
  } catch (err) {
    throw new StowageError('INPUT_UNREADABLE', `${shown}: not an OCI image layout (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no index.json' : (err as Error).message})`);
  }
  const all = Array.isArray(index.manifests) ? index.manifests : [];
  const named = tag === undefined ? all : all.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag || m.annotations?.['org.opencontainers.image.ref.name']?.endsWith(`:${tag}`));
  if (named.length === 0) throw new StowageError('NOT_FOUND', `${shown}: the layout has no image${tag ? ` tagged ${tag}` : ''}`);
  if (named.length > 1 && tag === undefined) throw new StowageError('AMBIGUOUS_ID', `${shown}: the layout holds ${named.length} images: name one (oci:${dir}:<tag>)`);
  const readBlobFile = async (d: Descriptor) => {
    const bytes = await fs.promises.readFile(blobPath(dir, d.digest)).catch(() => {
      throw new StowageError('INPUT_UNREADABLE', `${shown}: blob ${d.digest} is missing from the layout`);
    });
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== d.digest) throw corrupt(`${shown}: blob ${d.digest} of the layout has ${digest}`);
    return bytes;
  };
  let desc = named[0]!;
  let bytes = await readBlobFile(desc);
  let mediaType = mediaTypeOf(bytes, desc.mediaType);
  let indexDigest: string | undefined;
  let platform: string | undefined;
  if (INDEXES.includes(mediaType)) {
    indexDigest = desc.digest;
    const chosen = choosePlatform(bytes, opts.platform ?? hostPlatform(), shown);
    platform = chosen.platform;
    desc = { mediaType: OCI_MANIFEST, digest: chosen.digest, size: 0 };
    bytes = await readBlobFile(desc);
    mediaType = mediaTypeOf(bytes, '');
  }
  if (!MANIFESTS.includes(mediaType)) throw unsupported(shown, mediaType);
  const refName = named[0]!.annotations?.['org.opencontainers.image.ref.name'];
  const repoName = opts.name ?? path.basename(path.resolve(dir));
  const composed: Composed = {
    name: repoName,
    refNames: { ref: refName ?? tag ?? 'latest', full: refName ?? tag ?? 'latest' },
    manifest: { bytes, digest: desc.digest, mediaType },
    blobs: blobsOf(bytes, shown),
    ...(indexDigest && { indexDigest }),
    ...(platform && { platform }),
  };
  return composeAndSnapshot(repo, composed, shown, opts, async (d, file) => {
    const src = fs.createReadStream(blobPath(dir, d.digest));
    await downloadVerified(src, d, file, shown).catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new StowageError('INPUT_UNREADABLE', `${shown}: blob ${d.digest} is missing from the layout`) : err;
    });
  });
}

async function composeAndSnapshot(repo: Repository, img: Composed, source: string, opts: PullOptions, fetchTo: (d: Descriptor, file: string) => Promise<void>): Promise<PullResult> {
  const catalog = new RegistryCatalog(repo);
  await catalog.refresh();
  const tmp = await fs.promises.mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'stowage-pull-'));
  try {
    const local = new Map<string, BlobSource>();
    const files = new Map<string, string>();
    let downloaded = 0;
    let bytesDownloaded = 0;
    const seen = new Set<string>();
    const unique = img.blobs.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
    const total = unique.reduce((a, d) => a + d.size, 0);
    let done = 0;
    // blobs already stored are read from the repository; the others download, a few at once
    const missing: Descriptor[] = [];
    for (const d of unique) {
      const have = catalog.anyBlob(d.digest);
      if (have && ('bytes' in have ? have.bytes.length : have.place.size) === d.size) local.set(d.digest, have);
      else missing.push(d);
    }
    for (const d of unique) if (local.has(d.digest)) done += d.size;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length) {
        const d = missing[next++]!;
        opts.signal?.throwIfAborted();
        const file = path.join(tmp, d.digest.replace(':', '-'));
        await fetchTo(d, file);
        files.set(d.digest, file);
        downloaded++;
        bytesDownloaded += d.size;
        done += d.size;
        opts.progress?.({ op: 'download', done, total });
      }
    };
    const workers = Array.from({ length: Math.min(PARALLEL_DOWNLOADS, missing.length) }, worker);
    const settled = await Promise.allSettled(workers);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const refAnn = { 'org.opencontainers.image.ref.name': img.refNames.ref, ...(img.refNames.full !== img.refNames.ref && { 'io.containerd.image.name': img.refNames.full }) };
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length, annotations: refAnn }] }),
    );
    const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const once = (b: Buffer) =>
      async function* () {
        yield b;
      };
    const entries: TarEntry[] = [
      { name: 'oci-layout', size: layout.length, data: once(layout) },
      { name: 'index.json', size: index.length, data: once(index) },
      { name: blobName(img.manifest.digest), size: img.manifest.bytes.length, data: once(img.manifest.bytes) },
      ...unique.map((d): TarEntry => ({
        name: blobName(d.digest),
        size: d.size,
        data: files.has(d.digest)
          ? () => fs.createReadStream(files.get(d.digest)!, { highWaterMark: 1024 * 1024 })
          : async function* () {
              for await (const pieces of blobPieces(repo, local.get(d.digest)!, opts.signal ? { signal: opts.signal } : {})) yield* pieces;
            },
      })),
    ];
    const snapshot = await snapshotStream(
      repo,
      ownedPieces(tarStream(entries)),
      { kind: 'stdin', path: source },
      {
        name: img.name,
        format: 'oci',
        ...(opts.tags && { tags: opts.tags }),
        ...(opts.hostname && { hostname: opts.hostname }),
        ...(opts.workers !== undefined && { workers: opts.workers }),
        ...(opts.delta !== undefined && { delta: opts.delta }),
        ...(opts.basis !== undefined && { basis: opts.basis }),
        ...(opts.signal && { signal: opts.signal }),
        ...(opts.progress && { progress: opts.progress }),
      },
    );
    return {
      snapshot,
      manifestDigest: img.manifest.digest,
      ...(img.indexDigest && { indexDigest: img.indexDigest }),
      ...(img.platform && { platform: img.platform }),
      blobsDownloaded: downloaded,
      bytesDownloaded,
      blobsFromRepository: local.size,
    };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

async function downloadVerified(src: Readable, d: Descriptor, file: string, shown: string): Promise<void> {
  const hash = createHash(d.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  let n = 0;
  await pipeline(
    src,
    async function* (chunks: AsyncIterable<Buffer | string>) {
      for await (const c of chunks) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        n += b.length;
        if (n > d.size) throw corrupt(`${shown}: blob ${d.digest} is longer than the ${d.size} bytes the manifest states`);
        hash.update(b);
        yield b;
      }
    },
    fs.createWriteStream(file, { flags: 'wx' }),
  );
  const got = `${d.digest.split(':')[0]}:${hash.digest('hex')}`;
  if (n !== d.size) throw corrupt(`${shown}: blob ${d.digest}: got ${n} bytes, the manifest states ${d.size}`);
  if (got !== d.digest) throw corrupt(`${shown}: the bytes of blob ${d.digest} have ${got}: nothing was stored`);
}

function mediaTypeOf(bytes: Buffer, contentType: string): string {
  let doc: { mediaType?: unknown; manifests?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new StowageError('UNSUPPORTED_FORMAT', `the manifest is not JSON (Content-Type ${contentType || 'none'})`);
  }
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  if (doc.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  const ct = contentType.split(';')[0]!.trim();
  if (ct && ct !== 'application/json' && ct !== 'application/octet-stream') return ct;
  return Array.isArray(doc.manifests) && !Array.isArray(doc.layers) ? OCI_INDEX : OCI_MANIFEST;
}

function unsupported(shown: string, mediaType: string): StowageError {
  return new StowageError('UNSUPPORTED_FORMAT', `${shown}: manifest media type ${mediaType} is not supported (OCI image manifests and indexes, docker schema 2 manifests and lists are)`);
}

function blobsOf(bytes: Buffer, shown: string): Descriptor[] {
  const doc = JSON.parse(bytes.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
  const ok = (d: unknown): d is Descriptor =>
    typeof d === 'object' &&
    d !== null &&
    typeof (d as Descriptor).digest === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test((d as Descriptor).digest) &&
    Number.isSafeInteger((d as Descriptor).size) &&
    (d as Descriptor).size >= 0;
  if (!ok(doc.config) || !Array.isArray(doc.layers) || !doc.layers.every(ok))
    throw new StowageError('UNSUPPORTED_FORMAT', `${shown}: the manifest has no valid config and layers descriptors (sha256 digests and sizes)`);
  for (const l of doc.layers)
    if (/nondistributable|foreign/.test(l.mediaType ?? '')) throw new StowageError('UNSUPPORTED_FORMAT', `${shown}: layer ${l.digest} is a non-distributable (foreign) layer`);
  return [doc.config, ...doc.layers];
}

function choosePlatform(bytes: Buffer, want: string, shown: string): { digest: string; platform: string } {
  const doc = JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] };
  const list = (doc.manifests ?? []).filter((m) => typeof m.digest === 'string' && m.platform);
  const name = (m: Descriptor) => [m.platform!.os, m.platform!.architecture, ...(m.platform!.variant ? [m.platform!.variant] : [])].join('/');
  const [os_, arch, variant] = want.split('/');
  const hit = list.find((m) => m.platform!.os === os_ && m.platform!.architecture === arch && (variant === undefined || m.platform!.variant === variant));
  if (!hit) throw new StowageError('NOT_FOUND', `${shown}: the index has no image for platform ${want} (it has ${list.map(name).join(', ') || 'none'}); choose one with --platform`);
  return { digest: hit.digest, platform: name(hit) };
}

function blobName(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return path.join(dir, 'blobs', alg!, hex!);
}
