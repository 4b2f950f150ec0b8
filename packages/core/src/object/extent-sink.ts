/**
 * Where a tree snapshot's content writer puts its chunk-list entries: every entry goes
 * to the snapshot's chunk lists (so gc, check and copy see every blob), and is handed,
 * split at file boundaries, to the files whose bytes it holds, in the order the files
 * were fed (the content writer writes entries in stream order, and a tree snapshot's
 * stream is the files' bytes back to back, nothing else).
 */
import type { Extent } from '../tree/node.js';
import type { ChunkListWriter } from './chunk-list.js';

interface Pending {
  left: number;
  readonly extents: Extent[];
  readonly resolve: (e: Extent[]) => void;
}

export class ExtentSink {
  private readonly queue: Pending[] = [];
  private head = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly lists: ChunkListWriter) {}

  /** Entries written (the content writer numbers file records with it). */
  get count(): number {
    return this.lists.count;
  }

  /** The next `size` bytes fed belong to one file: resolves to its extents once all are written. */
  expect(size: number): Promise<Extent[]> {
    if (size === 0) return Promise.resolve([]);
    return new Promise((resolve) => this.queue.push({ left: size, extents: [], resolve }));
  }

  /** The last file expected got `n` bytes fewer than announced (truncated while read). */
  shrinkLast(n: number): void {
    const p = this.queue[this.queue.length - 1];
    if (!p || this.queue.length <= this.head) return;
    p.left -= n;
    if (p.left <= 0) {
      p.left = 0;
      // resolved now when it is next in line (nothing else can come for it), else when reached
      if (this.queue.length - 1 === this.head) {
        p.resolve(p.extents);
        this.head++;
      }
    }
  }

  /** An entry of the fed stream (called by the content writer, in order). */
  add(id: Buffer, length: number, offset = 0): Promise<void> {
    let off = offset;
    let len = length;
    while (len > 0) {
      const p = this.queue[this.head];
      if (!p) throw new Error('internal error: content without a file');
      if (p.left === 0) {
        p.resolve(p.extents);
        this.head++;
        continue;
      }
      const take = Math.min(len, p.left);
      p.extents.push({ id: Buffer.from(id), offset: off, length: take });
      p.left -= take;
      off += take;
      len -= take;
      if (p.left === 0) {
        p.resolve(p.extents);
        this.head++;
        if (this.head > 1024) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
    }
    return this.other(id, length, offset);
  }

  /** An entry that is not fed content (a reused file's extent, a tree blob): chunk lists only. */
  other(id: Buffer, length: number, offset = 0): Promise<void> {
    const p = this.chain.then(() => this.lists.add(id, length, offset));
    this.chain = p;
    return p;
  }

  /** After the last entry: files whose bytes all arrived (truncated ones) resolve. */
  close(): void {
    for (; this.head < this.queue.length; this.head++) {
      const p = this.queue[this.head]!;
      if (p.left !== 0) throw new Error(`internal error: a file is missing ${p.left} bytes of extents`);
      p.resolve(p.extents);
    }
  }

  /** Resolves once every entry added so far is in the chunk lists. */
  async settled(): Promise<void> {
    await this.chain;
  }
}
