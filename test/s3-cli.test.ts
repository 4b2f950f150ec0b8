/**
 * Everything through the CLI on a real S3 (Ceph RGW, STOWAGE_TEST_S3): init (encrypted, in a
 * bucket it creates; plaintext, under a prefix), snapshot of an image file and of stdin,
 * snapshots, ls (--files), restore (file, stdout, one layer), forget, gc, check --read-data,
 * repair index, key add/remove/passwd, unlock; every object scanned for a plaintext marker;
 * and the four S3 errors (wrong credentials, missing bucket, unreachable endpoint, no write
 * permission): one line each, a stable code, non-zero exit, nothing stored changed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Location } from '../packages/core/src/backend/location.js';
import { allObjects, denyWrites, locationString, objectKeys, removeAll, requireTestS3, testLocation } from '../packages/core/src/testing/s3-env.js';
import { ROOT, sandbox, seededBytes, type RunResult, type Sandbox } from './helpers/cli.js';

const s3 = requireTestS3('S3 CLI tests');
const MARKER = 'STOWAGE-PLAINTEXT-MARKER-7f3a9c';

/** Input with the marker at many places between incompressible bytes. */
function markedInput(seed: string, n: number): Buffer {
  const b = seededBytes(seed, n);
  for (let off = 1000; off + MARKER.length < n; off += 65_536) b.write(MARKER, off);
  return b;
}

