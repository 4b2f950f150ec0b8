/**
 * Adversarial tar input through snapshot and restore (in memory): every input either
 * round-trips byte for byte or fails with a clean StowageError, never a wrong restore.
 * A seeded fuzz loop mutates the headers of an image archive (sizes, types, checksums,
 * base-256 claims, truncation, inserted bytes); the same inputs go through the tar
 * lister and image facts, which must not throw.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { restoreToStream } from '../restore/restore.js';
import { snapshotStream } from '../snapshot/create.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { restoreBytes, seeded, sharedTestRepo } from '../testing/fixtures.js';
import { splitAll, tarEntry, tarHeader, tarOf } from '../testing/tars.js';
import { BLOCK, checksum } from '../split/tar-header.js';
import { Writable } from 'node:stream';
import { imageFacts } from './facts.js';
import { TarLister } from './tar-list.js';
import { prng } from '../testing/prng.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function snapshotOf(repo: Repository, data: Buffer, format: 'auto' | 'docker' = 'auto', piece = 8192): Promise<Snapshot> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < data.length; off += piece) yield Buffer.from(data.subarray(off, off + piece));
  }
  return snapshotStream(repo, source(), { kind: 'stdin', path: '-' }, { name: 'fuzz', workers: 0, format });
}

/** A docker-archive with a PAX record, a GNU long name and a gzip layer: headers of every kind to mutate. */
function baseImage(): Buffer {
  const l1 = Buffer.concat([
    tarEntry({ name: 'PaxHeaders/x', type: 'x' }, Buffer.from('30 path=usr/share/pax-name.txt\n')),
    tarEntry({ name: 'usr/share/pax-name.txt' }, seeded('pax', 3000)),
    tarEntry({ name: '././@LongLink', type: 'L', magic: 'gnu' }, Buffer.from(`${'n'.repeat(130)}\0`)),
    tarEntry({ name: 'n'.repeat(99), magic: 'gnu' }, seeded('long', 9000)),
    tarEntry({ name: 'bin/sh', type: '2', linkname: 'busybox' }),
    tarEntry({ name: 'bin/busybox', mode: 0o755 }, seeded('bb', 20_000)),
    Buffer.alloc(1024),
  ]);
  const l2 = gzipSync(tarOf([{ name: 'etc/hosts', data: Buffer.from('127.0.0.1 localhost\n') }]));
  const config = json({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(l1)}`, 'sha256:' + '0'.repeat(64)] } });
  return tarOf([
    { name: `${sha(l1)}.tar`, data: l1 },
    { name: `${sha(l2)}.tar`, data: l2 },
    { name: `${sha(config)}.json`, data: config },
    { name: 'manifest.json', data: json([{ Config: `${sha(config)}.json`, RepoTags: ['fuzz:1'], Layers: [`${sha(l1)}.tar`, `${sha(l2)}.tar`] }]) },
  ]);
}

/** Offsets of every 512-byte block that parses as a header, at any depth (mutation targets). */
function headerOffsets(input: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + BLOCK <= input.length; off += BLOCK) {
    const b = input.subarray(off, off + BLOCK);
    if (b.some((x) => x !== 0) && Number.parseInt(b.toString('latin1', 148, 154), 8) === checksum(b)) out.push(off);
  }
  return out;
}

function writeOctal(b: Buffer, off: number, len: number, v: number): void {
  b.write(
    v
      .toString(8)
      .padStart(len - 1, '0')
      .slice(-(len - 1)) + '\0',
    off,
    len,
    'latin1',
  );
}

function fixChecksum(b: Buffer, h: number): void {
  writeOctal(b, h + 148, 7, checksum(b.subarray(h, h + BLOCK)));
  b[h + 155] = 0x20;
}

/** One mutated copy of `base`, chosen by `rnd`. */
function mutate(base: Buffer, headers: number[], rnd: () => number): { input: Buffer; how: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const b = Buffer.from(base);
  const h = pick(headers);
  const kind = Math.floor(rnd() * 9);
  const keepChecksum = rnd() < 0.7;
  let how: string;
  switch (kind) {
    case 0: {
      const v = Math.floor(rnd() * 100_000);
      writeOctal(b, h + 124, 12, v);
      how = `size ${v}`;
      break;
    }
    case 1: {
      // base-256 size: from a few bytes up to beyond 8 GiB or 2^53
      const big = [0x80, 0, 0, 0, 0, 0, 0, Math.floor(rnd() * 256), Math.floor(rnd() * 256), 0, Math.floor(rnd() * 256), Math.floor(rnd() * 256)];
      if (rnd() < 0.2) big[1] = 0xff;
      Buffer.from(big).copy(b, h + 124);
      how = 'base-256 size';
      break;
    }
    case 2: {
      const t = pick(['0', '1', '2', '5', 'x', 'g', 'L', 'K', 'S', '7', 'V', 'Z', '\0']);
      b.write(t, h + 156, 1, 'latin1');
      how = `type ${JSON.stringify(t)}`;
      break;
    }
    case 3: {
      const at = Math.floor(rnd() * BLOCK);
      b[h + at] = Math.floor(rnd() * 256);
      how = `byte ${at}`;
      break;
    }
    case 4: {
      const cut = h + Math.floor(rnd() * (b.length - h));
      return { input: b.subarray(0, cut), how: `truncated at ${cut}` };
    }
    case 5: {
      const n = 1 + Math.floor(rnd() * 700);
      return { input: Buffer.concat([b.subarray(0, h), seeded(`ins${n}`, n), b.subarray(h)]), how: `inserted ${n} bytes before a header` };
    }
    case 6: {
      b.write('ustar\u000000', h + 257, 8, 'latin1');
      b[h + 345] = 0x61; // a prefix appears
      how = 'prefix';
      break;
    }
    case 7: {
      // a sparse header claiming extension blocks
      b.write('S', h + 156, 1, 'latin1');
      b[h + 482] = 1;
      how = 'sparse extended';
      break;
    }
    default: {
      // the header replaced by a zero block (early end of archive)
      b.fill(0, h, h + BLOCK);
      return { input: b, how: 'zero block' };
    }
  }
  if (keepChecksum) fixChecksum(b, h);
  return { input: b, how: `${how} at ${h}${keepChecksum ? '' : ' (checksum left wrong)'}` };
}

describe('adversarial tar input: round trip or clean error', () => {
  const shared = sharedTestRepo();

  it('the base image snapshots as a docker-archive and restores byte for byte', async () => {
    const base = baseImage();
    const snap = await snapshotOf(shared.repo, base);
    expect(snap.format).toBe('docker');
    expect(snap.image?.layers).toHaveLength(2);
    expect((await restoreBytes(shared.repo, snap.id)).equals(base)).toBe(true);
  });

  it('300 mutated headers: each round-trips exactly or fails cleanly', async () => {
    const base = baseImage();
    const headers = headerOffsets(base);
    expect(headers.length).toBeGreaterThan(8);
    const rnd = prng(20261121);
    const outcomes = { restored: 0, errors: 0, image: 0, tar: 0, raw: 0 };
    for (let i = 0; i < 300; i++) {
      const { input, how } = mutate(base, headers, rnd);
      const piece = 1 + Math.floor(rnd() * 20_000);
      // the splitter, lister and facts never throw and never lose a byte
      const split = splitAll(input, piece);
      expect(split.joined.equals(input), `case ${i}: ${how}`).toBe(true);
      expect(() => imageFacts(split.members), `case ${i}: ${how}`).not.toThrow();
      const lister = new TarLister(() => undefined);
      lister.push(input);
      lister.end();
      let snap: Snapshot;
      try {
        snap = await snapshotOf(shared.repo, input, 'auto', piece);
      } catch (err) {
        expect(isStowageError(err), `case ${i}: ${how}: ${String(err)}`).toBe(true);
        outcomes.errors++;
        continue;
      }
      const format = snap.format ?? 'raw';
      if (format === 'docker' || format === 'oci') outcomes.image++;
      else if (format === 'tar') outcomes.tar++;
      else outcomes.raw++;
      const parts: Buffer[] = [];
      const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(Buffer.from(c)), cb()) });
      const r = await restoreToStream(shared.repo, snap.id, sink, { workers: 0 });
      expect(Buffer.concat(parts).equals(input), `case ${i}: ${how}`).toBe(true);
      // a layer whose digest no longer matches is reported, never "fixed"
      if (r.warnings) expect(r.warnings.join()).toMatch(/does not match its digest/);
      outcomes.restored++;
    }
    expect(outcomes.restored + outcomes.errors).toBe(300);
    expect(outcomes.restored).toBeGreaterThan(250);
    expect(outcomes.image).toBeGreaterThan(0);
    expect(outcomes.tar).toBeGreaterThan(0);
  });

  it('a truncated archive round-trips as raw bytes or a plain tar', async () => {
    const base = baseImage();
    const lastEnd = Math.max(...splitAll(base, 65536).members.map((m) => m.offset + m.size));
    for (const cut of [100, BLOCK, BLOCK + 1, 5000, base.length >> 1, base.length - 1025, base.length - 1]) {
      const input = base.subarray(0, cut);
      const snap = await snapshotOf(shared.repo, input);
      // cut after the last member's data (manifest.json): every member is whole, the image complete
      expect(cut >= lastEnd ? ['docker'] : ['raw', 'tar']).toContain(snap.format);
      expect((await restoreBytes(shared.repo, snap.id)).equals(input), `cut ${cut}`).toBe(true);
    }
  });

  it('a header claiming a member over 8 GiB in a truncated archive round-trips', async () => {
    const input = Buffer.concat([tarHeader({ name: 'disk.img', size: 12n * 2n ** 30n, magic: 'gnu' }), seeded('disk', 300_000)]);
    const snap = await snapshotOf(shared.repo, input);
    expect(snap.format).toBe('tar');
    expect((await restoreBytes(shared.repo, snap.id)).equals(input)).toBe(true);
  });

  it('an image whose manifest names a missing layer is stored as a plain tar, with a warning', async () => {
    const base = baseImage();
    const members = splitAll(base, 65536).members;
    const manifest = members.find((m) => m.name === 'manifest.json')!;
    const doc = JSON.parse(Buffer.from(manifest.data!).toString()) as { Layers: string[] }[];
    doc[0]!.Layers.push(`${'f'.repeat(64)}.tar`);
    const rebuilt = tarOf(members.filter((m) => m.type === '0').map((m) => ({ name: m.name, data: m.name === 'manifest.json' ? json(doc) : base.subarray(m.offset, m.offset + m.size) })));
    const snap = await snapshotOf(shared.repo, rebuilt);
    expect(snap.format).toBe('tar');
    expect(snap.image?.warnings?.join()).toMatch(/layer f{64}\.tar is not in the archive/);
    expect(snap.image?.layers).toHaveLength(2); // what exists is recorded
    expect((await restoreBytes(shared.repo, snap.id)).equals(rebuilt)).toBe(true);
    // with --format docker the same input is refused, and nothing is committed
    const before = (await shared.repo.listNames('snapshot')).length;
    await expect(snapshotOf(shared.repo, rebuilt, 'docker')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not a complete docker-archive/) });
    expect((await shared.repo.listNames('snapshot')).length).toBe(before);
  });

  it('a snapshot that fails after reading its input does not poison the next one in the process', async () => {
    const notImage = tarOf([{ name: 'a.txt', data: seeded('np', 50_000) }]);
    await expect(snapshotOf(shared.repo, notImage, 'docker')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const data = tarOf([{ name: 'b.txt', data: seeded('np2', 30_000) }]);
    const snap = await snapshotOf(shared.repo, data);
    expect(snap.source.sha256).toBe(sha(data));
    expect((await restoreBytes(shared.repo, snap.id)).equals(data)).toBe(true);
  });

  it('a layer that does not match its stated digest restores as it was, with a warning naming it', async () => {
    const base = baseImage();
    const f = imageFacts(splitAll(base, 65536).members)!;
    const l = f.layers[0]!;
    const changed = Buffer.from(base);
    changed[l.offset + l.length - 2000]! ^= 0x55; // inside file data of the layer: still a valid tar
    const snap = await snapshotOf(shared.repo, changed);
    expect(snap.format).toBe('docker');
    const parts: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(Buffer.from(c)), cb()) });
    const r = await restoreToStream(shared.repo, snap.id, sink, { workers: 0 });
    expect(Buffer.concat(parts).equals(changed)).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings![0]).toContain(`layer ${l.digest}`);
    expect(r.imageBlobsVerified).toBe(2); // the other layer and the config
  });
});
