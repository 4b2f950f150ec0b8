/**
 * Image facts: what a docker-archive or an OCI image archive says about itself, read
 * from the top-level members the tar splitter reported (their byte ranges in the
 * archive, and the captured bytes of small metadata files). No layer is read here.
 *
 * - docker-archive (`docker save`, `skopeo copy ... docker-archive:`): manifest.json lists
 *   per image Config, RepoTags and Layers (paths in the archive). A layer's digest is its
 *   file name when that is a digest (`<hex>.tar`, `blobs/sha256/<hex>`), else, for an
 *   uncompressed layer, the config's rootfs.diff_ids entry (the digest of the layer tar).
 * - OCI image layout in a tar (`oci-archive:`): index.json -> manifest blob (or nested
 *   index) -> config and layers, each a descriptor {mediaType, digest, size} naming a
 *   blob `blobs/<alg>/<hex>`. Compressed (gzip, zstd) layers are opaque blobs: their
 *   digest is the blob's name.
 *
 * An archive that looks like an image but is not a complete one (a layer named by its
 * manifest is missing, a metadata file is not valid JSON, a small blob does not match
 * its digest) gets `warnings`; the caller then stores it as a plain tar.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path/posix';
import type { DigestedRange } from '../hash/range-hasher.js';
import type { ArchiveMember } from '../split/events.js';
import { isTag, parseImageRef, shortRepository } from './ref.js';

/** A byte range of the archive holding one member's data. */
export interface ByteRange {
  /** Path of the member in the archive (after following links). */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export interface LayerFact extends ByteRange {
  /** `sha256:<hex>` of the layer blob as stored in the archive, when the archive says it. */
  readonly digest?: string;
  /** The uncompressed layer's digest from the config (rootfs.diff_ids), when given. */
  readonly diffId?: string;
  readonly mediaType: string;
  /** Size as the manifest states it (docker-archive: the member's size). */
  readonly size: number;
  /** The compression the layer blob's first bytes announce: such a layer is stored as an opaque blob, not file by file. */
  readonly compression?: 'gzip' | 'zstd' | 'bzip2' | 'xz';
}

export interface ImageEntry {
  /** Repository tags or reference names (RepoTags; OCI ref.name annotations). */
  readonly names: readonly string[];
  /** OCI: the digest of the image manifest (docker-archives have no registry manifest). */
  readonly manifestDigest?: string;
  readonly configDigest?: string;
  readonly manifest?: ByteRange;
  readonly config?: ByteRange;
  /** "os/architecture[/variant]" from the config. */
  readonly platform?: string;
  readonly layers: readonly LayerFact[];
}

export interface ImageFacts extends ImageEntry {
  readonly kind: 'docker' | 'oci';
  /** Further images in the same archive (docker save of several images, multi-platform indexes). */
  readonly others?: readonly ImageEntry[];
  /** Why the archive is not a complete, consistent image (then it is stored as a plain tar). */
  readonly warnings?: readonly string[];
  /** True when the archive starts as an image archive but ends before its manifest (cut short). */
  readonly incomplete?: boolean;
}

/** A blob whose SHA-256 (or SHA-512) the archive states, with where it lies (hash/range-hasher.ts). */
export type { DigestedRange };

const OCI_INDEX = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
const MAX_INDEX_DEPTH = 4;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/**
 * The image facts of an archive from its top-level members, or undefined when it is
 * not an image archive at all (no docker manifest.json, no OCI layout).
 */
export function imageFacts(members: readonly ArchiveMember[]): ImageFacts | undefined {
  // the whole archive's paths are looked up only for an image: a plain tar (a rootfs of 12,000
  // members) made a map of every normalized path at the end of its snapshot, ~50 ms and enough
  // surviving strings for V8 to double its young generation (~10 MB at the snapshot's peak)
  if (topMember(members, 'oci-layout') && topMember(members, 'index.json')) return ociFacts(new Archive(members));
  const manifest = topMember(members, 'manifest.json');
  if (manifest) {
    const parsed = parseJson(manifest.data);
    // a manifest.json that is not a docker one is just a file in a plain tar
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((e) => isObject(e) && 'Config' in e && 'Layers' in e)) return dockerFacts(new Archive(members), parsed as DockerEntry[]);
  }
  const started = startedAsImage(members);
  if (started) {
    const what = started === 'docker' ? 'a docker-archive' : 'an OCI image layout (docker save 25+, oci-archive)';
    const needs = started === 'docker' ? 'manifest.json' : 'index.json and oci-layout';
    return {
      kind: started,
      names: [],
      layers: [],
      incomplete: true,
      warnings: [`the archive starts as ${what} but has no ${needs}: an incomplete image archive (did the program writing it, e.g. docker save, stop early?)`],
    };
  }
  return undefined;
}

