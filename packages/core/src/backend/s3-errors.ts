/**
 * S3 failures as StowageErrors: the one place the S3 backend classifies them.
 *
 * Transient (retryable): HTTP 429/500/502/503/504, SlowDown, RequestTimeout, InternalError,
 * ServiceUnavailable, connection resets/refusals, socket timeouts, a short body. Permanent:
 * 404 (NOT_FOUND; NoSuchBucket is NO_REPOSITORY), 412/409-conditional (ALREADY_EXISTS),
 * 416 (CORRUPT: a range past the end), 403 and bad credentials (BACKEND), anything else.
 * This is kopia's repo/blob/retrying rule and restic's retry list.
 */
import { StowageError } from '../errors.js';

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'TimeoutError',
  'OperationAborted',
]);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
const TRANSIENT_SOCKET = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
  cause?: unknown;
}

/** The HTTP status of an SDK error, if it got that far. */
export function statusOf(err: unknown): number | undefined {
  const e = err as SdkError;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** Translates an SDK or socket error; `what` names the object ("data/ab/abcd", "bucket b"). */
export function mapS3Error(err: unknown, op: string, what: string, bucket: string): StowageError {
  if (err instanceof StowageError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? '';
  const code = e.Code ?? e.code ?? '';
  const status = statusOf(err);
  const msg = (e.message ?? String(err)).split('\n')[0];
  if (name === 'AbortError' || code === 'ABORT_ERR') return new StowageError('ABORTED', `${op} ${what}: aborted`, { cause: err });
  if (name === 'NoSuchBucket' || code === 'NoSuchBucket') return new StowageError('NO_REPOSITORY', `bucket ${bucket} does not exist (stowage init creates it)`, { cause: err });
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StowageError('NOT_FOUND', `${what}: not found`, { cause: err });
  if (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || (status === 409 && /conditional/i.test(name)))
    return new StowageError('ALREADY_EXISTS', `${what}: already exists`, { cause: err });
  if (status === 416 || name === 'InvalidRange') return new StowageError('CORRUPT', `${what}: range past the end of the object`, { cause: err });
  if (CREDENTIALS.has(name) || CREDENTIALS.has(code))
    return new StowageError('BACKEND', `${op} ${what}: the S3 credentials were refused (${name}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE`, { cause: err });
  if (status === 403 || name === 'AccessDenied') return new StowageError('BACKEND', `${op} ${what}: access denied by the S3 server (${name || status})`, { cause: err });
  const sock = socketCode(err);
  if (sock) {
    const hint = sock === 'ECONNREFUSED' ? ': connection refused (is the endpoint right and the server running?)' : sock === 'ENOTFOUND' ? ': host not found' : `: ${sock}`;
    return new StowageError('BACKEND', `${op} ${what}${hint}`, { cause: err, retryable: TRANSIENT_SOCKET.has(sock), timedOut: sock === 'ETIMEDOUT' });
  }
  if (TRANSIENT_NAMES.has(name) || TRANSIENT_NAMES.has(code) || (status !== undefined && TRANSIENT_STATUS.has(status)))
    return new StowageError('BACKEND', `${op} ${what}: ${name || `HTTP ${status}`}${msg && msg !== name ? `: ${msg}` : ''}`, { cause: err, retryable: true, timedOut: name === 'TimeoutError' });
  return new StowageError('BACKEND', `${op} ${what}: ${name && name !== 'Error' ? `${name}: ` : ''}${msg}${status ? ` (HTTP ${status})` : ''}`, { cause: err });
}

/** The errno-style code of a socket error anywhere in the cause chain (AggregateError too). */
function socketCode(err: unknown): string | undefined {
  for (let e = err as SdkError & { errors?: unknown[] }, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(e.code)) return e.code;
    if (Array.isArray(e.errors)) for (const x of e.errors) if (typeof (x as SdkError)?.code === 'string') return (x as SdkError).code;
    if (/socket hang up/i.test(e.message ?? '')) return 'ECONNRESET';
  }
  return undefined;
}

/** A short body: the server (or a proxy) sent fewer bytes than it announced. Transient. */
export function shortBody(what: string, got: number, want: number): StowageError {
  return new StowageError('BACKEND', `load ${what}: short body, got ${got} of ${want} bytes`, { retryable: true });
}
