/**
 * What `stowage serve` serves: the repository's image snapshots as registry repositories,
 * tags, manifests and blobs.
 *
 * Contract:
 * - Every image snapshot (an archive whose facts are complete) contributes its images;
 *   each image's names give its repositories and tags (image/ref.ts imageNamesOf); an
 *   image without names is served under a repository named after the snapshot.
 * - Snapshots are taken oldest first, so the latest snapshot holding a tag wins. Among the
 *   images of one snapshot holding the same tag (a multi-platform index), the one of
 *   `platform` (default linux/amd64) wins, else the first.
 * - Every snapshot is also a tag of its repositories: the first 12 hex characters of its
 *   id (listed), or any unique prefix of at least 4 (resolved, not listed).
 * - A manifest is found by tag or by digest; a blob (config, layer, or a manifest) only
 *   under a repository whose images name it (BLOB_UNKNOWN elsewhere, as distribution).
 * - `refresh` re-lists the snapshots and rebuilds when the list changed (new snapshots,
 *   forgotten ones); snapshot files are loaded once each.
 */
import type { Repository } from '../repository/repository.js';
import { loadSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { imageRefsOf } from '../image/ref.js';
import { servedImages, type BlobPlace, type ServedImage } from '../image/served.js';

export const ID_TAG_LENGTH = 12;

/** One image of one snapshot. */
export interface CatalogImage {
  readonly snapshot: Snapshot;
  readonly image: ServedImage;
}

/** Where a blob's bytes are: a range of a snapshot, or bytes in memory (a generated manifest). */
export type BlobSource = { readonly snapshot: Snapshot; readonly place: BlobPlace } | { readonly bytes: Buffer; readonly digest: string; readonly mediaType: string };

interface RepoEntry {
  readonly tags: Map<string, CatalogImage>;
  /** Snapshot id -> its first image here (id-prefix tags). */
  readonly snapshots: Map<string, CatalogImage>;
  readonly manifests: Map<string, CatalogImage>;
  readonly blobs: Set<string>;
}

export class RegistryCatalog {
  readonly #repo: Repository;
  readonly #platform: string;
  readonly #loaded = new Map<string, Snapshot>();
  #names = '';
  #repos = new Map<string, RepoEntry>();
  #blobs = new Map<string, BlobSource>();
  #refreshing: Promise<void> | undefined;
  #refreshedAt = 0;

  constructor(repo: Repository, opts: { platform?: string } = {}) {
    this.#repo = repo;
    this.#platform = opts.platform ?? 'linux/amd64';
  }

  /** Re-lists the snapshots (at most every `maxAgeMs`) and rebuilds when they changed. */
  async refresh(maxAgeMs = 0): Promise<void> {
    if (maxAgeMs > 0 && Date.now() - this.#refreshedAt < maxAgeMs) return;
    this.#refreshing ??= this.#rebuild().finally(() => {
      this.#refreshing = undefined;
      this.#refreshedAt = Date.now();
    });
    return this.#refreshing;
  }

  async #rebuild(): Promise<void> {
    const names = (await this.#repo.listNames('snapshot')).sort();
    const key = names.join(',');
    if (key === this.#names) return;
    const missing = names.filter((n) => !this.#loaded.has(n));
    const loaded = await Promise.all(missing.map((n) => loadSnapshot(this.#repo, n)));
    for (const s of loaded) this.#loaded.set(s.id, s);
    const live = new Set(names);
    for (const id of [...this.#loaded.keys()]) if (!live.has(id)) this.#loaded.delete(id);
    const snaps = [...this.#loaded.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
    const repos = new Map<string, RepoEntry>();
    const blobs = new Map<string, BlobSource>();
    const entry = (name: string) => {
      let e = repos.get(name);
      if (!e) repos.set(name, (e = { tags: new Map(), snapshots: new Map(), manifests: new Map(), blobs: new Set() }));
      return e;
    };
    for (const snap of snaps) {
      if (!snap.image) continue;
      const tagged = new Map<string, CatalogImage>(); // "repo\0tag" -> image, within this snapshot
      for (const image of servedImages(snap.image)) {
        const ci: CatalogImage = { snapshot: snap, image };
        for (const ref of imageRefsOf(image.names, snap.name)) {
          const e = entry(ref.repository);
          if (ref.tag !== undefined) {
            const k = `${ref.repository}\0${ref.tag}`;
            const prev = tagged.get(k);
            if (!prev || (prev.image.platform !== this.#platform && image.platform === this.#platform)) {
              tagged.set(k, ci);
              e.tags.set(ref.tag, ci);
            }
          }
          if (!e.snapshots.has(snap.id)) e.snapshots.set(snap.id, ci);
          e.manifests.set(image.manifestDigest, ci);
          e.blobs.add(image.manifestDigest);
          for (const b of [image.config, ...image.layers]) {
            e.blobs.add(b.digest);
            if (!blobs.has(b.digest)) blobs.set(b.digest, { snapshot: snap, place: b });
          }
          if (image.manifestBytes) blobs.set(image.manifestDigest, { bytes: image.manifestBytes, digest: image.manifestDigest, mediaType: image.manifestMediaType! });
          else if (image.manifestRange && !blobs.has(image.manifestDigest))
            blobs.set(image.manifestDigest, { snapshot: snap, place: { digest: image.manifestDigest, size: image.manifestRange.length, range: image.manifestRange, mediaType: '' } });
        }
      }
    }
    this.#repos = repos;
    this.#blobs = blobs;
    this.#names = key;
  }

  /** Repository names, sorted. */
  repositories(): string[] {
    return [...this.#repos.keys()].sort();
  }

  /** A repository's tags (names, then id prefixes), sorted; undefined for an unknown repository. */
  tags(name: string): string[] | undefined {
    const e = this.#repos.get(name);
    if (!e) return undefined;
    const ids = [...e.snapshots.keys()].map((id) => id.slice(0, ID_TAG_LENGTH)).filter((t) => !e.tags.has(t));
    return [...new Set([...e.tags.keys(), ...ids])].sort();
  }

  has(name: string): boolean {
    return this.#repos.has(name);
  }

  /** The image a tag or digest names in repository `name`. */
  manifest(name: string, ref: string): CatalogImage | undefined {
    const e = this.#repos.get(name);
    if (!e) return undefined;
    if (ref.includes(':')) return e.manifests.get(ref);
    const tagged = e.tags.get(ref);
    if (tagged) return tagged;
    if (!/^[0-9a-f]{4,64}$/.test(ref)) return undefined;
    const hits = [...e.snapshots.entries()].filter(([id]) => id.startsWith(ref));
    return hits.length === 1 ? hits[0]![1] : undefined;
  }

  /** Where blob `digest` is in any image snapshot (pulls reuse stored layers by digest). */
  anyBlob(digest: string): BlobSource | undefined {
    return this.#blobs.get(digest);
  }

  /** Where blob `digest` of repository `name` is, if its images name it. */
  blob(name: string, digest: string): BlobSource | undefined {
    return this.#repos.get(name)?.blobs.has(digest) ? this.#blobs.get(digest) : undefined;
  }
}