/** Names of the first members of `docker save` (legacy layout) and of OCI image layouts. */
const DOCKER_FIRST = /^[0-9a-f]{64}(\.json|\.tar|\/(VERSION|json|layer\.tar)?)?$/;
const OCI_FIRST = /^(blobs(\/sha(256|512)(\/[0-9a-f]{64,128})?)?\/?|oci-layout|index\.json)$/;

/**
 * The kind of image archive the first members announce (up to 4 of them, all matching),
 * or undefined: how an archive cut short (a `docker save` that died) is still recognised.
 */
export function startedAsImage(members: readonly ArchiveMember[]): 'docker' | 'oci' | undefined {
  const first: string[] = [];
  for (let i = 0; i < members.length && first.length < 4; i++) {
    const n = normalize(members[i]!.name);
    if (n !== '' && n !== '.') first.push(n);
  }
  if (first.length === 0) return undefined;
  if (first.every((n) => DOCKER_FIRST.test(n))) return 'docker';
  if (first.every((n) => OCI_FIRST.test(n)) && first.some((n) => n.startsWith('blobs'))) return 'oci';
  return undefined;
}

/** Every image name in the facts (all images of the archive). */
export function imageNames(f: ImageFacts): string[] {
  return [...new Set([...f.names, ...(f.others ?? []).flatMap((o) => o.names)])];
}

/**
 * The repository of the archive's first image name, without tag or digest, in docker's
 * familiar form ("docker.io/library/app:v5" -> "app", "corpus/deb:v1" -> "corpus/deb"):
 * the default snapshot name of an image archive, so that a series of `docker save` files
 * groups by image. Undefined when the archive names no image, or only a bare tag (an OCI
 * ref.name like "v5").
 */
export function imageRepository(f: ImageFacts): string | undefined {
  for (const n of imageNames(f)) {
    if (isTag(n) && !n.includes('/') && !n.includes(':')) continue; // a bare tag (OCI ref.name "v5")
    const r = parseImageRef(n);
    if (r && (r.tag !== undefined || r.digest !== undefined)) return shortRepository(r.repository);
  }
  return undefined;
}

/** Every layer of every image, each once (by byte range), in archive-manifest order. */
export function allLayers(f: ImageFacts): LayerFact[] {
  const seen = new Set<string>();
  const out: LayerFact[] = [];
  for (const e of [f, ...(f.others ?? [])]) {
    for (const l of e.layers) {
      const k = `${l.offset}:${l.length}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(l);
    }
  }
  return out;
}

/**
 * The layer `ref` names: a digest (`sha256:<hex>`), its hex, a unique prefix of at least
 * 8 hex characters, a diff_id, or the layer's path in the archive. Undefined when none
 * matches; AMBIGUOUS when several do (the list is returned).
 */
export function findLayer(f: ImageFacts, ref: string): LayerFact | LayerFact[] | undefined {
  const layers = allLayers(f);
  const r = ref.trim().toLowerCase();
  const exact = layers.filter((l) => l.digest === r || l.digest === `sha256:${r}` || l.diffId === r || l.diffId === `sha256:${r}` || l.path === ref);
  if (exact.length) return exact.length === 1 ? exact[0] : exact;
  const hex = r.replace(/^sha(256|512):/, '');
  if (!/^[0-9a-f]{8,}$/.test(hex)) return undefined;
  const pre = layers.filter((l) => l.digest?.split(':')[1]?.startsWith(hex) || l.diffId?.split(':')[1]?.startsWith(hex));
  return pre.length === 0 ? undefined : pre.length === 1 ? pre[0] : pre;
}

/** The blobs whose digests a restore recomputes: manifests, configs and layers with a stated digest. */
export function digestedRanges(f: ImageFacts): DigestedRange[] {
  const seen = new Set<string>();
  const out: DigestedRange[] = [];
  const add = (kind: string, digest: string | undefined, r: ByteRange | undefined) => {
    if (!digest || !r || !DIGEST.test(digest)) return;
    const k = `${digest}@${r.offset}:${r.length}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ path: r.path, offset: r.offset, length: r.length, digest, what: `${kind} ${digest}` });
  };
  for (const e of [f, ...(f.others ?? [])]) {
    add('manifest', e.manifestDigest, e.manifest);
    add('config', e.configDigest, e.config);
    for (const l of e.layers) add('layer', l.digest, l);
  }
  return out.sort((a, b) => a.offset - b.offset);
}

