/**
 * Many operations on one Repository object at once (issue 9): two and four restores, a
 * restore beside a snapshot, two snapshots, ranged reads and file listings beside them,
 * with codec workers and inline, plaintext and encrypted. Every restored byte must be the
 * snapshotted byte and every recorded sha256 the input's; the caller's buffers handed to
 * snapshotStream stay intact.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLayers } from '../image/facts.js';
import { listFiles } from '../restore/list-files.js';
import { readRange } from '../restore/range.js';
import { restoreToStream } from '../restore/restore.js';
import { snapshotStream } from '../snapshot/create.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { seeded, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { tarOf } from '../testing/tars.js';
import { TEST_KDF } from './keys.js';
import type { Repository } from './repository.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** An OCI archive of about 6 MiB (over the 4 MiB below which restores run inline): two layers of files. */
function image(tag: string): Buffer {
  const layers = [0, 1].map((l) =>
    tarOf([
      { name: `${tag}${l}/`, type: '5' },
      { name: `${tag}${l}/big`, data: seeded(`${tag}${l}big`, 2_500_000) },
      { name: `${tag}${l}/small`, data: seeded(`${tag}${l}small`, 300_000) },
    ]),
  );
  const config = json({ os: 'linux', architecture: 'amd64', tag });
  const manifest = json({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: layers.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(d)}`, size: d.length })),
  });
  const index = json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] });
  return tarOf([
    ...[...layers, config, manifest].map((d) => ({ name: `blobs/sha256/${sha(d)}`, data: d })),
    { name: 'index.json', data: index },
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
  ]);
}

/** 64 KiB pieces in fresh memory (each its own ArrayBuffer), kept in `given` so the test can look at them afterwards. */
async function* pieces(data: Buffer, given: Buffer[]): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += 65536) {
    const p = Buffer.alloc(Math.min(65536, data.length - off));
    data.copy(p, 0, off);
    given.push(p);
    yield p;
  }
}

async function snap(repo: Repository, data: Buffer, name: string, workers: number, given: Buffer[] = []): Promise<Snapshot> {
  const s = await snapshotStream(repo, pieces(data, given), { kind: 'stdin', path: '-' }, { name, workers });
  expect(s.source.sha256, `${name}: recorded sha256`).toBe(sha(data));
  expect(s.source.size).toBe(data.length);
  return s;
}

async function restore(repo: Repository, s: Snapshot, workers: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  // small windows: the restores' pieces interleave
  const r = await restoreToStream(repo, s.id, sink, { workers, windowBytes: 256 * 1024 });
  expect(r.sha256).toBe(s.source.sha256);
  return Buffer.concat(parts);
}

/** Reads the first layer through the ranged reader and lists its files; checks both. */
async function rangeAndList(repo: Repository, s: Snapshot, data: Buffer, workers: number): Promise<void> {
  const layer = allLayers(s.image!)[0]!;
  const got: Buffer[] = [];
  for await (const run of readRange(repo, s, layer.offset, layer.length, { workers, windowBytes: 256 * 1024 })) for (const p of run) got.push(Buffer.from(p));
  expect(Buffer.concat(got).equals(data.subarray(layer.offset, layer.offset + layer.length))).toBe(true);
  const names: string[] = [];
  const r = await listFiles(repo, s, layer, (e) => names.push(e.path), { workers });
  expect(r.problem).toBeUndefined();
  expect(names.map((n) => n.replace(/^[a-z]+\d/, ''))).toEqual(['/', '/big', '/small']);
}

for (const encrypted of [false, true]) {
  for (const workers of [2, 0]) {
    describe(`one repository, many operations at once (${encrypted ? 'encrypted' : 'plaintext'}, ${workers ? `${workers} workers` : 'inline'})`, () => {
      let cacheRoot: string;
      let repo: Repository;
      const inputs = new Map<string, Buffer>();
      const snaps = new Map<string, Snapshot>();
      const input = (tag: string): Buffer => {
        let d = inputs.get(tag);
        if (!d) inputs.set(tag, (d = image(tag)));
        return d;
      };

      beforeAll(async () => {
        cacheRoot = tempCacheRoot();
        ({ repo } = await testRepo(cacheRoot, { packSize: 1 << 20, ...(encrypted && { password: 'pw', kdf: TEST_KDF }) }));
        for (const tag of ['a', 'b']) snaps.set(tag, await snap(repo, input(tag), tag, workers));
      });
      afterAll(async () => {
        await repo.close();
        fs.rmSync(cacheRoot, { recursive: true, force: true });
      });

      it("snapshotStream leaves the caller's buffers intact", async () => {
        const given: Buffer[] = [];
        await snap(repo, input('a'), 'a2', workers, given);
        expect(given.length).toBeGreaterThan(1);
        expect(Buffer.concat(given).equals(input('a'))).toBe(true);
      });

      it('two restores at once', async () => {
        const [x, y] = await Promise.all([restore(repo, snaps.get('a')!, workers), restore(repo, snaps.get('a')!, workers)]);
        expect(x.equals(input('a'))).toBe(true);
        expect(y.equals(input('a'))).toBe(true);
      });

      it('four restores at once, with ranged reads and file listings beside them', async () => {
        const order = ['a', 'b', 'a', 'b'];
        const [outs] = await Promise.all([
          Promise.all(order.map((t) => restore(repo, snaps.get(t)!, workers))),
          rangeAndList(repo, snaps.get('b')!, input('b'), workers),
          rangeAndList(repo, snaps.get('a')!, input('a'), workers),
        ]);
        outs.forEach((o, i) => expect(o.equals(input(order[i]!)), `restore ${i}`).toBe(true));
      });

      it('a restore, a ranged read and a listing beside a snapshot', async () => {
        const [s, out] = await Promise.all([snap(repo, input('c'), 'c', workers), restore(repo, snaps.get('a')!, workers), rangeAndList(repo, snaps.get('b')!, input('b'), workers)]);
        expect(out.equals(input('a'))).toBe(true);
        expect((await restore(repo, s, workers)).equals(input('c'))).toBe(true);
      });

      it('two snapshots at once, beside a restore', async () => {
        const [d, e, out] = await Promise.all([snap(repo, input('d'), 'd', workers), snap(repo, input('e'), 'e', workers), restore(repo, snaps.get('b')!, workers)]);
        expect(out.equals(input('b'))).toBe(true);
        const [rd, re] = await Promise.all([restore(repo, d, workers), restore(repo, e, workers)]);
        expect(rd.equals(input('d'))).toBe(true);
        expect(re.equals(input('e'))).toBe(true);
        await rangeAndList(repo, e, input('e'), workers);
      });
    });
  }
}

describe('repo.codecs(n)', () => {
  it('honours n: one pool per worker count, shared by the callers asking for it', async () => {
    const cacheRoot = tempCacheRoot();
    const { repo } = await testRepo(cacheRoot);
    try {
      const inline = repo.codecs(0);
      const two = repo.codecs(2);
      expect(inline.maxWorkers).toBe(0);
      expect(two.maxWorkers).toBe(2);
      expect(repo.codecs(0)).toBe(inline);
      expect(repo.codecs(2)).toBe(two);
      expect(() => repo.codecs(-1)).toThrow(TypeError);
      // independent hashes on one pool
      const [x, y] = [two.sha256(), two.sha256()];
      await Promise.all([x.update([Buffer.from('a')]), y.update([Buffer.from('b')])]);
      expect(await x.digest()).toBe(sha(Buffer.from('a')));
      expect(await y.digest()).toBe(sha(Buffer.from('b')));
    } finally {
      await repo.close();
      fs.rmSync(cacheRoot, { recursive: true, force: true });
    }
  });
});
