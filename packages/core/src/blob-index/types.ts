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

/**
 * The blobs of one pack as raw slots (pack/entry.ts), as its trailer and an index file hold
 * them: what a write session keeps of its uploaded packs until their index file, with no
 * object per blob.
 */
export interface RawIndexedPack {
  /** Hex pack id. */
  readonly id: string;
  /** `slotCount` * ENTRY_BYTES bytes of slots, checked when the pack was built (PackWriter.finalize). */
  readonly slots: Buffer;
  readonly slotCount: number;
}

/** A pack's index entries, as objects or as raw slots. */
export type AnyIndexedPack = IndexedPack | RawIndexedPack;
