/**
 * Naming images, not snapshots: an image reference (`<name>:<tag>`, `<name>@sha256:...`,
 * `<name>:<tag>@sha256:...`) selects the newest snapshot holding that image.
 *
 * Contract:
 * - Only references with a tag or a digest are image references (a bare word stays a
 *   snapshot id prefix or "latest" for resolveSnapshot).
 * - A tag matches the names the snapshot's image facts record (image/ref.ts imageNamesOf:
 *   RepoTags, OCI ref.name; a bare ref.name tag belongs to the snapshot's name), with
 *   docker.io defaults aside (`docker.io/library/debian:12` = `debian:12`).
 * - A digest matches an image's manifest digest (stored, or generated for a docker-archive:
 *   the digest `stowage serve` and a restore into a registry give it) or its config digest
 *   (the image id `docker images` shows), and the repository must be one of its names (an
 *   image without names: the snapshot's name, as `stowage serve` names it).
 * - Among matching snapshots the newest (time, then id) wins. Snapshots whose image facts
 *   carry warnings (incomplete images) are not images.
 */
import { imageRefsOf, parseImageRef, sameRepository, type ImageRef } from '../image/ref.js';
import { servedImages, type ServedImage } from '../image/served.js';
import type { Snapshot } from './manifest.js';

/** The image reference `ref` is, when it names a tag or a digest; undefined otherwise. */
export function asImageRef(ref: string): ImageRef | undefined {
  if (!ref.includes(':') && !ref.includes('@')) return undefined;
  const r = parseImageRef(ref);
  return r && (r.tag !== undefined || r.digest !== undefined) ? r : undefined;
}

/** True when one of `snap`'s images is `ref`. */
export function holdsImage(snap: Snapshot, ref: ImageRef): boolean {
  return imagesMatching(snap, ref).length > 0;
}

/** `snap`'s images that are `ref` (all its servable images when `ref` is undefined), first image first. */
export function imagesMatching(snap: Snapshot, ref: ImageRef | undefined): ServedImage[] {
  const f = snap.image;
  if (!f || f.warnings?.length) return [];
  if (!ref) return servedImages(f);
  const out: ServedImage[] = [];
  for (const img of servedImages(f)) {
    const names = imageRefsOf(img.names, snap.name); // as stowage serve names it
    const repoOk = names.some((n) => sameRepository(n.repository, ref.repository) && (ref.tag === undefined || n.tag === ref.tag));
    if (ref.digest !== undefined) {
      const digestOk = img.manifestDigest === ref.digest || img.config.digest === ref.digest;
      if (digestOk && repoOk) out.push(img);
    } else if (repoOk) {
      out.push(img);
    }
  }
  return out;
}

/** The newest of `snaps` (oldest first, as listSnapshots gives them) holding image `ref`. */
export function newestHolding(snaps: readonly Snapshot[], ref: ImageRef): Snapshot | undefined {
  for (let i = snaps.length - 1; i >= 0; i--) if (holdsImage(snaps[i]!, ref)) return snaps[i];
  return undefined;
}
