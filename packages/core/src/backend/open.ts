/**
 * From a location string to a ready backend: what the CLI and library users call.
 *
 * Local directories get the LocalBackend as is. S3 locations get the S3 backend (loaded on
 * first use: the AWS SDK costs start-up time a local repository should not pay) wrapped in
 * the connection limit and the retries: `retrying(limited(s3))`.
 */
import type { Backend } from './backend.js';
import { limited } from './limit.js';
import { LocalBackend } from './local.js';
import { parseLocation, type Location } from './location.js';
import { retrying, type RetryOptions } from './retry.js';
import type { S3BackendOptions } from './s3.js';

export interface OpenBackendOptions {
  /** Settings for S3 locations (merged over STOWAGE_S3_* from the environment). */
  readonly s3?: S3BackendOptions;
  readonly retry?: RetryOptions;
  /**
   * The life of the backend (a command's SIGINT/SIGTERM): when it fires, every request of a
   * remote backend in flight or waiting to retry is aborted, also where a caller passed no
   * signal of its own; requests made after it (the command's cleanup: releasing its lock) run.
   * Local directories do not use it (their calls do not hang on a peer).
   */
  readonly signal?: AbortSignal;
}

/** Opens the backend of a location string or parsed location (INVALID_ARGUMENT for a bad one). */
export async function openBackend(location: string | Location, opts: OpenBackendOptions = {}): Promise<Backend> {
  const loc = typeof location === 'string' ? parseLocation(location) : location;
  if (loc.kind === 'local') return new LocalBackend(loc.path);
  const { S3Backend } = await import('./s3.js');
  const { s3SettingsFromEnv } = await import('./s3-transport.js');
  const s3 = new S3Backend(loc, { ...s3SettingsFromEnv(opts.s3?.env), ...opts.s3 });
  return retrying(limited(s3), { ...opts.retry, ...(opts.signal && { signal: opts.signal }) });
}
