import { describe, expect, it } from 'vitest';
import { ChunkListWriter, LIST_ENTRIES, LIST_ENTRY_BYTES } from './chunk-list.js';
import { ExtentSink } from './extent-sink.js';
import type { BlobSink } from '../repository/blob-store.js';
import type { Extent } from '../tree/node.js';

/** A sink that keeps every list blob stored (slowly: each save takes a few turns of the event loop). */
function keeper(): { sink: BlobSink; blobs: Buffer[] } {
  const blobs: Buffer[] = [];
  const sink = {
    saveBlob: async (_type: string, data: Uint8Array) => {
      await new Promise((r) => setImmediate(r));
      blobs.push(Buffer.from(data));
      return Buffer.alloc(32, blobs.length);
    },
    saveChunks: () => Promise.reject(new Error('not used')),
  } as unknown as BlobSink;
  return { sink, blobs };
}

/** Extent number `n` (its id says n). */
function ext(n: number): Extent {
  const id = Buffer.alloc(32);
  id.writeUInt32LE(n, 0);
  return { id, offset: 0, length: n + 1 };
}

describe('ExtentSink.other', () => {
  it('lists the entries of every call in call order, calls made while a drain waits for a list blob to be stored included', async () => {
    const { sink, blobs } = keeper();
    const lists = new ChunkListWriter(sink);
    const es = new ExtentSink(lists);
    let n = 0;
    // more than a list blob's worth, in calls of 1..7 entries, some made while the drain waits
    while (n < LIST_ENTRIES + 5000) {
      const refs = Array.from({ length: (n % 7) + 1 }, () => ext(n++));
      es.other(refs);
      if (n % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    es.other([]);
    await es.settled();
    await lists.finish();
    const all = Buffer.concat(blobs);
    expect(all.length).toBe(n * LIST_ENTRY_BYTES);
    for (let i = 0; i < n; i++) {
      expect(all.readUInt32LE(i * LIST_ENTRY_BYTES)).toBe(i);
      expect(all.readUInt32LE(i * LIST_ENTRY_BYTES + 36)).toBe(i + 1);
    }
  });
});
