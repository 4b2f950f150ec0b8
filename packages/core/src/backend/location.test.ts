import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { formatLocation, parseLocation } from './location.js';

describe('repository locations', () => {
  it("parses the S3 forms (restic's)", () => {
    expect(parseLocation('s3:http://127.0.0.1:7480/bucket')).toEqual({ kind: 's3', endpoint: 'http://127.0.0.1:7480', bucket: 'bucket', prefix: '', pathStyle: true });
    expect(parseLocation('s3:https://rgw.example.com/backups/host/a/')).toEqual({ kind: 's3', endpoint: 'https://rgw.example.com', bucket: 'backups', prefix: 'host/a', pathStyle: true });
    expect(parseLocation('s3:my-bucket/some/prefix')).toEqual({ kind: 's3', endpoint: undefined, bucket: 'my-bucket', prefix: 'some/prefix', pathStyle: false });
    expect(parseLocation('s3:my-bucket')).toEqual({ kind: 's3', endpoint: undefined, bucket: 'my-bucket', prefix: '', pathStyle: false });
    expect(parseLocation('s3:s3.amazonaws.com/my-bucket/p')).toEqual({ kind: 's3', endpoint: undefined, bucket: 'my-bucket', prefix: 'p', pathStyle: false });
    expect(parseLocation('s3:s3.eu-west-1.amazonaws.com/my-bucket')).toMatchObject({ bucket: 'my-bucket', endpoint: undefined });
  });

  it('parses local paths as today', () => {
    expect(parseLocation('/srv/repo')).toEqual({ kind: 'local', path: '/srv/repo' });
    expect(parseLocation('repo')).toEqual({ kind: 'local', path: path.resolve('repo') });
    expect(parseLocation('./odd:name')).toEqual({ kind: 'local', path: path.resolve('odd:name') });
    expect(parseLocation('~/repo')).toEqual({ kind: 'local', path: path.join(os.homedir(), 'repo') });
  });

  it('refuses unknown schemes and typos with INVALID_ARGUMENT naming the accepted forms', () => {
    for (const bad of [
      'sftp:host:/srv',
      'rest:http://x/',
      's3//bucket',
      'http://host/bucket',
      's3:/bucket',
      's3:',
      's3:http://host',
      's3:ftp://host/b',
      'S3:bucket',
      's3:http://k:s@host/bucket',
      'b2:bucket',
      's3:Bad_Bucket',
    ]) {
      let err: unknown;
      try {
        parseLocation(bad);
      } catch (e) {
        err = e;
      }
      expect(isStowageError(err, 'INVALID_ARGUMENT'), bad).toBe(true);
      expect((err as Error).message, bad).toMatch(/accepted forms: s3:https:\/\/host/);
    }
  });

  it('formats back to a canonical string', () => {
    expect(formatLocation(parseLocation('s3:http://h:1/b0b/p/q/'))).toBe('s3:http://h:1/b0b/p/q');
    expect(formatLocation(parseLocation('s3:bkt'))).toBe('s3:bkt');
  });
});
