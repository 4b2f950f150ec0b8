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
