/**
 * RecordBlobWriter: records become 'list' blobs of at most `max` records, written from one
 * buffer that is reused after every blob (the sink copies what it keeps before saveBlob
 * resolves), so a long chunk list allocates no buffer per blob.
 */
import { expect, it } from 'vitest';
import type { BlobSink } from '../repository/blob-store.js';
import { RecordBlobWriter } from './record-blobs.js';

it('writes blobs of at most max records from one reused buffer', async () => {
  const saved: Buffer[] = [];
  const sink = {
    saveBlob: async (_type: string, plain: Uint8Array) => {
      await new Promise((r) => setImmediate(r));
      saved.push(Buffer.from(plain)); // a copy, as the write session makes before it resolves
      return Buffer.from([saved.length]);
    },
  } as unknown as BlobSink;
  const w = new RecordBlobWriter(sink, 4, 3);
  const buffers = new Set<Buffer>();
  for (let i = 0; i < 8; i++) {
    const { buf, off } = w.next();
    buffers.add(buf);
    buf.writeUInt32LE(i, off);
    await w.commit();
  }
  expect(await w.finish()).toEqual(['01', '02', '03']);
  expect(saved.map((b) => [...Array(b.length / 4).keys()].map((k) => b.readUInt32LE(4 * k)))).toEqual([
    [0, 1, 2],
    [3, 4, 5],
    [6, 7],
  ]);
  expect(buffers.size).toBe(1);
});

it('commit gives a promise only when it writes a blob (full, or a boundary): no await per record', async () => {
  const sink = { saveBlob: async () => Buffer.from([1]) } as unknown as BlobSink;
  const w = new RecordBlobWriter(sink, 4, 3);
  const written: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    w.next().buf.writeUInt32LE(i, w.next().off);
    const stored = w.commit(i === 3);
    written.push(stored !== undefined);
    if (stored) await stored;
  }
  // records 0..2 fill the first blob (the third commit writes it), record 3 is a boundary, record 4 waits for finish
  expect(written).toEqual([false, false, true, true, false]);
  expect(w.count).toBe(5);
  expect(w.pending).toBe(1);
  expect(await w.finish()).toEqual(['01', '01', '01']);
});
