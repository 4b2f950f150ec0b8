/**
 * S3 settings from the environment (no network): STOWAGE_S3_* validated, AWS_CA_BUNDLE read.
 */
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { makeS3Client, s3SettingsFromEnv } from './s3-client.js';
import { parseLocation, type S3Location } from './location.js';

const loc = parseLocation('s3:http://127.0.0.1:9/bucket') as S3Location;

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isStowageError(err) ? err.code : String(err);
  }
}

describe('S3 settings', () => {
  it('reads STOWAGE_S3_* and refuses bad values with INVALID_ARGUMENT', () => {
    expect(
      s3SettingsFromEnv({
        STOWAGE_S3_CONNECTIONS: '16',
        STOWAGE_S3_PATH_STYLE: 'false',
        STOWAGE_S3_STORAGE_CLASS: 'STANDARD_IA',
        STOWAGE_S3_CHECKSUMS: 'when_supported',
        STOWAGE_S3_SDK_REQUESTS: 'true',
      }),
    ).toEqual({
      connections: 16,
      pathStyle: false,
      storageClass: 'STANDARD_IA',
      checksums: 'when_supported',
      leanRequests: false,
    });
    expect(s3SettingsFromEnv({ STOWAGE_S3_SDK_REQUESTS: 'no' })).toEqual({ leanRequests: true });
    expect(s3SettingsFromEnv({})).toEqual({});
    for (const env of [
      { STOWAGE_S3_CONNECTIONS: '0' },
      { STOWAGE_S3_CONNECTIONS: 'many' },
      { STOWAGE_S3_PATH_STYLE: 'maybe' },
      { STOWAGE_S3_CHECKSUMS: 'always' },
      { STOWAGE_S3_SDK_REQUESTS: 'sometimes' },
    ]) {
      expect(
        codeOf(() => s3SettingsFromEnv(env)),
        JSON.stringify(env),
      ).toBe('INVALID_ARGUMENT');
    }
  });

  it('a missing AWS_CA_BUNDLE file is INVALID_ARGUMENT naming it', () => {
    let err: unknown;
    try {
      makeS3Client(loc, { env: { AWS_CA_BUNDLE: '/nonexistent/ca.pem' } });
    } catch (e) {
      err = e;
    }
    expect(isStowageError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain('/nonexistent/ca.pem');
  });

  it('checksums are WHEN_REQUIRED unless asked for; the SDK retries are off; path style follows the location', async () => {
    const c = makeS3Client(loc, { env: {}, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(await c.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await c.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await c.config.maxAttempts()).toBe(1);
    expect(c.config.forcePathStyle).toBe(true);
    c.destroy();
    const aws = makeS3Client(parseLocation('s3:my-bucket') as S3Location, { env: {}, checksums: 'when_supported', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(await aws.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(aws.config.forcePathStyle).toBe(false);
    aws.destroy();
  });
});
