/**
 * The real S3 the tests run against: STOWAGE_TEST_S3=http://<access key>:<secret>@host:port
 * (scripts/ceph-rgw-start.sh writes it; .ci/run exports it). Without it, S3 tests skip with
 * one line locally and fail under CI=true (a mock does not count).
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { it } from 'vitest';
import type { S3Location } from '../backend/location.js';
import { makeS3Client } from '../backend/s3-client.js';

export interface TestS3 {
  /** e.g. http://127.0.0.1:7480 */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The environment a CLI process needs (AWS_* credentials). */
  readonly env: Record<string, string>;
}

/** The configured test S3, or undefined. */
export function testS3(): TestS3 | undefined {
  const raw = process.env.STOWAGE_TEST_S3;
  if (!raw) return undefined;
  const u = new URL(raw);
  const accessKeyId = decodeURIComponent(u.username);
  const secretAccessKey = decodeURIComponent(u.password);
  return {
    endpoint: u.origin,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  };
}

/**
 * Call at the top of an S3 test file: returns the test S3 when configured; otherwise prints
 * one line and returns undefined (tests `describe.skipIf(!s3)`), or under CI=true registers a
 * failing test.
 */
export function requireTestS3(what: string): TestS3 | undefined {
  const s3 = testS3();
  if (s3) return s3;
  if (process.env.CI === 'true') {
    it(`${what}: needs a real S3 (STOWAGE_TEST_S3)`, () => {
      throw new Error('STOWAGE_TEST_S3 is not set under CI=true: .ci/run starts Ceph RGW with scripts/ceph-rgw-start.sh and exports it');
    });
  } else {
    console.log(`skipping ${what}: no S3 endpoint (set STOWAGE_TEST_S3=http://key:secret@host:port, e.g. from scripts/ceph-rgw-start.sh)`);
  }
  return undefined;
}

/** A fresh location in the shared test bucket: a random prefix (or a random bucket). */
export function testLocation(s3: TestS3, opts: { bucket?: string; newBucket?: boolean } = {}): S3Location {
  const id = randomBytes(6).toString('hex');
  const bucket = opts.newBucket ? `stowage-t-${id}` : (opts.bucket ?? 'stowage-tests');
  return { kind: 's3', endpoint: s3.endpoint, bucket, prefix: opts.newBucket ? '' : `t-${id}`, pathStyle: true };
}

/** The location as a CLI string. */
export function locationString(loc: S3Location): string {
  return `s3:${loc.endpoint}/${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
}

/** Deletes every object under the location's prefix (test cleanup). */
export async function removeAll(s3: TestS3, loc: S3Location): Promise<void> {
  const client = makeS3Client(loc, { credentials: s3 });
  try {
    const prefix = loc.prefix ? `${loc.prefix}/` : '';
    for (;;) {
      const r = await client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix })).catch(() => undefined);
      const keys = (r?.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: loc.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
  } finally {
    client.destroy();
  }
}

/** Every object under the location's prefix, with its bytes (for scans in tests). */
export async function allObjects(s3: TestS3, loc: S3Location): Promise<{ key: string; body: Buffer }[]> {
  const client = makeS3Client(loc, { credentials: s3 });
  const out: { key: string; body: Buffer }[] = [];
  try {
    let token: string | undefined;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.prefix ? `${loc.prefix}/` : '', ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        const g = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: o.Key! }));
        out.push({ key: o.Key!, body: Buffer.from(await g.Body!.transformToByteArray()) });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return out;
}

/** "key:size" of every object under the location's prefix, sorted (to see that nothing changed). */
export async function objectKeys(s3: TestS3, loc: S3Location): Promise<string[]> {
  return (await allObjects(s3, loc)).map((o) => `${o.key}:${o.body.length}`).sort();
}

/** Denies (or allows again) writes and deletes of objects in the location's bucket, for everyone. */
export async function denyWrites(s3: TestS3, loc: S3Location, deny: boolean): Promise<void> {
  const client = makeS3Client(loc, { credentials: s3 });
  try {
    const statement = { Effect: deny ? 'Deny' : 'Allow', Principal: '*', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${loc.bucket}/*`] };
    await client.send(new PutBucketPolicyCommand({ Bucket: loc.bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }) }));
  } finally {
    client.destroy();
  }
}

/** Puts an object at `key` under the location's prefix (tests that forge files). */
export async function putObject(s3: TestS3, loc: S3Location, key: string, body: Uint8Array | string): Promise<void> {
  const client = makeS3Client(loc, { credentials: s3 });
  try {
    await client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix ? `${loc.prefix}/` : ''}${key}`, Body: body }));
  } finally {
    client.destroy();
  }
}

/** Unfinished multipart uploads under the location's prefix. */
export async function pendingUploads(s3: TestS3, loc: S3Location): Promise<number> {
  const client = makeS3Client(loc, { credentials: s3 });
  try {
    const r = await client.send(new ListMultipartUploadsCommand({ Bucket: loc.bucket, Prefix: loc.prefix ? `${loc.prefix}/` : '' }));
    return r.Uploads?.length ?? 0;
  } finally {
    client.destroy();
  }
}
