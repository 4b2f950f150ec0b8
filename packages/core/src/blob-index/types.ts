/**
 * What the blob index says: where a blob is stored (the one entry codec is pack/entry.ts).
 */
import type { PackEntry } from '../pack/entry.js';

export type { BlobLocation } from '../pack/entry.js';

/** The blobs of one pack, as an index file lists them. */
export interface IndexedPack {
  /** Hex pack id. */
  readonly id: string;
  readonly entries: readonly PackEntry[];
}
