import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake3, idHasher } from '../hash/blake3.js';
import { parsePackTail } from '../pack/pack-reader.js';
import { PackWriter, addEncoded } from '../pack/pack-writer.js';
import { BlobCodec, decodeItem, type CodecSpec, type DecodeItem } from './blob-codec.js';
import { CodecPool, compactIds, frameAffinity, lastFrameKept } from './codec-pool.js';
import { prestartCodecWorkers, stopWarmWorkers, warmCodecWorkers } from './codec-warm.js';
import { pairedSha256 } from '../hash/sha256-pair.js';

describe('compactIds', () => {
  it('copies the ids of decode items into one small buffer (a message to a worker clones whole ArrayBuffers)', () => {
    const big = new Uint8Array(1 << 20); // ids are usually views into a large decoded list
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const items = [0, 5000, 900_000].map((at, i) => ({ offset: i, length: 10, rawLength: 20, compressed: true, id: big.subarray(at, at + 32) }));
    const out = compactIds(items);
    expect(out.map((x) => Buffer.from(x.id).toString('hex'))).toEqual(items.map((x) => Buffer.from(x.id).toString('hex')));
    expect(out[0]!.id.buffer.byteLength).toBe(96);
    expect(new Set(out.map((x) => x.id.buffer)).size).toBe(1);
    expect(out.map(({ id: _id, ...rest }) => rest)).toEqual(items.map(({ id: _id, ...rest }) => rest));
  });

  it('decode items have one shape, every field in one order (built without spreads), and keep their fields through compactIds', () => {
    const id = new Uint8Array(32).fill(7);
    const plain = decodeItem({ offset: 10, length: 5, rawLength: 9, compressed: true }, id, 3);
    const framed = decodeItem({ offset: 10, length: 5, rawLength: 9, compressed: true, frame: { offset: 4, rawLength: 100 } }, id, 3, undefined, { frameKey: 'p@10', places: [0, 0, 9], aside: 64 });
    const keys = ['offset', 'length', 'rawLength', 'compressed', 'id', 'base', 'frame', 'frameKey', 'places', 'aside'];
    expect(Object.keys(plain)).toEqual(keys);
    expect(Object.keys(framed)).toEqual(keys);
    expect(framed).toMatchObject({ offset: 3, length: 5, rawLength: 9, frame: { offset: 4, rawLength: 100 }, frameKey: 'p@10', places: [0, 0, 9], aside: 64 });
    const [c] = compactIds([framed]);
    expect(Object.keys(c!)).toEqual(keys);
    expect({ ...c, id: undefined }).toEqual({ ...framed, id: undefined });
    expect(() => decodeItem({ offset: 0, length: 1, rawLength: 1, compressed: true, base: id }, id, 0)).toThrow(/without its base/);
  });
});

