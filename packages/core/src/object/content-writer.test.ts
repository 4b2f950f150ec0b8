/**
 * Splitting is lossless: whatever the input (tar or not, any piece sizes), the
 * chunk-list extents reassemble it exactly, and an unchanged layer gives the same blobs.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCutter } from '../chunker/index.js';
import { blake3 } from '../hash/blake3.js';
import type { WriteSession } from '../repository/write-session.js';
import { RawSplitter, type SplitEvent, type Splitter } from '../split/events.js';
import { TarSplitter } from '../split/tar-splitter.js';
import type { ChunkListWriter } from './chunk-list.js';
import { ContentWriter } from './content-writer.js';
import { Basis, pathKey, type BasisFile } from './file-map.js';

const params = { minSize: 4096, avgSize: 16384, maxSize: 65536, level: 1, seed: 0n };

function bytes(seed: string, n: number): Buffer {
  return createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Runs splitter + writer over `data` in pieces; returns the reassembled bytes and the blob ids. */
async function roundTrip(data: Buffer, splitter: Splitter, piece: (i: number) => number): Promise<{ back: Buffer; ids: Set<string>; sizes: Map<string, number> }> {
  const blobs = new Map<string, Buffer>();
  const session = {
    async saveChunks(_t: string, chunks: readonly Uint8Array[], ids: readonly Buffer[]) {
      chunks.forEach((c, i) => blobs.set(ids[i]!.toString('hex'), Buffer.from(c)));
      // the writer may reuse the chunks' memory once this resolves: nothing of it may matter any more
      for (const c of chunks) c.fill(0xdd);
      return { newBlobs: 0, newBytes: 0 };
    },
  } as unknown as WriteSession;
  const extents: [string, number, number][] = [];
  const lists = { add: async (id: Buffer, length: number, offset: number) => void extents.push([id.toString('hex'), offset, length]) } as unknown as ChunkListWriter;
  const w = new ContentWriter(session, createCutter(params), lists, (d) => blake3(d), createCutter(params));
  const ev: SplitEvent[] = [];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = Math.min(piece(i), data.length - off);
    const p = Buffer.from(data.subarray(off, off + n)); // a copy we then scribble on, like a transferred buffer
    off += n;
    splitter.push(p, ev);
    await w.process(ev);
    ev.length = 0;
    p.fill(0xee);
  }
  splitter.end(ev);
  await w.process(ev);
  await w.finish();
  const back = Buffer.concat(extents.map(([id, o, l]) => blobs.get(id)!.subarray(o, o + l)));
  return { back, ids: new Set(blobs.keys()), sizes: new Map([...blobs].map(([k, v]) => [k, v.length])) };
}

