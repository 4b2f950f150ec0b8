/**
 * Where a blob is stored.
 */
import type { BlobType } from '../pack/format.js';

export interface BlobLocation {
  /** Hex id of the pack that holds the blob. */
  readonly pack: string;
  readonly type: BlobType;
  readonly compressed: boolean;
  /** Offset of the stored bytes in the pack. */
  readonly offset: number;
  /** Length of the stored bytes. */
  readonly length: number;
  /** Length of the plaintext. */
  readonly rawLength: number;
  /** Delta blobs: the base blob whose plaintext is the zstd dictionary (pack/format.ts). */
  readonly base?: Buffer | undefined;
  /** Framed blobs: where the blob lies in the plaintext of the frame at offset/length (pack/format.ts). */
  readonly frame?: import('../pack/format.js').FrameRef | undefined;
}

/** The blobs of one pack, as an index file lists them. */
export interface IndexedPack {
  /** Hex pack id. */
  readonly id: string;
  readonly entries: readonly import('../pack/format.js').PackEntry[];
}
