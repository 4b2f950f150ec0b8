/**
 * Typed errors with stable codes.
 *
 * Codes are part of the public contract (scripts match on them); messages are
 * for people and may change. Programmer mistakes throw plain TypeError/RangeError.
 * The CLI maps codes to exit codes in exactly one place (packages/cli/src/exit-codes.ts).
 */
export type ErrorCode =
  /** No repository at the given location (or its config is missing). */
  | 'NO_REPOSITORY'
  /** `init` on a location that is not empty. */
  | 'REPOSITORY_EXISTS'
  /** A snapshot, blob, key or file that was asked for does not exist. */
  | 'NOT_FOUND'
  /** A snapshot id prefix matches more than one snapshot. */
  | 'AMBIGUOUS_ID'
  /** An immutable repository file already exists with that name. */
  | 'ALREADY_EXISTS'
  /** Stored bytes do not match their id, digest, trailer or format. */
  | 'CORRUPT'
  /** Another process holds a conflicting lock. */
  | 'LOCKED'
  /** The password does not open any key of the repository. */
  | 'WRONG_PASSWORD'
  /** The repository is encrypted and no password was given. */
  | 'PASSWORD_REQUIRED'
  /** The input to snapshot is missing or cannot be read. */
  | 'INPUT_UNREADABLE'
  /** The input to snapshot is empty (0 bytes) and an empty snapshot was not asked for. */
  | 'EMPTY_INPUT'
  /** A restore target exists and --overwrite was not given. */
  | 'TARGET_EXISTS'
  /** A restore target cannot be created or written: permission denied, no space, read-only; a folder, device or FIFO where a file is wanted; a missing parent folder. */
  | 'TARGET_UNWRITABLE'
  /** The local cache (--cache-dir, STOWAGE_CACHE_DIR, ~/.cache/stowage) cannot be written: permission denied, read-only. */
  | 'CACHE_UNWRITABLE'
  /** An argument or option value is invalid. */
  | 'INVALID_ARGUMENT'
  /** The repository format or a feature of it is not supported by this version. */
  | 'UNSUPPORTED_FORMAT'
  /** The storage backend failed (I/O error, no space, permission). */
  | 'BACKEND'
  /** A file system being written ran out of space (or quota): a restore target, a local repository, the cache. */
  | 'NO_SPACE'
  /** The operation was cancelled. */
  | 'ABORTED'
  /** A container registry cannot be reached (connection refused, DNS, TLS, timeout). */
  | 'REGISTRY_UNREACHABLE'
  /** A container registry refused the credentials (or needs some and none were given). */
  | 'REGISTRY_AUTH'
  /** A container registry answered something unexpected (its error code is in the message). */
  | 'REGISTRY';

/** Base class of every error the core throws on purpose. */
export class StowageError extends Error {
  override readonly name: string = 'StowageError';
  readonly code: ErrorCode;
  /** True when repeating the same call may succeed (transient backend failure). */
  readonly retryable: boolean;
  /**
   * True when the call failed because the other side sent nothing for a timeout (a server that
   * accepted the request and never answered, or a connect that never completed): retrying such
   * a call is bounded more tightly than other transient failures (backend/retry.ts).
   */
  readonly timedOut: boolean;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { retryable?: boolean; timedOut?: boolean }) {
    super(message, options);
    this.code = code;
    this.retryable = options?.retryable ?? false;
    this.timedOut = options?.timedOut ?? false;
  }
}

/** True when `err` is a StowageError, optionally with one of the given codes. */
export function isStowageError(err: unknown, ...codes: ErrorCode[]): err is StowageError {
  return err instanceof StowageError && (codes.length === 0 || codes.includes(err.code));
}

/** Shorthand for a CORRUPT error. */
export function corrupt(message: string, cause?: unknown): StowageError {
  return new StowageError('CORRUPT', message, cause === undefined ? undefined : { cause });
}

/**
 * The error of an operation stopped by `signal`: its reason when that is a StowageError (a
 * lost lock aborts with LOCKED), else ABORTED with the reason as the cause.
 */
export function abortedError(signal: AbortSignal, message = 'aborted'): StowageError {
  return isStowageError(signal.reason) ? signal.reason : new StowageError('ABORTED', message, { cause: signal.reason });
}