function makeTar(dir: string, files: Record<string, Buffer>, format = 'gnu'): Buffer {
  const root = fs.mkdtempSync(path.join(dir, 'root-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  const out = path.join(dir, `t-${Math.random().toString(36).slice(2)}.tar`);
  execFileSync('tar', [`--format=${format}`, '--sort=name', '-C', root, '-cf', out, '.']);
  return fs.readFileSync(out);
}

describe('ContentWriter + splitters', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-split-'));
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 60; i++) files[`dir${i % 5}/file-${i}.bin`] = bytes(`f${i}`, [0, 10, 300, 4000, 5000, 70000, 200000][i % 7]!);
  const layer = makeTar(tmp, files, 'pax');
  const image = makeTar(tmp, { 'layer1.tar': layer, 'layer2.tar': makeTar(tmp, { 'etc/a': bytes('a', 9000) }), 'manifest.json': Buffer.from('[]') });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true })); // nothing left in the temp directory (issue 15 item 10)

  for (const [name, pieceSize] of [
    ['1 MiB pieces', () => 1 << 20],
    ['odd pieces', (i: number) => 1 + ((i * 7919) % 70001)],
    ['single bytes then large', (i: number) => (i < 2000 ? 1 : 1 << 16)],
  ] as const) {
    it(`tar image round-trips exactly (${name})`, async () => {
      const { back } = await roundTrip(image, new TarSplitter(), pieceSize);
      expect(back.equals(image)).toBe(true);
    });
    it(`non-tar input round-trips exactly (${name})`, async () => {
      const data = bytes('raw', 3 << 20);
      const { back } = await roundTrip(data, new RawSplitter(), pieceSize);
      expect(back.equals(data)).toBe(true);
    });
  }

  it("a file changed in one layer leaves the other layer's blobs as they were", async () => {
    const a = await roundTrip(image, new TarSplitter(), () => 1 << 20);
    const changed = { ...files, 'dir0/file-0.bin': Buffer.from('changed') };
    const image2 = makeTar(tmp, { 'layer1.tar': makeTar(tmp, changed, 'pax'), 'layer2.tar': makeTar(tmp, { 'etc/a': bytes('a', 9000) }), 'manifest.json': Buffer.from('[]') });
    const b = await roundTrip(image2, new TarSplitter(), () => 1 << 20);
    const fresh = [...b.ids].filter((id) => !a.ids.has(id));
    // the changed file's small-file blob, the glue (headers) of the changed layer and of
    // the outer archive; the large files' chunks and the other layer are reused
    const freshBytes = fresh.reduce((n, id) => n + b.sizes.get(id)!, 0);
    const totalBytes = [...b.sizes.values()].reduce((n, x) => n + x, 0);
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.length).toBeLessThanOrEqual(8);
    expect(freshBytes / totalBytes).toBeLessThan(0.15);
  });

  it('a truncated tar round-trips as bytes', async () => {
    const cut = image.subarray(0, 123457);
    const { back } = await roundTrip(Buffer.from(cut), new TarSplitter(), () => 4096);
    expect(back.equals(cut)).toBe(true);
  });

  it('reuses its memory: carried tails and slice-stream blobs take the same few buffers however long the input', async () => {
    const allocationsFor = async (mib: number, raw: boolean): Promise<number> => {
      const session = { saveChunks: async () => ({ newBlobs: 0, newBytes: 0, deltaCandidates: 0 }) } as unknown as WriteSession;
      const lists = { count: 0, add: async () => undefined } as unknown as ChunkListWriter;
      const w = new ContentWriter(session, createCutter(params), lists, (d) => blake3(d), createCutter(params));
      const data = bytes('long', 1 << 20);
      for (let i = 0; i < mib; i++) {
        const ev: SplitEvent[] = [];
        if (raw) for (let at = 0; at < data.length; at += 99_991) ev.push({ kind: 'content', bytes: data.subarray(at, at + 99_991) });
        else
          for (let at = 0; at + 3000 <= data.length; at += 3512) {
            ev.push({ kind: 'glue', bytes: data.subarray(at + 3000, at + 3512) }, { kind: 'content', bytes: data.subarray(at, at + 3000) }, { kind: 'end-content' });
          }
        await w.process(ev);
      }
      if (raw) await w.process([{ kind: 'end-content' }]);
      await w.finish();
      return w.allocations;
    };
    for (const raw of [false, true]) {
      const short = await allocationsFor(4, raw);
      const long = await allocationsFor(32, raw);
      expect(short).toBeLessThanOrEqual(20); // one round's working set (1 MiB of events, 64 KiB chunks)
      expect(long).toBe(short);
    }
  });
});

describe('ContentWriter: old versions by path key', () => {
  it("takes a file event's key when given (hashed once, by the producer), looks nothing up for a null key, hashes the name otherwise", async () => {
    const hints: (Buffer | undefined)[] = [];
    const session = {
      async saveChunks(_t: string, chunks: readonly Uint8Array[], _ids: readonly Buffer[], h: readonly (Buffer | undefined)[]) {
        hints.push(...h);
        return { newBlobs: chunks.length, newBytes: 0, deltaCandidates: 0 };
      },
    } as unknown as WriteSession;
    const lists = { add: () => undefined, count: 0 } as unknown as ChunkListWriter;
    const old = (n: number): BasisFile => ({ ids: [Buffer.alloc(32, n)], lengths: [20_000], size: 20_000 });
    const given = Buffer.alloc(16, 7); // not pathKey('a'): only found when the event's key is taken
    const files = new Map([
      [given.toString('latin1'), old(1)],
      [pathKey('b').toString('latin1'), old(2)],
      [pathKey('c').toString('latin1'), old(3)],
    ]);
    const w = new ContentWriter(session, createCutter(params), lists, (d) => blake3(d), createCutter(params), { basis: () => Promise.resolve(new Basis('parent', files)) });
    for (const [name, key] of [
      ['a', given],
      ['b', null],
      ['c', undefined],
    ] as const) {
      await w.process([{ kind: 'file', name, size: 20_000, ...(key !== undefined && { key }) }, { kind: 'content', bytes: bytes(name, 20_000) }, { kind: 'end-content' }]);
    }
    await w.finish();
    const bases = hints.map((h) => h?.[0]);
    expect(bases).toContain(1); // a: by the key given
    expect(bases).not.toContain(2); // b: null, no lookup (its name's key is in the basis)
    expect(bases).toContain(3); // c: by its name, hashed here
    expect(bases).toContain(undefined);
  });
});
