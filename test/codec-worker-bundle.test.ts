/**
 * Issue 13 item 2: the CLI bundle's codec worker is a CommonJS file (packages/cli/dist/
 * codec-worker.cjs, scripts/bundle.mjs), because a worker that loads an ES module boots
 * Node's ESM loader first (about 15 ms of CPU more per worker; snapshots and restores
 * start two). Pinned here: the file is CommonJS, no ES-module worker is left beside it,
 * and it runs the codec in an encrypted repository's setting (its native addons found
 * through the substituted import.meta.url): an encode, its own verification, and a decode.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { keyedBlake3 } from '../packages/core/dist/hash/blake3.js';
import { BIN } from './helpers/cli.js';

const DIST = path.join(path.dirname(BIN), '../dist');

function ask(w: Worker, req: object): Promise<{ ok: boolean; result?: unknown; message?: string }> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(req);
  });
}

describe('the bundled codec worker', () => {
  it('is CommonJS and replaces the ES-module worker', () => {
    const src = fs.readFileSync(path.join(DIST, 'codec-worker.cjs'), 'utf8');
    expect(src).toMatch(/require\("node:worker_threads"\)/);
    expect(src).not.toMatch(/^import /m);
    expect(src).not.toMatch(/import\.meta/);
    expect(fs.existsSync(path.join(DIST, 'codec-worker.js'))).toBe(false);
  });

  it('encodes (verifying) and decodes an encrypted batch', async () => {
    const idKey = randomBytes(32);
    const w = new Worker(path.join(DIST, 'codec-worker.cjs'), { workerData: { level: 3, cipher: { algorithm: 'aes-256-gcm', key: randomBytes(32) }, idKey } });
    try {
      const plain = Buffer.concat([Buffer.alloc(100_000, 'a'), randomBytes(50_000)]);
      const data = new Uint8Array(plain);
      const enc = await ask(w, { seq: 1, op: 'encode', data, lengths: [100_000, 50_000], frameTarget: 0 });
      expect(enc.ok, enc.message).toBe(true);
      const r = enc.result as { stored: Uint8Array; storedLengths: number[]; compressed: boolean[] };
      expect(r.compressed).toEqual([true, false]);
      expect(r.storedLengths[0]).toBeLessThan(1000);
      expect(r.storedLengths[1]).toBe(50_000 + 28);
      const id = (b: Buffer) => keyedBlake3(idKey, b);
      const items = (ids: Uint8Array[]) => [
        { offset: 0, length: r.storedLengths[0]!, rawLength: 100_000, compressed: true, id: ids[0]! },
        { offset: r.storedLengths[0]!, length: r.storedLengths[1]!, rawLength: 50_000, compressed: false, id: ids[1]! },
      ];
      const dec = await ask(w, { seq: 2, op: 'decode', data: new Uint8Array(r.stored), items: items([id(plain.subarray(0, 100_000)), id(plain.subarray(100_000))]), what: 'test' });
      expect(dec.ok, dec.message).toBe(true);
      expect(Buffer.from((dec.result as { plain: Uint8Array }).plain).equals(plain)).toBe(true);
      // decode with wrong ids: every blob is checked against its id, so the worker reports CORRUPT
      const bad = await ask(w, { seq: 3, op: 'decode', data: new Uint8Array(r.stored), items: items([new Uint8Array(32), new Uint8Array(32)]), what: 'test' });
      expect(bad.ok).toBe(false);
      expect(bad.message).toMatch(/does not match its id/);
    } finally {
      await w.terminate();
    }
  });
});
