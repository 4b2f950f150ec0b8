/**
 * The S3 client for a location, configured the way every S3 tool is.
 *
 * Credentials: the AWS SDK's node provider chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, AWS_PROFILE with ~/.aws/credentials and ~/.aws/config, SSO, web identity,
 * container and instance metadata). Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's
 * region, else us-east-1. A private CA: AWS_CA_BUNDLE (a PEM file). The SDK's own retries are
 * off (maxAttempts 1): the backend layer's retry wrapper retries, once, for every backend.
 *
 * Checksums are WHEN_REQUIRED by default: with the SDK's default a body goes out as
 * `Content-Encoding: aws-chunked` with a trailer and no Content-Length, which Ceph RGW 16
 * answers with 411, Swift with 501, and some emulators store as data (s3-notes.md).
 * `checksums: 'when_supported'` turns them back on (AWS S3).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/config-resolver';
import { loadConfig } from '@smithy/node-config-provider';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { StowageError } from '../errors.js';
import type { S3Location } from './location.js';

/** Settings of the S3 backend that have no AWS_* name (CLI: --s3-*, env: STOWAGE_S3_*). */
export interface S3Settings {
  /** Concurrent requests (default 8). */
  readonly connections?: number;
  /** Override path-style addressing (default: on for an explicit endpoint, off for AWS). */
  readonly pathStyle?: boolean;
  /** Storage class of new objects (e.g. STANDARD_IA); default the bucket's. */
  readonly storageClass?: string;
  /** Request/response checksums: 'when_required' (default, works everywhere) or 'when_supported' (AWS). */
  readonly checksums?: 'when_required' | 'when_supported';
  /** Files larger than this go up as a multipart upload (default 200 MiB, as restic). */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (default 64 MiB; at least 5 MiB). */
  readonly partSize?: number;
  /** TCP connect timeout (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** A request fails when its socket is idle this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Static credentials instead of the provider chain (library users). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Region instead of AWS_REGION / the profile's. */
  readonly region?: string;
  /** Environment to read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export const DEFAULT_S3_CONNECTIONS = 8;

/** Reads STOWAGE_S3_* settings from an environment (the ones without an AWS name). */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const out: { -readonly [K in keyof S3Settings]: S3Settings[K] } = {};
  const conn = env.STOWAGE_S3_CONNECTIONS;
  if (conn) {
    const n = Number(conn);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new StowageError('INVALID_ARGUMENT', `STOWAGE_S3_CONNECTIONS must be an integer 1..256, got ${JSON.stringify(conn)}`);
    out.connections = n;
  }
  const ps = env.STOWAGE_S3_PATH_STYLE;
  if (ps) {
    if (!/^(1|0|true|false|yes|no)$/i.test(ps)) throw new StowageError('INVALID_ARGUMENT', `STOWAGE_S3_PATH_STYLE must be true or false, got ${JSON.stringify(ps)}`);
    out.pathStyle = /^(1|true|yes)$/i.test(ps);
  }
  if (env.STOWAGE_S3_STORAGE_CLASS) out.storageClass = env.STOWAGE_S3_STORAGE_CLASS;
  const ck = env.STOWAGE_S3_CHECKSUMS;
  if (ck) {
    if (ck !== 'when_required' && ck !== 'when_supported') throw new StowageError('INVALID_ARGUMENT', `STOWAGE_S3_CHECKSUMS must be when_required or when_supported, got ${JSON.stringify(ck)}`);
    out.checksums = ck;
  }
  return out;
}

async function resolveRegion(env: NodeJS.ProcessEnv): Promise<string> {
  const fromEnv = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  try {
    return await loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
  } catch {
    return 'us-east-1';
  }
}

/** AWS credentials as the SDK's providers give them. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type S3CredentialProvider = () => Promise<S3Credentials>;

/** An S3 client and what a request outside the SDK needs to share its sockets and credentials. */
export interface S3Transport {
  readonly client: S3Client;
  /** The agent of the location's protocol (the SDK's requests use it too). */
  readonly agent: http.Agent;
  readonly credentials: S3CredentialProvider;
  readonly region: () => Promise<string>;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** A configured S3Client for `loc`. */
export function makeS3Client(loc: S3Location, s: S3Settings): S3Client {
  return makeS3Transport(loc, s).client;
}

/** A configured S3Client for `loc`, with its agent and credential and region providers. */
export function makeS3Transport(loc: S3Location, s: S3Settings): S3Transport {
  const env = s.env ?? process.env;
  // The SDK prints a multi-line "will require node >= 22 from 2027" warning on stderr under
  // Node 20 (which this project supports); the SDK's own switch turns it off.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const connections = s.connections ?? DEFAULT_S3_CONNECTIONS;
  let ca: Buffer | undefined;
  if (env.AWS_CA_BUNDLE) {
    try {
      ca = fs.readFileSync(env.AWS_CA_BUNDLE);
    } catch (err) {
      throw new StowageError('INVALID_ARGUMENT', `AWS_CA_BUNDLE ${env.AWS_CA_BUNDLE}: ${(err as Error).message}`, { cause: err });
    }
  }
  // a few sockets beyond the limit, so a lock refresh never waits for a pack transfer's socket
  const agentOpts = { keepAlive: true, maxSockets: connections + 4 };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent({ ...agentOpts, ...(ca && { ca }) });
  const checksums = s.checksums === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  const credentials: S3CredentialProvider = s.credentials ? async () => s.credentials! : fromNodeProviderChain();
  let regionOnce: Promise<string> | undefined;
  const region = s.region !== undefined ? async () => s.region! : () => (regionOnce ??= resolveRegion(env));
  const connectTimeoutMs = s.connectTimeoutMs ?? 10_000;
  const idleTimeoutMs = s.idleTimeoutMs ?? 60_000;
  const config: S3ClientConfig = {
    region,
    ...(loc.endpoint && { endpoint: loc.endpoint }),
    forcePathStyle: s.pathStyle ?? loc.pathStyle,
    followRegionRedirects: loc.endpoint === undefined,
    credentials,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: connectTimeoutMs, requestTimeout: idleTimeoutMs, httpAgent, httpsAgent }),
  };
  const secure = loc.endpoint === undefined || loc.endpoint.startsWith('https:');
  return { client: new S3Client(config), agent: secure ? httpsAgent : httpAgent, credentials, region, connectTimeoutMs, idleTimeoutMs };
}
