/**
 * Repository locations: the string a user gives with `-r` / STOWAGE_REPOSITORY, parsed.
 *
 * Accepted forms (restic's):
 * - `s3:https://host[:port]/bucket[/prefix]`  an S3-compatible endpoint (path-style by default:
 *   Ceph RGW, MinIO); `s3:http://...` the same without TLS
 * - `s3:bucket[/prefix]`                      AWS S3 at the region's endpoint (AWS_REGION ...)
 * - `s3:s3.amazonaws.com/bucket[/prefix]`     the same, restic's spelling (also `s3.<region>.amazonaws.com`)
 * - a local directory: `/srv/repo`, `./repo`, `repo`, `~/repo`
 *
 * Anything else that looks like a scheme (`sftp:`, `rest:`, `b2:`, a typo like `s3//bucket`
 * or `s3:/bucket`) is INVALID_ARGUMENT naming these forms: it is never read as a local path.
 * A local directory whose name contains ":" is written with a leading `./` or `/`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { StowageError } from '../errors.js';

export interface LocalLocation {
  readonly kind: 'local';
  /** Absolute path of the repository directory. */
  readonly path: string;
}

export interface S3Location {
  readonly kind: 's3';
  /** Endpoint URL (`https://host:port`), or undefined for AWS at the region's endpoint. */
  readonly endpoint: string | undefined;
  readonly bucket: string;
  /** Key prefix without leading or trailing "/" ('' for the bucket's root). */
  readonly prefix: string;
  /** Path-style addressing (`host/bucket/key`): the default for an explicit endpoint. */
  readonly pathStyle: boolean;
}

export type Location = LocalLocation | S3Location;

/** The accepted forms, for messages. */
export const LOCATION_FORMS = 's3:https://host[:port]/bucket[/prefix], s3:http://host[:port]/bucket[/prefix], s3:bucket[/prefix] (AWS), or a local directory path';

function invalid(location: string, why: string): StowageError {
  return new StowageError('INVALID_ARGUMENT', `invalid repository location ${JSON.stringify(location)}: ${why}; accepted forms: ${LOCATION_FORMS}`);
}

/** S3 bucket naming rules (the DNS-compatible ones every store accepts; 3..63 chars). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const AWS_HOST = /^s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/i;

function splitBucket(location: string, rest: string): { bucket: string; prefix: string } {
  const parts = rest.split('/');
  const bucket = parts.shift() ?? '';
  const prefix = parts.filter((p) => p !== '').join('/');
  if (!bucket) throw invalid(location, 'no bucket name');
  // Ceph and MinIO accept a few more characters (underscores, capitals) in path-style buckets
  if (!BUCKET.test(bucket) && !/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(bucket)) throw invalid(location, `bad bucket name ${JSON.stringify(bucket)}`);
  if (parts.some((p) => p === '.' || p === '..')) throw invalid(location, 'the prefix may not contain "." or ".." segments');
  return { bucket, prefix };
}

/** Parses a location string; INVALID_ARGUMENT for unknown schemes and malformed S3 forms. */
export function parseLocation(location: string): Location {
  if (location === '') throw invalid(location, 'empty');
  if (location.startsWith('s3:')) return parseS3(location, location.slice(3));
  // explicit local paths may contain anything
  if (/^(\/|\.\.?(\/|$)|~(\/|$))/.test(location)) return { kind: 'local', path: expandHome(location) };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location);
  if (scheme) throw invalid(location, `unsupported scheme "${scheme[1]}:"`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*\/\//.test(location)) throw invalid(location, 'looks like a URL with a missing ":"');
  return { kind: 'local', path: path.resolve(location) };
}

function parseS3(location: string, rest: string): S3Location {
  const url = /^(https?):\/\/([^/]+)(\/.*)?$/i.exec(rest);
  if (url) {
    const [, scheme, host, tail] = url;
    let parsed: URL;
    try {
      parsed = new URL(`${scheme!.toLowerCase()}://${host}`);
    } catch {
      throw invalid(location, `bad endpoint ${JSON.stringify(host)}`);
    }
    if (parsed.username || parsed.password) throw invalid(location, 'credentials do not belong in the location: use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile');
    const { bucket, prefix } = splitBucket(location, (tail ?? '').replace(/^\/+/, ''));
    return { kind: 's3', endpoint: parsed.origin, bucket, prefix, pathStyle: true };
  }
  if (rest.startsWith('/') || /^[a-z]+:/i.test(rest)) throw invalid(location, 'after "s3:" comes http(s)://host/bucket or a bucket name');
  const first = rest.split('/')[0] ?? '';
  if (AWS_HOST.test(first)) {
    const { bucket, prefix } = splitBucket(location, rest.slice(first.length + 1));
    return { kind: 's3', endpoint: undefined, bucket, prefix, pathStyle: false };
  }
  const { bucket, prefix } = splitBucket(location, rest);
  if (!BUCKET.test(bucket)) throw invalid(location, `bad AWS bucket name ${JSON.stringify(bucket)}`);
  return { kind: 's3', endpoint: undefined, bucket, prefix, pathStyle: false };
}

function expandHome(p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(p);
}

/** The canonical string of a location (for messages and cache keys). */
export function formatLocation(loc: Location): string {
  if (loc.kind === 'local') return loc.path;
  const where = loc.endpoint ? `${loc.endpoint}/${loc.bucket}` : loc.bucket;
  return `s3:${where}${loc.prefix ? `/${loc.prefix}` : ''}`;
}
