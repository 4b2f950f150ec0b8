/**
 * How requests to an S3 location are made, the way every S3 tool makes them.
 *
 * Credentials: the AWS SDK's node provider chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, AWS_PROFILE with ~/.aws/credentials and ~/.aws/config, SSO, web identity,
 * container and instance metadata). Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's
 * region, else us-east-1. A private CA: AWS_CA_BUNDLE (a PEM file). Settings without an AWS
 * name: STOWAGE_S3_*. No module of the SDK's S3 client is loaded here (s3-client.ts makes the
 * client; a command that needs it loads it).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
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
  /**
   * Requests to a location with an explicit endpoint (GET, PUT, HEAD, DELETE, listing) go out
   * as SigV4-signed requests outside the SDK's middleware stack (s3-request.ts; default true),
   * and the SDK's client is loaded only for what is rare (bucket creation, multipart); false
   * sends every request through the SDK (env STOWAGE_S3_SDK_REQUESTS=true).
   */
  readonly leanRequests?: boolean;
  /**
   * Ranged GETs from a plain http endpoint read their body straight into the caller's buffer
   * (s3-direct-get.ts; default true): Node's http client hands each socket read over as a
   * fresh Buffer, whose external memory sets off full collections on the main thread during a
   * restore. false (env STOWAGE_S3_DIRECT_GETS=false) reads them through Node's http client.
   */
  readonly directGets?: boolean;
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
  const sdkOnly = env.STOWAGE_S3_SDK_REQUESTS;
  if (sdkOnly) {
    if (!/^(1|0|true|false|yes|no)$/i.test(sdkOnly)) throw new StowageError('INVALID_ARGUMENT', `STOWAGE_S3_SDK_REQUESTS must be true or false, got ${JSON.stringify(sdkOnly)}`);
    out.leanRequests = !/^(1|true|yes)$/i.test(sdkOnly);
  }
  const direct = env.STOWAGE_S3_DIRECT_GETS;
  if (direct) {
    if (!/^(1|0|true|false|yes|no)$/i.test(direct)) throw new StowageError('INVALID_ARGUMENT', `STOWAGE_S3_DIRECT_GETS must be true or false, got ${JSON.stringify(direct)}`);
    out.directGets = /^(1|true|yes)$/i.test(direct);
  }
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
    const [{ NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS }, { loadConfig }] = await Promise.all([import('@smithy/config-resolver'), import('@smithy/node-config-provider')]);
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

/**
 * What every request to a location shares, the SDK's and the lean ones (s3-request.ts): the
 * keep-alive agents, the credential and region providers, the timeouts.
 */
export interface S3Transport {
  readonly location: S3Location;
  readonly settings: S3Settings;
  readonly httpAgent: http.Agent;
  readonly httpsAgent: https.Agent;
  /** The agent of the location's protocol. */
  readonly agent: http.Agent;
  readonly credentials: S3CredentialProvider;
  readonly region: () => Promise<string>;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** The transport of `loc`: agents (AWS_CA_BUNDLE read here), credentials (the SDK's node provider chain), region. */
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
  const credentials: S3CredentialProvider = s.credentials ? async () => s.credentials! : fromNodeProviderChain();
  let regionOnce: Promise<string> | undefined;
  const region = s.region !== undefined ? async () => s.region! : () => (regionOnce ??= resolveRegion(env));
  const secure = loc.endpoint === undefined || loc.endpoint.startsWith('https:');
  return {
    location: loc,
    settings: s,
    httpAgent,
    httpsAgent,
    agent: secure ? httpsAgent : httpAgent,
    credentials,
    region,
    connectTimeoutMs: s.connectTimeoutMs ?? 10_000,
    idleTimeoutMs: s.idleTimeoutMs ?? 60_000,
  };
}
