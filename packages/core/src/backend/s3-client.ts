/**
 * The AWS SDK's S3 client for a location, on the location's transport (s3-transport.ts:
 * credentials, region, agents, AWS_CA_BUNDLE). The SDK's own retries are
 * off (maxAttempts 1): the backend layer's retry wrapper retries, once, for every backend.
 *
 * Checksums are WHEN_REQUIRED by default: with the SDK's default a body goes out as
 * `Content-Encoding: aws-chunked` with a trailer and no Content-Length, which Ceph RGW 16
 * answers with 411, Swift with 501, and some emulators store as data (s3-notes.md).
 * `checksums: 'when_supported'` turns them back on (AWS S3).
 */
import * as sdk from '@aws-sdk/client-s3';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3Location } from './location.js';
import { makeS3Transport, type S3Settings, type S3Transport } from './s3-transport.js';

export { DEFAULT_S3_CONNECTIONS, s3SettingsFromEnv, type S3Settings } from './s3-transport.js';
/** The SDK's S3 module (its commands), for modules that load this one on demand. */
export { sdk };

/** A configured S3Client for `loc` (on `transport`'s agents and providers when given). */
export function makeS3Client(loc: S3Location, s: S3Settings, transport: S3Transport = makeS3Transport(loc, s)): S3Client {
  const checksums = s.checksums === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  const config: S3ClientConfig = {
    region: transport.region,
    ...(loc.endpoint && { endpoint: loc.endpoint }),
    forcePathStyle: s.pathStyle ?? loc.pathStyle,
    followRegionRedirects: loc.endpoint === undefined,
    credentials: transport.credentials,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: transport.connectTimeoutMs,
      requestTimeout: transport.idleTimeoutMs,
      httpAgent: transport.httpAgent,
      httpsAgent: transport.httpsAgent,
    }),
  };
  return new S3Client(config);
}
