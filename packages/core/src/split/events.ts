/**
 * What a splitter reports about the input stream, in stream order. Every input byte
 * appears in exactly one 'content', 'glue' or 'reused' event, so concatenating them gives
 * the input back exactly, whatever the splitter understood of it.
 */
export type SplitEvent =
  /** Bytes of the current content unit (a file's data, or the whole input when raw). */
  | { readonly kind: 'content'; readonly bytes: Uint8Array }
  /** The current content unit is complete: cut its last chunk here. */
  | { readonly kind: 'end-content' }
  /** Structure bytes (tar headers, padding, PAX records): grouped, never chunked alone. */
  | { readonly kind: 'glue'; readonly bytes: Uint8Array }
  /** A good place to close the current group of glue (a nested archive starts or ends). */
  | { readonly kind: 'flush-glue' }
  /** The next content unit is the data of this regular file (name as in its archive, which may be a layer). */
  | {
      readonly kind: 'file';
      readonly name: string;
      readonly size: number;
      /**
       * The file's key in the delta basis, given by the producer (a tree snapshot, which keeps
       * no file map, numbers its files: no hash of the name); null when the producer knows the
       * file has no old version in the basis (no lookup, and no key unless a file map needs
       * one). Absent: the content writer computes the name's path key (object/file-map.ts
       * pathKey), which a file map's records must hold.
       */
      readonly key?: Buffer | null;
    }
  /** A top-level archive member (for image facts); `data` only for small metadata files. */
  | { readonly kind: 'member'; readonly member: ArchiveMember }
  /**
   * The data of top-level member `name` (`size` bytes, from 'reused' events) is not split:
   * the caller chose to reuse what an earlier snapshot stored for it (TarHooks.memberStart).
   */
  | { readonly kind: 'reuse'; readonly name: string; readonly size: number }
  /** Bytes of a member being reused: neither split nor stored. */
  | { readonly kind: 'reused'; readonly bytes: Uint8Array };

export interface ArchiveMember {
  readonly name: string;
  readonly type: string;
  /** Offset of the member's data in the input. */
  readonly offset: number;
  readonly size: number;
  /** True when the member's data was itself split as a tar (an uncompressed layer). */
  readonly nestedTar: boolean;
  readonly data?: Uint8Array;
  /** Link target of a hard link or symlink member. */
  readonly linkname?: string;
  /** The compression the member's first bytes announce (gzip, zstd, bzip2, xz magic). */
  readonly compression?: 'gzip' | 'zstd' | 'bzip2' | 'xz';
}

/** What a tar splitter asks its caller while it splits. */
export interface TarHooks {
  /**
   * A top-level regular member with data starts at input offset `offset`: return true to
   * have its data passed through as 'reused' events (after a 'reuse' event) instead of
   * being split.
   */
  memberStart?(name: string, offset: number, size: number): boolean;
}

/** A streaming splitter: push pieces, get events; views into a piece stay valid while the piece does. */
export interface Splitter {
  push(piece: Uint8Array, out: SplitEvent[]): void;
  end(out: SplitEvent[]): void;
}

/** The trivial splitter: the whole input is one content unit. */
export class RawSplitter implements Splitter {
  push(piece: Uint8Array, out: SplitEvent[]): void {
    if (piece.length) out.push({ kind: 'content', bytes: piece });
  }
  end(out: SplitEvent[]): void {
    out.push({ kind: 'end-content' });
  }
}