// ---------------------------------------------------------------------------------------

interface DockerEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

function dockerFacts(archive: Archive, entries: DockerEntry[]): ImageFacts {
  const warnings: string[] = [];
  const images = entries.map((e, i) => dockerImage(archive, e, `manifest.json entry ${i}`, warnings));
  const [first, ...others] = images;
  return { kind: 'docker', ...first!, ...(others.length && { others }), ...(warnings.length && { warnings }) };
}

function dockerImage(archive: Archive, e: DockerEntry, where: string, warnings: string[]): ImageEntry {
  const names = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
  let configDigest: string | undefined;
  let config: ByteRange | undefined;
  let platform: string | undefined;
  let diffIds: string[] = [];
  if (typeof e.Config !== 'string') {
    warnings.push(`${where}: no Config`);
  } else {
    const m = archive.resolve(e.Config);
    if (!m) {
      warnings.push(`${where}: config ${e.Config} is not in the archive`);
    } else {
      config = { path: m.path, offset: m.member.offset, length: m.member.size };
      const named = digestFromName(m.path);
      const actual = m.member.data ? sha256(m.member.data) : undefined;
      if (named && actual && named !== actual) warnings.push(`config ${m.path} has ${actual}, not the digest its name states`);
      configDigest = named ?? actual;
      const cfg = m.member.data ? parseJson(m.member.data) : undefined;
      if (m.member.data && !isObject(cfg)) warnings.push(`config ${m.path} is not valid JSON`);
      if (isObject(cfg)) {
        platform = platformOf(cfg);
        const rootfs = cfg.rootfs;
        if (isObject(rootfs) && Array.isArray(rootfs.diff_ids)) diffIds = rootfs.diff_ids.map((d) => (typeof d === 'string' ? d : ''));
      }
    }
  }
  const layers: LayerFact[] = [];
  const layerPaths = Array.isArray(e.Layers) ? e.Layers : [];
  if (!Array.isArray(e.Layers)) warnings.push(`${where}: Layers is not a list`);
  layerPaths.forEach((p, i) => {
    if (typeof p !== 'string') return void warnings.push(`${where}: layer ${i} is not a path`);
    const m = archive.resolve(p);
    if (!m) return void warnings.push(`${where}: layer ${p} is not in the archive`);
    const diffId = diffIds[i] && DIGEST.test(diffIds[i]!) ? diffIds[i] : undefined;
    const compression = m.member.compression;
    const digest = digestFromName(m.path) ?? digestFromName(p) ?? (compression ? undefined : diffId);
    layers.push({
      path: m.path,
      offset: m.member.offset,
      length: m.member.size,
      ...(digest && { digest }),
      ...(diffId && { diffId }),
      mediaType: compression ? `${DOCKER_LAYER}.${compression}` : DOCKER_LAYER,
      size: m.member.size,
      ...(compression && { compression }),
    });
  });
  if (diffIds.length && diffIds.length !== layerPaths.length) warnings.push(`${where}: ${layerPaths.length} layers, but the config lists ${diffIds.length} diff_ids`);
  return { names, ...(configDigest && { configDigest }), ...(config && { config }), ...(platform && { platform }), layers };
}

// ---------------------------------------------------------------------------------------

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  annotations?: unknown;
  platform?: unknown;
}

