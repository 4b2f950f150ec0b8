/**
 * What compressed layers cost: a gzip or zstd layer blob is stored as an opaque byte stream
 * (its files cannot be seen without decompressing it, and recompressing would not give the
 * same bytes back), so it dedupes only against identical compressed bytes, not file by file
 * as an uncompressed layer does. The remedy is to store images with uncompressed layers:
 * `docker save`, `skopeo copy --dest-decompress ... docker-archive:...`, or for an OCI
 * archive two skopeo steps (`--dest-decompress` into a dir:, then
 * `--dest-oci-accept-uncompressed-layers` into an oci-archive:; one step keeps the
 * compressed blobs). Both commands were checked with skopeo 1.9 on the corpus.
 */
import { allLayers, type ImageFacts } from './facts.js';

export interface CompressedLayers {
  /** Layers stored as opaque compressed blobs. */
  readonly layers: number;
  /** Of how many layers. */
  readonly ofLayers: number;
  /** Their bytes, as in the archive: bytes not deduplicated by file. */
  readonly bytes: number;
  /** The compressions seen ("gzip", "zstd"). */
  readonly compressions: string[];
}

/** The compressed layers of an image archive (undefined when none is compressed). */
export function compressedLayers(f: ImageFacts): CompressedLayers | undefined {
  const all = allLayers(f);
  const packed = all.filter((l) => l.compression !== undefined);
  if (packed.length === 0) return undefined;
  return {
    layers: packed.length,
    ofLayers: all.length,
    bytes: packed.reduce((n, l) => n + l.length, 0),
    compressions: [...new Set(packed.map((l) => l.compression!))].sort(),
  };
}

/** How to avoid the cost, for people (one line). */
export const UNCOMPRESSED_LAYERS_HINT =
  'snapshot the image with uncompressed layers, which dedupe file by file: skopeo copy --dest-decompress oci-archive:IN.tar docker-archive:OUT.tar:NAME:TAG (or, to keep OCI: skopeo copy --dest-decompress oci-archive:IN.tar dir:TMP, then skopeo copy --dest-oci-accept-uncompressed-layers dir:TMP oci-archive:OUT.tar)';