describe('CodecPool hash streams', () => {
  it("puts an operation's range hashes on another worker than its SHA-256, so the two passes run side by side", async () => {
    const pool = new CodecPool({ level: 3, cipher: { algorithm: 'none' } }, 2);
    try {
      // the SHA-256 is asked for first, when the lazily started pool has one worker
      const sha = pool.sha256();
      const ranges = pool.rangeHasher([{ path: 'l', offset: 0, length: 3, digest: `sha256:${'0'.repeat(64)}`, what: 'layer' }], sha);
      expect(pool.size).toBe(2);
      expect(pool.workerOf(sha)).toBe(0);
      expect(pool.workerOf(ranges)).toBe(1);
      await Promise.all([sha.update([Buffer.from('abc')]), ranges.update([Buffer.from('abc')], 0)]);
      expect(await sha.digest()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect((await ranges.result()).map((m) => m.actual)).toEqual(['sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad']);
    } finally {
      await pool.close();
    }
  });
});

describe.skipIf(!pairedSha256())('CodecPool.streamDigests (one pass for the SHA-256 and the range digests)', () => {
  it('hashes pieces in shared memory and copies on one worker, with the same digests as sha256 + rangeHasher', async () => {
    const data = randomBytes(200_000);
    const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const ranges = [
      { path: 'a', offset: 512, length: 100_000, digest: `sha256:${hex(data.subarray(512, 100_512))}`, what: 'layer a' },
      { path: 'b', offset: 100_864, length: 50_000, digest: `sha256:${'0'.repeat(64)}`, what: 'layer b' },
    ];
    for (const workers of [0, 2]) {
      const pool = new CodecPool({ level: 3, cipher: { algorithm: 'none' } }, workers);
      try {
        const both = pool.streamDigests(ranges);
        const shared = new Uint8Array(new SharedArrayBuffer(70_000));
        const fed: Promise<void>[] = [];
        for (let at = 0; at < data.length; at += 70_000) {
          const piece = data.subarray(at, at + 70_000);
          // shared memory is read in place (the promise says when it may be reused): alternate with ordinary memory (copied)
          if ((at / 70_000) % 2 === 0) {
            shared.set(piece);
            await both.update([shared.subarray(0, piece.length)], at);
          } else fed.push(both.update([piece], at));
        }
        await Promise.all(fed);
        const { sha256, mismatches } = await both.result();
        expect(sha256).toBe(hex(data));
        expect(mismatches).toEqual([{ what: 'layer b', path: 'b', expected: `sha256:${'0'.repeat(64)}`, actual: `sha256:${hex(data.subarray(100_864, 150_864))}` }]);
        expect(() => both.discard()).not.toThrow();
      } finally {
        await pool.close();
      }
    }
  });
});

describe('CodecPool with workers started before the key was known (codec-warm.ts)', () => {
  it('takes the started workers and sends them the spec: blobs sealed on them open with the same key inline, and the other way round', async () => {
    await stopWarmWorkers();
    prestartCodecWorkers(2);
    prestartCodecWorkers(2); // idempotent: two are waiting, not four
    expect(warmCodecWorkers()).toBe(2);
    const spec = { level: 3, cipher: { algorithm: 'aes-256-gcm' as const, key: randomBytes(32) }, idKey: randomBytes(32) };
    const pool = new CodecPool(spec, 2);
    try {
      const data = Buffer.concat([randomBytes(70_000), Buffer.alloc(50_000, 'x')]);
      const lengths = [70_000, 50_000];
      const onWorker = await pool.encode(Buffer.from(data), lengths); // the first job takes a started worker
      expect(warmCodecWorkers()).toBe(1);
      const inline = pool.inline.encode(Buffer.from(data), lengths);
      const items = (batch: typeof inline) => {
        let at = 0;
        return lengths.map((rawLength, i) => {
          const it = { offset: at, length: batch.storedLengths[i]!, rawLength, compressed: batch.compressed[i]!, id: idHasher(spec.idKey)(data.subarray(i ? 70_000 : 0, i ? 120_000 : 70_000)) };
          at += batch.storedLengths[i]!;
          return it;
        });
      };
      // decode jobs use both workers (the second started one too): each opens what the other side sealed
      const [a, b] = await Promise.all([pool.decode(Buffer.from(inline.stored), items(inline), 'inline-sealed'), pool.decode(Buffer.from(onWorker.stored), items(onWorker), 'worker-sealed')]);
      expect(a.plain.equals(data)).toBe(true);
      expect(b.plain.equals(data)).toBe(true);
      expect(pool.inline.decode(Buffer.from(onWorker.stored), items(onWorker), 'inline').plain.equals(data)).toBe(true);
      expect(pool.size).toBe(2);
      expect(warmCodecWorkers()).toBe(0);
    } finally {
      await pool.close();
      await stopWarmWorkers();
    }
  });

  it('a pool with a wrong key in its spec fails to open blobs sealed under another (the spec reached the worker)', async () => {
    prestartCodecWorkers(1);
    const key = randomBytes(32);
    const sealer = new CodecPool({ level: 3, cipher: { algorithm: 'aes-256-gcm', key } }, 0);
    const pool = new CodecPool({ level: 3, cipher: { algorithm: 'aes-256-gcm', key: randomBytes(32) } }, 1);
    try {
      const data = randomBytes(10_000);
      const batch = sealer.inline.encode(Buffer.from(data), [data.length]);
      const item = { offset: 0, length: batch.storedLengths[0]!, rawLength: data.length, compressed: batch.compressed[0]!, id: idHasher()(data) };
      await expect(pool.decode(Buffer.from(batch.stored), [item], 'wrong key')).rejects.toMatchObject({ code: 'CORRUPT' });
      expect(warmCodecWorkers()).toBe(0);
    } finally {
      await pool.close();
      await sealer.close();
    }
  });
});

describe('CodecPool decode jobs follow the frame a worker keeps decoded', () => {
  const spec: CodecSpec = { level: 3, cipher: { algorithm: 'aes-256-gcm', key: randomBytes(32) } };
  const text = (tag: string, i: number) => Buffer.from(`${tag} file ${i}: ${'some compressible text '.repeat(100 + i)}`);

  /** One pack of three frames (F, G, H: eight small blobs each); decode items keyed by frame, placed one after another in a shared output. */
  function framedPack() {
    const codec = new BlobCodec(spec);
    const blobs = ['F', 'G', 'H'].flatMap((tag) => Array.from({ length: 8 }, (_, i) => text(tag, i)));
    const writer = new PackWriter(codec.cipher);
    for (const tag of [0, 1, 2]) {
      const group = blobs.slice(tag * 8, tag * 8 + 8);
      const enc = codec.encode(
        Buffer.concat(group),
        group.map((b) => b.length),
        undefined,
        1 << 20,
      );
      addEncoded(
        () => writer,
        enc,
        group.map((b) => ({ id: blake3(b), type: 'data' as const, rawLength: b.length })),
      );
    }
    const bytes = writer.finalize().bytes;
    const { entries } = parsePackTail(bytes, bytes.length, codec.cipher, 'test pack');
    expect(new Set(entries.map((e) => e.offset)).size).toBe(3);
    const data = new Uint8Array(new SharedArrayBuffer(bytes.length));
    data.set(bytes);
    let at = 0;
    const items = entries.map((e) => {
      const it: DecodeItem = { ...decodeItem(e, e.id, e.offset), frameKey: `pack@${e.offset}`, places: [at, 0, e.rawLength] };
      at += e.rawLength;
      return it;
    });
    return { blobs, data, items, total: at, frames: [0, 1, 2].map((f) => items.slice(f * 8, f * 8 + 8)) };
  }

  it('frameAffinity: the worker keeping a frame the items need, and an order with that frame first (only when every item has places)', () => {
    const { items, frames } = framedPack();
    const mixed = [...frames[0]!.slice(0, 2), ...frames[1]!.slice(0, 2)];
    const slots = [{ frame: 'other' }, { frame: mixed[2]!.frameKey }];
    const { holder, order } = frameAffinity(slots, mixed);
    expect(holder).toBe(slots[1]);
    expect(order).toEqual([2, 3, 0, 1]);
    expect(frameAffinity(slots, frames[1]!).order).toBeUndefined(); // already first
    expect(
      frameAffinity(
        slots,
        mixed.map(({ places: _p, ...it }) => it),
      ),
    ).toEqual({ holder: slots[1] }); // consecutive outputs: order kept
    expect(frameAffinity([{ frame: undefined }, { frame: 'other' }], items)).toEqual({});
    expect(lastFrameKept(mixed, 'x')).toBe(mixed[3]!.frameKey);
    expect(lastFrameKept([], 'x')).toBe('x');
    expect(lastFrameKept([{ ...mixed[0]!, frameKey: undefined }], 'x')).toBeUndefined(); // an unkeyed frame may take the buffer
  });

  it('a job needing a frame a worker keeps goes to that worker, that frame first: damaged stored bytes of the kept frame are never decompressed again', async () => {
    const { blobs, data, items, total, frames } = framedPack();
    const pool = new CodecPool(spec, 2);
    try {
      const out = new Uint8Array(new SharedArrayBuffer(total));
      // F's first members go to worker 0, G's (posted while F's job is out) to worker 1
      await Promise.all([pool.decodeInto(data, frames[0]!.slice(0, 4), out, 'F'), pool.decodeInto(data, frames[1]!.slice(0, 4), out, 'G')]);
      // damage both frames' stored bytes: only a decompression would notice
      const damaged = new Uint8Array(new SharedArrayBuffer(data.length));
      damaged.set(data);
      for (const f of [0, 1]) damaged[frames[f]![0]!.offset + 30]! ^= 0xff;
      // G's other members: both workers are idle (least outstanding would be worker 0), but worker 1 keeps G
      expect(await pool.decodeInto(damaged, frames[1]!.slice(4), out, 'G again')).toEqual(frames[1]!.slice(4).map((it) => it.rawLength));
      // a job with H's members before F's: worker 0 keeps F, so F's go first (before H is decoded into the same buffer); lengths in item order
      const mixed = [...frames[2]!, ...frames[0]!.slice(4)];
      expect(await pool.decodeInto(damaged, mixed, out, 'H and F')).toEqual(mixed.map((it) => it.rawLength));
      expect(Buffer.from(out).equals(Buffer.concat(blobs.slice(0, 24)))).toBe(true);
      // worker 0 now keeps H (decoded after F), worker 1 G: F is decompressed again, and its damage found
      await expect(pool.decodeInto(damaged, frames[0]!.slice(0, 1), out, 'F once more')).rejects.toMatchObject({ code: 'CORRUPT' });
      expect(items.length).toBe(24);
    } finally {
      await pool.close();
    }
  });
});

describe('CodecPool jobs always settle', () => {
  const spec: CodecSpec = { level: 3, cipher: { algorithm: 'none' } };
  /** Resolves with 'settled' once `p` settles, or 'pending' after `ms`. */
  const within = async (p: Promise<unknown>, ms = 5000): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p.then(
          () => 'settled',
          () => 'settled',
        ),
        new Promise<string>((r) => (timer = setTimeout(r, ms, 'pending'))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  /** A whole ArrayBuffer's view whose memory was transferred away (detached), as a decode job leaves it. */
  const detached = (): Uint8Array => {
    const b = new Uint8Array(4096);
    structuredClone(b.buffer, { transfer: [b.buffer] });
    return b;
  };

  it('a job whose bytes were already transferred (to another job) rejects, and close() still settles', async () => {
    const pool = new CodecPool(spec, 2);
    const item = decodeItem({ offset: 0, length: 10, rawLength: 10, compressed: false }, new Uint8Array(32), 0);
    // decode transfers whole ordinary memory (a detached buffer in a transfer list drops the message without a word);
    // decodeInto clones it (throws)
    await expect(pool.decode(detached(), [item], 'moved')).rejects.toThrow(/could not be sent to a codec worker/);
    await expect(pool.decodeInto(detached(), [item], new Uint8Array(new SharedArrayBuffer(10)), 'moved')).rejects.toThrow(/could not be sent to a codec worker/);
    // the pool still works
    const sha = pool.sha256();
    await sha.update([new Uint8Array(new SharedArrayBuffer(3)).fill(97)]);
    expect(await sha.digest()).toBe('9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0');
    expect(await within(pool.close())).toBe('settled');
  });

  it('a worker that exits fails the jobs waiting for it and every later one; close() settles', async () => {
    const pool = new CodecPool(spec, 1);
    const sha = pool.sha256();
    await sha.update([Buffer.from('abc')]);
    const { worker } = (pool as unknown as { slots: { worker: import('node:worker_threads').Worker }[] }).slots[0]!;
    await worker.terminate();
    expect(await within(sha.digest())).toBe('settled');
    await expect(pool.sha256().digest()).rejects.toThrow(/codec worker exited/);
    expect(await within(pool.close())).toBe('settled');
  });
});