/** The error contract: exit non-zero, one line on stderr with the code, no stack. */
function oneLineError(r: RunResult, code: string): string {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^stowage: .*\\[${code}\\]$`));
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe.skipIf(!s3)('the CLI on S3 (Ceph RGW)', () => {
  let sb: Sandbox;
  let enc: S3Location; // encrypted, in a bucket of its own that init creates
  let plain: S3Location; // plaintext, under a prefix of the shared test bucket
  let image: string;
  const input = markedInput('s3-cli', 3_000_000);
  const run = (loc: S3Location, args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}) =>
    sb.run(['-r', locationString(loc), ...args], { ...opts, env: { ...s3!.env, ...opts.env } });

  beforeAll(() => {
    sb = sandbox();
    enc = testLocation(s3!, { newBucket: true });
    plain = testLocation(s3!);
    image = sb.file('sample-v2.tar');
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), image, '2']);
    expect(r.status, r.stderr?.toString()).toBe(0);
    fs.writeFileSync(sb.file('input.bin'), input);
  });
  afterAll(async () => {
    await removeAll(s3!, enc);
    await removeAll(s3!, plain);
    sb?.cleanup();
  });

  it('init: encrypted in a new bucket (and says it created it), plaintext under a prefix', () => {
    const e = run(enc, ['init']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toContain(`created bucket ${enc.bucket}`);
    expect(e.stdout).toMatch(/created stowage repository .* at s3:http.*\(encrypted, key/);
    const p = run(plain, ['init', '--insecure-no-encryption']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/NOT encrypted/);
    // a second init on a non-empty location is refused
    expect(oneLineError(run(plain, ['init', '--insecure-no-encryption']), 'REPOSITORY_EXISTS')).toBeTruthy();
  });

  for (const which of ['encrypted', 'plaintext'] as const) {
    it(`${which}: snapshot of an image file and of stdin, snapshots, ls --files, restore file/stdout/one layer`, () => {
      const loc = which === 'encrypted' ? enc : plain;
      const img = run(loc, ['snapshot', image, '--json']);
      expect(img.code, img.stderr).toBe(0);
      const imgId = JSON.parse(img.stdout).id as string;
      const std = run(loc, ['snapshot', '-', '--name', 'blob', '--tag', 't1', '--json'], { input });
      expect(std.code, std.stderr).toBe(0);
      const stdId = JSON.parse(std.stdout).id as string;
      const list = run(loc, ['snapshots']);
      expect(list.stdout).toContain(imgId.slice(0, 8));
      expect(list.stdout).toContain(stdId.slice(0, 8));
      expect(list.stdout).toMatch(/2 snapshots/);
      const ls = JSON.parse(run(loc, ['--json', 'ls', imgId]).stdout) as { image: { layers: { digest: string }[] } };
      expect(ls.image.layers).toHaveLength(2);
      const files = run(loc, ['ls', imgId, '--files']);
      expect(files.code, files.stderr).toBe(0);
      expect(files.stdout).toContain('usr/lib/sample2/lib4.so');
      const out = sb.file(`${which}-img.tar`);
      expect(run(loc, ['restore', imgId, out]).code).toBe(0);
      expect(fs.readFileSync(out).equals(fs.readFileSync(image))).toBe(true);
      const piped = run(loc, ['restore', stdId, '-']);
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdoutBytes.equals(input)).toBe(true);
      const layer = run(loc, ['restore', imgId, sb.file(`${which}-layer.tar`), '--layer', ls.image.layers[1]!.digest]);
      expect(layer.code, layer.stderr).toBe(0);
      expect(fs.statSync(sb.file(`${which}-layer.tar`)).size).toBeGreaterThan(1_000_000);
    });
  }

  it('the encrypted bucket holds no plaintext (every object scanned); the plaintext one does (the scan works)', async () => {
    const encObjects = await allObjects(s3!, enc);
    expect(encObjects.length).toBeGreaterThan(5);
    for (const o of encObjects) expect(o.body.includes(MARKER), o.key).toBe(false);
    for (const o of encObjects) expect(o.body.includes('usr/lib/sample2'), o.key).toBe(false);
    const plainObjects = await allObjects(s3!, plain);
    expect(plainObjects.some((o) => o.body.includes(MARKER))).toBe(true);
  });

  it('forget, gc, check --read-data, repair index, unlock', () => {
    for (let i = 0; i < 3; i++) expect(run(enc, ['snapshot', '-', '--name', 'blob', '--force'], { input: markedInput(`round${i}`, 500_000) }).code).toBe(0);
    const f = run(enc, ['forget', '--keep-last', '1', '--group-by', 'name']);
    expect(f.code, f.stderr).toBe(0);
    const gc = run(enc, ['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    const check = run(enc, ['check', '--read-data']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/no errors found/);
    const repair = run(enc, ['repair', 'index']);
    expect(repair.code, repair.stderr).toBe(0);
    expect(run(enc, ['check', '--read-data']).code).toBe(0);
    const snaps = JSON.parse(run(enc, ['snapshots', '--json']).stdout) as { id: string; name: string }[];
    expect(snaps).toHaveLength(2); // forget kept the newest 'blob' and the image snapshot
    expect(snaps.filter((s) => s.name === 'blob')).toHaveLength(1);
    const last = snaps.find((s) => s.name === 'blob')!;
    expect(run(enc, ['restore', last.id, '-']).stdoutBytes.equals(markedInput('round2', 500_000))).toBe(true);
    const unlock = run(enc, ['unlock']);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(unlock.stdout).toMatch(/no stale locks/);
  });

  it('key add, passwd, remove', () => {
    const keys = () => JSON.parse(run(enc, ['key', 'list', '--json']).stdout) as { id: string; current: boolean }[];
    const old = keys()[0]!.id;
    const add = run(enc, ['key', 'add', '--json'], { env: { STOWAGE_NEW_PASSWORD: 'second' } });
    expect(add.code, add.stderr).toBe(0);
    expect(keys()).toHaveLength(2);
    const pw = run(enc, ['key', 'passwd'], { env: { STOWAGE_PASSWORD: 'second', STOWAGE_NEW_PASSWORD: 'third' } });
    expect(pw.code, pw.stderr).toBe(0);
    const rm = run(enc, ['key', 'remove', old.slice(0, 8)], { env: { STOWAGE_PASSWORD: 'third' } });
    expect(rm.code, rm.stderr).toBe(0);
    expect(run(enc, ['snapshots']).code).toBe(12); // the old password opens nothing now
    expect(run(enc, ['snapshots'], { env: { STOWAGE_PASSWORD: 'third' } }).code).toBe(0);
    expect(run(enc, ['check', '--read-data'], { env: { STOWAGE_PASSWORD: 'third' } }).code).toBe(0);
  });

  it('errors: wrong credentials, missing bucket, unreachable endpoint, no write permission: one line, a code, nothing changed', async () => {
    const before = await objectKeys(s3!, plain);
    const wrong = oneLineError(run(plain, ['snapshots'], { env: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' } }), 'BACKEND');
    expect(wrong).toMatch(/credentials were refused/);
    oneLineError(run(plain, ['snapshot', sb.file('input.bin')], { env: { AWS_ACCESS_KEY_ID: 'nobody' } }), 'BACKEND');

    const missing = { ...plain, bucket: `stowage-missing-${Date.now()}` };
    expect(oneLineError(run(missing, ['snapshots']), 'NO_REPOSITORY')).toMatch(/bucket stowage-missing-\d+ does not exist/);
    oneLineError(run(missing, ['snapshot', sb.file('input.bin')]), 'NO_REPOSITORY');

    const t0 = Date.now();
    const unreachable = oneLineError(sb.run(['-r', 's3:http://127.0.0.1:9/bucket', 'snapshots'], { env: s3!.env }), 'BACKEND');
    expect(unreachable).toMatch(/connection refused/);
    expect(Date.now() - t0).toBeLessThan(60_000);

    // a bucket whose policy denies writes (and deletes): snapshot, forget and gc fail cleanly
    const ro = testLocation(s3!, { newBucket: true });
    expect(run(ro, ['init', '--insecure-no-encryption']).code).toBe(0);
    expect(run(ro, ['snapshot', sb.file('input.bin')]).code).toBe(0);
    await denyWrites(s3!, ro, true);
    const roBefore = await objectKeys(s3!, ro);
    expect(oneLineError(run(ro, ['snapshot', '-', '--name', 'x'], { input: 'new data' }), 'BACKEND')).toMatch(/access denied/);
    oneLineError(run(ro, ['forget', 'latest']), 'BACKEND');
    expect(await objectKeys(s3!, ro)).toEqual(roBefore);
    // reading still works: the lock cannot be written, so restore reads without one and says so
    const readOnly = run(ro, ['restore', 'latest', '-']);
    expect(readOnly.code).toBe(0);
    expect(readOnly.stdoutBytes.equals(input)).toBe(true);
    expect(readOnly.stderr).toMatch(/read-only .*reading without a lock/);
    expect(run(ro, ['--no-lock', 'restore', 'latest', '-']).stdoutBytes.equals(input)).toBe(true);
    await denyWrites(s3!, ro, false);
    await removeAll(s3!, ro);

    expect(await objectKeys(s3!, plain)).toEqual(before);
  });
});