function ociFacts(archive: Archive): ImageFacts {
  const warnings: string[] = [];
  const layout = parseJson(archive.get('oci-layout')?.data);
  if (!isObject(layout) || typeof layout.imageLayoutVersion !== 'string') warnings.push('oci-layout is not a valid image layout file');
  const index = parseJson(archive.get('index.json')?.data);
  const images: ImageEntry[] = [];
  if (!isObject(index) || !Array.isArray(index.manifests)) {
    warnings.push('index.json is not a valid image index');
  } else {
    walkIndex(archive, index.manifests as Descriptor[], [], 0, images, warnings);
    if (images.length === 0 && warnings.length === 0) warnings.push('index.json names no image manifest');
  }
  // docker save (25+) writes an OCI layout plus manifest.json: its RepoTags name the images too
  const docker = parseJson(archive.get('manifest.json')?.data);
  if (Array.isArray(docker) && images.length > 0) {
    const tags = docker.flatMap((e: unknown) => (isObject(e) && Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : []));
    const first = images[0]!;
    images[0] = { ...first, names: [...new Set([...first.names, ...tags])] };
  }
  const [first, ...others] = images;
  return { kind: 'oci', ...(first ?? { names: [], layers: [] }), ...(others.length && { others }), ...(warnings.length && { warnings }) };
}

function walkIndex(archive: Archive, descs: Descriptor[], names: string[], depth: number, images: ImageEntry[], warnings: string[]): void {
  for (const d of descs) {
    if (!isObject(d) || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
      warnings.push('an index entry has no valid digest');
      continue;
    }
    const refNames = [...names, ...annotationNames(d.annotations)];
    const blob = archive.blob(d.digest);
    if (!blob) {
      warnings.push(`manifest ${d.digest} named by the index is not in the archive`);
      continue;
    }
    if (!blob.member.data) {
      warnings.push(`manifest ${d.digest} is too large to read`);
      continue;
    }
    const actual = digestOf(d.digest, blob.member.data);
    if (actual !== d.digest) {
      warnings.push(`manifest blob ${blob.path} does not match its digest (it has ${actual})`);
      continue;
    }
    const doc = parseJson(blob.member.data);
    if (!isObject(doc)) {
      warnings.push(`manifest ${d.digest} is not valid JSON`);
      continue;
    }
    const mediaType = typeof d.mediaType === 'string' ? d.mediaType : typeof doc.mediaType === 'string' ? doc.mediaType : '';
    if (OCI_INDEX.includes(mediaType) || (Array.isArray(doc.manifests) && !Array.isArray(doc.layers))) {
      if (depth >= MAX_INDEX_DEPTH) warnings.push(`index ${d.digest}: indexes nested too deep`);
      else if (Array.isArray(doc.manifests)) walkIndex(archive, doc.manifests as Descriptor[], refNames, depth + 1, images, warnings);
      continue;
    }
    images.push(ociImage(archive, d.digest, { path: blob.path, offset: blob.member.offset, length: blob.member.size }, doc, refNames, warnings));
  }
}

function ociImage(archive: Archive, digest: string, manifest: ByteRange, doc: Record<string, unknown>, names: string[], warnings: string[]): ImageEntry {
  let configDigest: string | undefined;
  let config: ByteRange | undefined;
  let platform: string | undefined;
  const c = doc.config;
  if (!isObject(c) || typeof c.digest !== 'string' || !DIGEST.test(c.digest)) {
    warnings.push(`manifest ${digest}: no valid config descriptor`);
  } else {
    configDigest = c.digest;
    const b = archive.blob(c.digest);
    if (!b) {
      warnings.push(`config ${c.digest} is not in the archive`);
    } else {
      config = { path: b.path, offset: b.member.offset, length: b.member.size };
      if (b.member.data) {
        const actual = digestOf(c.digest, b.member.data);
        if (actual !== c.digest) warnings.push(`config blob ${b.path} does not match its digest (it has ${actual})`);
        const cfg = parseJson(b.member.data);
        if (isObject(cfg)) platform = platformOf(cfg);
      }
    }
  }
  const layers: LayerFact[] = [];
  if (!Array.isArray(doc.layers)) warnings.push(`manifest ${digest}: no layers list`);
  for (const l of Array.isArray(doc.layers) ? (doc.layers as Descriptor[]) : []) {
    if (!isObject(l) || typeof l.digest !== 'string' || !DIGEST.test(l.digest)) {
      warnings.push(`manifest ${digest}: a layer has no valid digest`);
      continue;
    }
    const b = archive.blob(l.digest);
    const mediaType = typeof l.mediaType === 'string' ? l.mediaType : 'application/vnd.oci.image.layer.v1.tar';
    if (!b) {
      // foreign (non-distributable) layers may legitimately be absent
      if (!/nondistributable|foreign/.test(mediaType)) warnings.push(`layer ${l.digest} is not in the archive`);
      continue;
    }
    const size = typeof l.size === 'number' ? l.size : b.member.size;
    if (size !== b.member.size) warnings.push(`layer ${l.digest}: the manifest says ${size} bytes, the archive holds ${b.member.size}`);
    layers.push({ path: b.path, offset: b.member.offset, length: b.member.size, digest: l.digest, mediaType, size, ...(b.member.compression && { compression: b.member.compression }) });
  }
  return { names: [...new Set(names)], manifestDigest: digest, manifest, ...(configDigest && { configDigest }), ...(config && { config }), ...(platform && { platform }), layers };
}

