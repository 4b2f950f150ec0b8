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

/** The entries as stored (LIST_ENTRY_BYTES each), as a tree node's content holds them. */
function stored(refs: readonly Extent[]): Buffer {
  const b = Buffer.alloc(refs.length * LIST_ENTRY_BYTES);
  refs.forEach((r, i) => {
    r.id.copy(b, i * LIST_ENTRY_BYTES);
    b.writeUInt32LE(r.offset, i * LIST_ENTRY_BYTES + 32);
    b.writeUInt32LE(r.length, i * LIST_ENTRY_BYTES + 36);
  });
  return b;
}

describe('ExtentSink.other', () => {
  /** The list blobs of more than a list blob's worth of entries, in calls of 1..7 entries (`asStored`: which calls give them as stored), some made while the drain waits. */
  async function listBlobs(asStored: (call: number) => boolean): Promise<{ blobs: Buffer[]; n: number }> {
    const { sink, blobs } = keeper();
    const lists = new ChunkListWriter(sink);
    const es = new ExtentSink(lists);
    let n = 0;
    for (let call = 0; n < LIST_ENTRIES + 5000; call++) {
      const refs = Array.from({ length: (n % 7) + 1 }, () => ext(n++));
      es.other(asStored(call) ? stored(refs) : refs);
      if (n % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    es.other([]);
    es.other(Buffer.alloc(0));
    await es.settled();
    await lists.finish();
    return { blobs, n };
  }

  it('lists the entries of every call in call order, calls made while a drain waits for a list blob to be stored included', async () => {
    const { blobs, n } = await listBlobs(() => false);
    const all = Buffer.concat(blobs);
    expect(all.length).toBe(n * LIST_ENTRY_BYTES);
    for (let i = 0; i < n; i++) {
      expect(all.readUInt32LE(i * LIST_ENTRY_BYTES)).toBe(i);
      expect(all.readUInt32LE(i * LIST_ENTRY_BYTES + 36)).toBe(i + 1);
    }
  });

  it('entries given as stored (a reused file) are listed as the same extents would be: the same list blobs', async () => {
    const plain = await listBlobs(() => false);
    const mixed = await listBlobs((call) => call % 3 !== 1);
    expect(mixed.n).toBe(plain.n);
    expect(mixed.blobs.length).toBeGreaterThan(1);
    expect(mixed.blobs).toEqual(plain.blobs);
  });
});
