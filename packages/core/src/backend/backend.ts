/**
 * The storage backend: a flat store of immutable files addressed by (type, name).
 *
 * A backend never parses file contents. Every repository read and write goes
 * through this interface, so an S3 backend fits without changing the layers above.
 * Wrappers `(next: Backend) => Backend` add retry, read-only, fault injection.
 */

/** The closed set of repository file types. */
export type FileType = 'config' | 'key' | 'pack' | 'index' | 'snapshot' | 'lock';

/** Every file type, in a stable order. */
export const FILE_TYPES: readonly FileType[] = ['config', 'key', 'pack', 'index', 'snapshot', 'lock'];

/** Names a file in the repository. For 'config' the name is always "config". */
export interface Handle {
  readonly type: FileType;
  readonly name: string;
}

/** Options every operation accepts. */
export interface OpOptions {
  readonly signal?: AbortSignal;
}

/** Options of Backend.remove. */
export interface RemoveOptions extends OpOptions {
  /**
   * A missing file is no error (releasing a lock file). Lets a backend skip what only tells
   * "missing" apart: S3's remove HEADs first otherwise (a DELETE of a missing key succeeds).
   */
  readonly missingOk?: boolean;
}

/** A byte range of a file. */
export interface Range {
  readonly offset: number;
  readonly length: number;
}

/** One listed file. */
export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

/** Static properties of a backend. */
export interface BackendInfo {
  /** A short human description, e.g. "local:/srv/repo". */
  readonly location: string;
  /** Useful number of concurrent operations. */
  readonly connections: number;
  /**
   * Packs worth uploading at once by one writer (default 1: one more is built meanwhile). A
   * store with per-request latency (S3) wants several; each costs a pack of memory.
   */
  readonly uploads?: number;
  /**
   * Saves take the content's SHA-256 from SaveOptions.sha256 when given instead of hashing
   * the content themselves (S3: each PUT is signed with its body's SHA-256, which the store
   * checks against the body): a writer that can hash its bytes earlier (a pack while it is
   * built) passes it.
   */
  readonly contentSha256?: boolean;
}

export interface SaveOptions extends OpOptions {
  /** Allow replacing an existing file of this name (lock refresh only); default false. */
  readonly overwrite?: boolean;
  /**
   * The hex SHA-256 of the whole content, computed by the caller (see BackendInfo.contentSha256):
   * used instead of hashing the parts again. A wrong value fails the save (the store checks it).
   */
  readonly sha256?: string;
}

/**
 * A file written piece by piece before it has a name (Backend.createTemp): what a writer
 * appends goes to storage at once, so it need not hold the file in memory. Invisible to
 * load, stat and list until `commit`; a crash leaves a temporary that removeTemporary clears.
 */
export interface TempFile {
  /** Appends `parts` in order; their memory may be reused once this resolves. One append at a time. */
  append(parts: readonly Uint8Array[]): Promise<void>;
  /**
   * Makes the bytes appended the file `name` (of the type given to createTemp), atomically
   * and durably as `save` does: ALREADY_EXISTS when a file of that name exists. The temporary
   * is gone afterwards, whether commit succeeded or failed.
   */
  commit(name: string, opts?: OpOptions): Promise<void>;
  /** Removes the temporary (a writer that gives up). */
  discard(): Promise<void>;
}

export interface Backend {
  readonly info: BackendInfo;
  /**
   * Stores a file atomically and durably: readers see all bytes or none, and once the
   * promise resolves the file survives a crash. ALREADY_EXISTS when a file of that name
   * exists (unless `overwrite`).
   */
  save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void>;
  /** The whole file, or a range of it. NOT_FOUND when missing; a short read is CORRUPT, never silent truncation. */
  /** Optional: like save, with the file's bytes given as consecutive parts (no concatenation). */
  saveParts?(h: Handle, parts: readonly Uint8Array[], opts?: SaveOptions): Promise<void>;
  load(h: Handle, range?: Range, opts?: OpOptions): Promise<Uint8Array>;
  /**
   * Optional: a new file of `type` written piece by piece and named when committed (a local
   * directory: packs written while they are built). Backends without it get whole files.
   */
  createTemp?(type: FileType, opts?: OpOptions): Promise<TempFile>;
  /**
   * Optional: reads `range` straight into `target` (length = range.length; may be shared
   * memory). Same errors as load. Callers fall back to load + copy (see loadRangeInto).
   */
  loadInto?(h: Handle, range: Range, target: Uint8Array, opts?: OpOptions): Promise<void>;
  /** Size of a file; NOT_FOUND when missing. */
  stat(h: Handle, opts?: OpOptions): Promise<{ readonly size: number }>;
  /** True when the file exists. */
  exists(h: Handle, opts?: OpOptions): Promise<boolean>;
  /** Every file of a type (order unspecified). Files being written are never listed. */
  list(type: FileType, opts?: OpOptions): AsyncIterable<FileInfo>;
  /** Removes a file; NOT_FOUND when missing, unless `opts.missingOk`. */
  remove(h: Handle, opts?: RemoveOptions): Promise<void>;
  /** True when the repository location holds nothing (used by init). */
  isEmpty(opts?: OpOptions): Promise<boolean>;
  /** Prepares an empty location for a new repository (creates directories). */
  create(opts?: OpOptions): Promise<void>;
  /**
   * Optional: removes leftovers of interrupted saves (temp files) in the directories of
   * `types`; returns how many. Only safe while no other process writes those types (gc calls
   * it under the exclusive lock).
   */
  removeTemporary?(types: readonly FileType[], opts?: OpOptions): Promise<number>;
  close(): Promise<void>;
}

/** A backend decorator. */
export type BackendWrapper = (next: Backend) => Backend;

/** The handle of the config file. */
export const CONFIG_HANDLE: Handle = { type: 'config', name: 'config' };

/** Reads `range` of a file into `target`, without an intermediate buffer when the backend can. */
export async function loadRangeInto(b: Backend, h: Handle, range: Range, target: Uint8Array, opts?: OpOptions): Promise<void> {
  if (b.loadInto) return b.loadInto(h, range, target, opts);
  target.set(await b.load(h, range, opts));
}

/** Saves a file given as parts, without joining them when the backend can write parts. */
export async function saveParts(b: Backend, h: Handle, parts: readonly Uint8Array[], opts?: SaveOptions): Promise<void> {
  if (b.saveParts) return b.saveParts(h, parts, opts);
  await b.save(h, parts.length === 1 ? parts[0]! : Buffer.concat(parts), opts);
}