function annotationNames(a: unknown): string[] {
  if (!isObject(a)) return [];
  return ['io.containerd.image.name', 'org.opencontainers.image.ref.name'].map((k) => a[k]).filter((v): v is string => typeof v === 'string' && v !== '');
}

// ---------------------------------------------------------------------------------------

/** The archive's top-level members by normalized path (the last of a name wins, as tar extracts). */
class Archive {
  private readonly byPath = new Map<string, ArchiveMember>();

  constructor(members: readonly ArchiveMember[]) {
    for (const m of members) this.byPath.set(normalize(m.name), m);
  }

  has(p: string): boolean {
    return this.byPath.has(normalize(p));
  }

  get(p: string): ArchiveMember | undefined {
    return this.byPath.get(normalize(p));
  }

  /** The member holding the data at `p`, following symlinks and hard links (a few hops). */
  resolve(p: string): { path: string; member: ArchiveMember } | undefined {
    let cur = normalize(p);
    for (let hops = 0; hops < 8; hops++) {
      const m = this.byPath.get(cur);
      if (!m) return undefined;
      if (m.type === '2' && m.linkname !== undefined) cur = normalize(m.linkname.startsWith('/') ? m.linkname : path.join(path.dirname(cur), m.linkname));
      else if (m.type === '1' && m.linkname !== undefined) cur = normalize(m.linkname);
      else return m.type === '0' || m.type === '\0' || m.type === '7' ? { path: cur, member: m } : undefined;
    }
    return undefined;
  }

  blob(digest: string): { path: string; member: ArchiveMember } | undefined {
    const [alg, hex] = digest.split(':');
    return this.resolve(`blobs/${alg}/${hex}`);
  }
}

/**
 * The member whose normalized path is `name` (the last one, as Archive keeps it), normalizing
 * only the paths that contain `name`: normalizing drops components and never makes new text.
 */
function topMember(members: readonly ArchiveMember[], name: string): ArchiveMember | undefined {
  let found: ArchiveMember | undefined;
  for (const m of members) if (m.name.includes(name) && normalize(m.name) === name) found = m;
  return found;
}

function normalize(p: string): string {
  const n = path.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
  return n;
}

/** `sha256:<hex>` when the file name is a digest (`<hex>`, `<hex>.tar`, `<hex>.json`, `blobs/sha256/<hex>`). */
function digestFromName(p: string): string | undefined {
  const blob = /(?:^|\/)blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(p);
  if (blob && DIGEST.test(`${blob[1]}:${blob[2]}`)) return `${blob[1]}:${blob[2]}`;
  const base = /(?:^|\/)(?:sha256:)?([0-9a-f]{64})(?:\.tar|\.json|\.tar\.gz)?$/.exec(p);
  return base ? `sha256:${base[1]}` : undefined;
}

function digestOf(like: string, data: Uint8Array): string {
  const alg = like.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}

function sha256(data: Uint8Array): string {
  return digestOf('sha256:', data);
}

function platformOf(cfg: Record<string, unknown>): string | undefined {
  if (typeof cfg.os !== 'string' || typeof cfg.architecture !== 'string') return undefined;
  return [cfg.os, cfg.architecture, ...(typeof cfg.variant === 'string' ? [cfg.variant] : [])].join('/');
}

function parseJson(data: Uint8Array | undefined): unknown {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
