/**
 * Snapshot files: small immutable JSON documents; writing one is the commit point.
 *
 * A snapshot names its content by chunk-list blobs (chunk-list.ts), so the file stays
 * small whatever the input size. Its id is the BLAKE3 of the stored file.
 */
import { StowageError, corrupt } from '../errors.js';
import type { ImageFacts } from '../image/facts.js';
import type { MemberHash } from '../object/file-map.js';

/** File identity used to skip re-reading an unchanged input (restic's parent logic). */
export interface SourceStat {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  /** Nanoseconds since the epoch, as decimal strings (beyond double precision). */
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

export interface SnapshotSource {
  readonly kind: 'file' | 'stdin' | 'dir';
  /** Absolute path of the input (the first one of a tree snapshot), or "-" for stdin. */
  readonly path: string;
  /** Bytes of the input. */
  readonly size: number;
  /** SHA-256 of the whole input (comparable with sha256sum and image digests); "" for a tree snapshot. */
  readonly sha256: string;
  readonly stat?: SourceStat;
}

export interface SnapshotSummary {
  /** Bytes read from the input (0 when an unchanged file was not re-read). */
  readonly bytesRead: number;
  /** Plaintext bytes not stored in the repository before. */
  readonly bytesNew: number;
  /** Bytes added to the repository after compression (packs' blob bytes). */
  readonly bytesStored: number;
  readonly chunks: number;
  readonly newChunks: number;
  readonly seconds: number;
  /** New chunks of files the basis had (each offered its old version as a delta base). */
  readonly deltaCandidates?: number;
  /** New chunks stored as deltas against an earlier version of their file. */
  readonly deltaBlobs?: number;
  /** Stored bytes of those deltas. */
  readonly deltaBytesStored?: number;
  /** Bytes of image layers whose extents were reused from the basis without splitting them again. */
  readonly bytesReused?: number;
}

export interface SnapshotManifest {
  readonly version: 1;
  /** ISO-8601 UTC. */
  readonly time: string;
  readonly hostname: string;
  readonly username: string;
  readonly program: string;
  /** What the snapshot is of (default: the input's base name). */
  readonly name: string;
  readonly tags: readonly string[];
  readonly source: SnapshotSource;
  /** How the input was split: raw bytes, a plain tar, a docker-archive or an OCI image archive. */
  readonly format?: 'raw' | 'tar' | 'docker' | 'oci' | 'tree';
  /** What an image archive says about itself: names, digests, each layer's byte range (image/facts.ts). */
  readonly image?: ImageFacts;
  /** A snapshot of directories (format 'tree'): where its tree starts (tree/node.ts). */
  readonly tree?: TreeFacts;
  readonly content: {
    /** Number of chunks of the input. */
    readonly chunks: number;
    /** Hex ids of the chunk-list blobs, in order. */
    readonly lists: readonly string[];
    /** Hex ids of the file map blobs (tar input: which extents hold which file; file-map.ts). */
    readonly files?: readonly string[];
    /** Image layers (members named by their digest, 1 MiB and more) with the BLAKE3 of their bytes: the next snapshot may reuse their extents (file-map.ts). */
    readonly members?: readonly MemberHash[];
  };
  readonly summary: SnapshotSummary;
  /** The snapshot whose content was reused without reading the input. */
  readonly parent?: string;
  /**
   * Set when the input file changed while it was read (its size, mtime or ctime differ
   * after reading, or fewer or more bytes were read than its size said): what changed. The
   * stored bytes are what was read, which may be no consistent version of the file.
   */
  readonly changedWhileRead?: string;
  /** The snapshot whose files served as delta bases for changed files (file-map.ts). */
  readonly basis?: string;
  /**
   * A copy (copy/copy.ts): the id of the snapshot it was copied from in another repository
   * (that snapshot's own `original` when it was a copy too), as restic's `original`. Copies
   * match on it, so a snapshot is copied once.
   */
  readonly original?: string;
}

/** What a tree snapshot holds. Its tree blobs are also in content.lists (so gc keeps them). */
export interface TreeFacts {
  /** Absolute paths stored, in the order given. */
  readonly paths: readonly string[];
  /** Hex ids of the tree blobs listing one entry per path (named by its base name). */
  readonly root: readonly string[];
  readonly files: number;
  readonly dirs: number;
  /** Symlinks, FIFOs, devices. */
  readonly others: number;
  /** Bytes of file content (holes excluded). */
  readonly bytes: number;
}

/** A snapshot with its id. */
export interface Snapshot extends SnapshotManifest {
  readonly id: string;
}

export function encodeManifest(m: SnapshotManifest): Buffer {
  return Buffer.from(JSON.stringify(m));
}

/** Parses a snapshot file; CORRUPT when it is not a snapshot of a known version. */
export function decodeManifest(bytes: Uint8Array, what: string): SnapshotManifest {
  let m: SnapshotManifest;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8')) as SnapshotManifest;
  } catch (err) {
    throw corrupt(`${what}: not valid JSON`, err);
  }
  if (typeof m !== 'object' || m === null) throw corrupt(`${what}: not a snapshot`);
  if (m.version !== 1) throw new StowageError('UNSUPPORTED_FORMAT', `${what}: snapshot version ${String(m.version)} is not supported`);
  const ok =
    typeof m.time === 'string' &&
    typeof m.name === 'string' &&
    Array.isArray(m.tags) &&
    typeof m.source?.sha256 === 'string' &&
    typeof m.source.size === 'number' &&
    typeof m.content?.chunks === 'number' &&
    Array.isArray(m.content.lists) &&
    m.content.lists.every((l) => typeof l === 'string' && /^[0-9a-f]{64}$/.test(l)) &&
    (m.tree === undefined || (Array.isArray(m.tree.paths) && Array.isArray(m.tree.root) && m.tree.root.every((l) => typeof l === 'string' && /^[0-9a-f]{64}$/.test(l)))) &&
    (m.content.files === undefined || (Array.isArray(m.content.files) && m.content.files.every((l) => typeof l === 'string' && /^[0-9a-f]{64}$/.test(l))));
  if (!ok) throw corrupt(`${what}: snapshot fields missing or malformed`);
  return m;
}
