/**
 * The S3 backend against a real S3 (Ceph RGW from scripts/ceph-rgw-start.sh; STOWAGE_TEST_S3):
 * the conformance suite every backend passes, then what is S3's own: pagination, multipart,
 * create-only with and without If-None-Match, bucket creation, prefixes, errors.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { backendSuite, code } from '../testing/backend-suite.js';
import { pendingUploads, removeAll, requireTestS3, testLocation } from '../testing/s3-env.js';
import { makeS3Client } from './s3-client.js';
import { S3Backend, type S3BackendOptions } from './s3.js';
import type { S3Location } from './location.js';

const s3 = requireTestS3('S3 backend tests');

describe.skipIf(!s3)('S3 backend on a real S3', () => {
  let cacheDir: string;
  const made: S3Location[] = [];
  const open = (opts: S3BackendOptions & { newBucket?: boolean } = {}) => {
    const loc = testLocation(s3!, { newBucket: opts.newBucket });
    made.push(loc);
    return new S3Backend(loc, { credentials: s3!, cacheDir, ...opts });
  };
  beforeAll(() => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-s3-'));
  });
  afterAll(async () => {
    for (const loc of made) await removeAll(s3!, loc);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  if (s3) {
    backendSuite('s3', async () => ({ backend: open(), cleanup: async () => undefined }));
    backendSuite('s3 without If-None-Match (HEAD before PUT)', async () => {
      const b = open();
      (b as unknown as { conditional: Promise<boolean> }).conditional = Promise.resolve(false);
      return { backend: b, cleanup: async () => undefined };
    });
    backendSuite('s3 through the SDK (leanRequests: false, as for AWS without an endpoint)', async () => ({ backend: open({ leanRequests: false }), cleanup: async () => undefined }));
  }

  it('lists more than 1,000 files of a type (pagination), and only files of the layout', async () => {
    const b = open();
    await b.create();
    const names = Array.from({ length: 1100 }, (_, i) => `i${i.toString().padStart(5, '0')}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => b.save({ type: 'index', name: n }, Buffer.from(n))));
    // debris that is not a file of the layout: a nested key and a dot name
    const client = makeS3Client(b.location, { credentials: s3! });
    await client.send(new PutObjectCommand({ Bucket: b.location.bucket, Key: `${b.location.prefix}/index/sub/x`, Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: b.location.bucket, Key: `${b.location.prefix}/index/.tmp`, Body: 'x' }));
    client.destroy();
    const listed: string[] = [];
    const before = b.requests.LIST;
    for await (const f of b.list('index')) listed.push(f.name);
    expect(listed.sort()).toEqual(names);
    expect(b.requests.LIST - before).toBeGreaterThanOrEqual(2);
    await b.close();
  });

  it('reads ranges straight into the caller buffer, at an offset of a shared buffer', async () => {
    const b = open();
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    await b.save({ type: 'pack', name: 'ab01' }, data);
    const target = new Uint8Array(new SharedArrayBuffer(50_000), 10_000, 30_000);
    await b.loadInto({ type: 'pack', name: 'ab01' }, { offset: 12_345, length: 30_000 }, target);
    expect(Buffer.from(target).equals(data.subarray(12_345, 42_345))).toBe(true);
    expect(await code(b.loadInto({ type: 'pack', name: 'ab01' }, { offset: 200_000, length: 10 }, new Uint8Array(10)))).toBe('CORRUPT');
    await b.close();
  });

  it('scavenges after every 2 MiB of response body read into a buffer through Node http (its dead socket and parser chunks), never a full collection', async () => {
    const calls: (string | undefined)[] = [];
    const b = open({ collect: (o) => calls.push(o?.type), directGets: false });
    const data = Buffer.alloc(11 << 20, 7); // 22 MiB of dead chunks: 5 scavenges whatever the chunk sizes
    await b.save({ type: 'pack', name: 'ab03' }, data);
    const target = Buffer.alloc(data.length);
    await b.loadInto({ type: 'pack', name: 'ab03' }, { offset: 0, length: data.length }, target);
    expect(target.equals(data)).toBe(true);
    expect(calls).toEqual(['minor', 'minor', 'minor', 'minor', 'minor']);
    await b.close();
  });

  it('ranged GETs into a buffer read in place (direct GETs, http endpoints): no dead chunks, no collection, errors as before', async () => {
    const calls: (string | undefined)[] = [];
    const b = open({ collect: (o) => calls.push(o?.type) });
    const data = Buffer.alloc(11 << 20);
    for (let i = 0; i < data.length; i += 997) data[i] = i & 0xff;
    await b.save({ type: 'pack', name: 'ab04' }, data);
    const target = Buffer.alloc(data.length);
    await b.loadInto({ type: 'pack', name: 'ab04' }, { offset: 0, length: data.length }, target);
    expect(target.equals(data)).toBe(true);
    const part = await b.load({ type: 'pack', name: 'ab04' }, { offset: 1_000_003, length: 77_777 });
    expect(Buffer.from(part).equals(data.subarray(1_000_003, 1_077_780))).toBe(true);
    expect(calls).toEqual([]);
    expect(await code(b.loadInto({ type: 'pack', name: 'ab04' }, { offset: data.length - 5, length: 10 }, new Uint8Array(10)))).toBe('CORRUPT');
    expect(await code(b.loadInto({ type: 'pack', name: 'nope' }, { offset: 0, length: 10 }, new Uint8Array(10)))).toBe('NOT_FOUND');
    expect(b.requests.GET).toBe(4); // one each, no fallback
    await b.close();
  });

  it('uploads large files as multipart (one object, same bytes) and aborts stale uploads on removeTemporary', async () => {
    const b = open({ multipartThreshold: 6 << 20, partSize: 5 << 20 });
    const data = Buffer.alloc(11 << 20);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i >> 12) & 0xff;
    await b.save({ type: 'pack', name: 'cd02' }, data);
    expect(b.requests.POST).toBe(2); // create + complete
    expect(Buffer.from(await b.load({ type: 'pack', name: 'cd02' })).equals(data)).toBe(true);
    // create-only also for multipart (If-None-Match is ignored on complete): HEAD before
    expect(await code(b.save({ type: 'pack', name: 'cd02' }, data))).toBe('ALREADY_EXISTS');
    // an upload a killed process left behind
    const client = makeS3Client(b.location, { credentials: s3! });
    await client.send(new CreateMultipartUploadCommand({ Bucket: b.location.bucket, Key: `${b.location.prefix}/data/ef/ef03` }));
    client.destroy();
    expect(await b.removeTemporary(['pack', 'index'])).toBe(1);
    expect(await b.removeTemporary(['pack', 'index'])).toBe(0);
    await b.close();
  });

  it('a multipart upload that fails midway is aborted: no parts left behind, no object', async () => {
    const b = open({ multipartThreshold: 6 << 20, partSize: 5 << 20 });
    const ac = new AbortController();
    const watch = setInterval(() => {
      if (b.requests.PUT >= 1) ac.abort(); // CreateMultipartUpload done, the first part on its way
    }, 1);
    const err = await b.save({ type: 'pack', name: 'ab99' }, Buffer.alloc(16 << 20, 1), { signal: ac.signal }).catch((e: unknown) => e);
    clearInterval(watch);
    expect(isStowageError(err, 'ABORTED')).toBe(true);
    expect(b.requests.POST).toBe(1); // created, never completed
    expect(b.requests.DELETE).toBeGreaterThanOrEqual(1); // AbortMultipartUpload
    expect(await pendingUploads(s3!, b.location)).toBe(0);
    expect(await b.exists({ type: 'pack', name: 'ab99' })).toBe(false);
    await b.close();
  });

  it('probes If-None-Match once per repository and remembers the answer in the cache dir', async () => {
    const b = open();
    await b.save({ type: 'snapshot', name: 's1' }, Buffer.from('a'));
    const afterFirst = { ...b.requests };
    expect(afterFirst.PUT).toBe(3); // probe put, conditional probe put, the file
    expect(afterFirst.HEAD).toBe(0);
    const probes = fs.readdirSync(path.join(cacheDir, 's3-probe'));
    expect(probes.length).toBeGreaterThan(0);
    const again = new S3Backend(b.location, { credentials: s3!, cacheDir });
    await again.save({ type: 'snapshot', name: 's2' }, Buffer.from('b'));
    expect(again.requests).toMatchObject({ PUT: 1, HEAD: 0, DELETE: 0 });
    expect(await code(again.save({ type: 'snapshot', name: 's2' }, Buffer.from('b')))).toBe('ALREADY_EXISTS');
    await b.close();
    await again.close();
  });

  it('remove HEADs first (NOT_FOUND when missing); with missingOk it is one DELETE (a lock release)', async () => {
    const b = open();
    const h = { type: 'lock' as const, name: 'l1' };
    await b.save(h, Buffer.from('a'));
    const before = { ...b.requests };
    await b.remove(h, { missingOk: true });
    expect(b.requests.HEAD - before.HEAD).toBe(0);
    expect(b.requests.DELETE - before.DELETE).toBe(1);
    expect(await b.exists(h)).toBe(false);
    await b.save(h, Buffer.from('a'));
    await b.remove(h);
    expect(await code(b.remove(h))).toBe('NOT_FOUND');
    expect(b.requests.HEAD - before.HEAD).toBe(3); // exists, then one per plain remove
    await b.close();
  });

  it("takes a save's SHA-256 from the caller (contentSha256): the store checks it against the body, so a wrong one fails and stores nothing", async () => {
    const b = open();
    expect(b.info.contentSha256).toBe(true);
    const parts = [Buffer.from('pack '), Buffer.from('bytes')];
    const sha256 = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    await b.saveParts({ type: 'pack', name: 'p1' }, parts, { sha256 });
    expect(Buffer.from(await b.load({ type: 'pack', name: 'p1' })).toString()).toBe('pack bytes');
    const wrong = createHash('sha256').update('other bytes').digest('hex');
    const err = await b.saveParts({ type: 'pack', name: 'p2' }, parts, { sha256: wrong }).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND')).toBe(true);
    expect(await b.exists({ type: 'pack', name: 'p2' })).toBe(false);
    const sdk = open({ leanRequests: false });
    expect(sdk.info.contentSha256).toBe(false); // the SDK hashes its bodies itself
    await sdk.close();
    await b.close();
  });

  it('isEmpty and create work on a missing bucket, a bucket and a prefix; create says it made the bucket', async () => {
    const notices: string[] = [];
    const b = open({ newBucket: true, onNotice: (m) => notices.push(m) });
    expect(await b.isEmpty()).toBe(true);
    expect(await code(b.load({ type: 'config', name: 'config' }))).toBe('NO_REPOSITORY');
    await b.create();
    expect(notices).toEqual([`created bucket ${b.location.bucket} at ${s3!.endpoint}`]);
    await b.create(); // exists: nothing to say
    expect(notices.length).toBe(1);
    expect(await b.isEmpty()).toBe(true);
    await b.save({ type: 'config', name: 'config' }, Buffer.from('{}'));
    expect(await b.isEmpty()).toBe(false);
    // a prefix beside a repository is empty
    const sibling = new S3Backend({ ...b.location, prefix: 'other' }, { credentials: s3! });
    expect(await sibling.isEmpty()).toBe(true);
    await sibling.close();
    await b.close();
  });

  it('with checksums turned on (AWS) writes and reads still work on this store', async () => {
    const b = open({ checksums: 'when_supported' });
    const data = Buffer.alloc(300_000, 7);
    await b.save({ type: 'pack', name: 'aa77' }, data);
    expect(Buffer.from(await b.load({ type: 'pack', name: 'aa77' })).equals(data)).toBe(true);
    await b.close();
  });

  it('bad credentials are a BACKEND error that names the cause, not retryable', async () => {
    const b = new S3Backend(testLocation(s3!), { credentials: { accessKeyId: s3!.accessKeyId, secretAccessKey: 'wrong' } });
    const err = await b.load({ type: 'config', name: 'config' }).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND')).toBe(true);
    expect((err as Error).message).toMatch(/credentials were refused/);
    expect((err as { retryable: boolean }).retryable).toBe(false);
    await b.close();
  });

  it('requests outside the SDK (the default with an endpoint) read, write and list what the SDK does and fail alike, also under a prefix that needs escaping', async () => {
    const base = testLocation(s3!);
    const loc = { ...base, prefix: `${base.prefix}/dir with space+plus~é(1)&<x>` };
    made.push(loc);
    const lean = new S3Backend(loc, { credentials: s3!, cacheDir });
    const sdk = new S3Backend(loc, { credentials: s3!, cacheDir, leanRequests: false });
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    await sdk.save({ type: 'pack', name: 'ab12' }, data);
    await lean.save({ type: 'pack', name: 'ab14' }, data.subarray(0, 1000));
    await lean.saveParts!({ type: 'index', name: 'i1' }, [data.subarray(0, 10), data.subarray(10, 25)]);
    for (const b of [lean, sdk]) {
      expect(Buffer.from(await b.load({ type: 'pack', name: 'ab12' })).equals(data)).toBe(true);
      expect(Buffer.from(await b.load({ type: 'pack', name: 'ab12' }, { offset: 299_990, length: 10 })).equals(data.subarray(299_990))).toBe(true);
      expect(Buffer.from(await b.load({ type: 'pack', name: 'ab14' })).equals(data.subarray(0, 1000))).toBe(true);
      expect(Buffer.from(await b.load({ type: 'index', name: 'i1' })).equals(data.subarray(0, 25))).toBe(true);
      expect(await code(b.load({ type: 'pack', name: 'ab13' }))).toBe('NOT_FOUND');
      expect(await code(b.load({ type: 'pack', name: 'ab12' }, { offset: 300_000, length: 1 }))).toBe('CORRUPT');
      expect(await code(b.save({ type: 'pack', name: 'ab14' }, data))).toBe('ALREADY_EXISTS');
      expect(await b.stat({ type: 'pack', name: 'ab14' })).toEqual({ size: 1000 });
      const listed: string[] = [];
      for await (const f of b.list('pack')) listed.push(`${f.name}:${f.size}`);
      expect(listed.sort()).toEqual(['ab12:300000', 'ab14:1000']);
      expect(await b.isEmpty()).toBe(false);
    }
    await lean.remove({ type: 'index', name: 'i1' });
    expect(await sdk.exists({ type: 'index', name: 'i1' })).toBe(false);
    // the SDK's client was never loaded for these
    expect((lean as unknown as { sdkReady?: unknown }).sdkReady).toBeUndefined();
    expect((sdk as unknown as { sdkReady?: unknown }).sdkReady).toBeDefined();
    const wrong = { accessKeyId: s3!.accessKeyId, secretAccessKey: 'wrong' };
    for (const leanRequests of [true, false]) {
      const b = new S3Backend(loc, { credentials: wrong, leanRequests });
      const err = await b.load({ type: 'pack', name: 'ab12' }).catch((e: unknown) => e);
      expect(isStowageError(err, 'BACKEND') && !err.retryable && /credentials were refused/.test(err.message)).toBe(true);
      await b.close();
    }
    await lean.close();
    await sdk.close();
  });

  it('a GET on a refused connection or a silent server is a retryable BACKEND error (connect and idle timeouts)', async () => {
    const refused = new S3Backend({ kind: 's3', endpoint: 'http://127.0.0.1:9', bucket: 'nothere', prefix: '', pathStyle: true }, { credentials: s3! });
    const err = await refused.load({ type: 'config', name: 'config' }).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND') && err.retryable && /connection refused/.test(err.message)).toBe(true);
    await refused.close();
    // accepts, reads the request, never answers
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => void sockets.push(s.on('data', () => undefined)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const silent = new S3Backend({ kind: 's3', endpoint: `http://127.0.0.1:${port}`, bucket: 'b', prefix: '', pathStyle: true }, { credentials: s3!, idleTimeoutMs: 200 });
    const t0 = Date.now();
    const err2 = await silent.load({ type: 'pack', name: 'ab12' }, { offset: 0, length: 10 }).catch((e: unknown) => e);
    expect(isStowageError(err2, 'BACKEND') && err2.retryable).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    await silent.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('connection refused is a retryable BACKEND error', async () => {
    const b = new S3Backend({ kind: 's3', endpoint: 'http://127.0.0.1:9', bucket: 'nothere', prefix: '', pathStyle: true }, { credentials: s3! });
    const err = await b.stat({ type: 'config', name: 'config' }).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND')).toBe(true);
    expect((err as Error).message).toMatch(/connection refused/);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    await b.close();
  });
});
