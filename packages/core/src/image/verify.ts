/**
 * Image checks on the restore path: the SHA-256 (or SHA-512) of every blob whose digest
 * an image archive states (layers, configs, OCI manifests), computed over byte ranges
 * of the output while it streams past, and compared with the digests at the end.
 */
import { RangeHasher, type DigestMismatch } from '../hash/range-hasher.js';
import { digestedRanges, type ImageFacts } from './facts.js';

export { RangeHasher, type DigestMismatch };

/** A hasher for the blobs an image snapshot's archive states digests of; undefined when there are none. */
export function imageRangeHasher(snap: { readonly image?: ImageFacts | undefined; readonly source: { readonly size: number } }): RangeHasher | undefined {
  if (!snap.image) return undefined;
  const ranges = digestedRanges(snap.image).filter((r) => r.offset + r.length <= snap.source.size);
  return ranges.length ? new RangeHasher(ranges) : undefined;
}

/** One line per mismatch: "layer sha256:ab.. (blobs/sha256/ab..): restored bytes have sha256:cd..". */
export function describeMismatches(bad: readonly DigestMismatch[]): string {
  return bad.map((m) => `${m.what} (${m.path}): restored bytes have ${m.actual}`).join('; ');
}
