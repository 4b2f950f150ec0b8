/**
 * Where a tree snapshot's content writer puts its chunk-list entries: each entry is handed,
 * split at file boundaries, to the files whose bytes it holds, in the order the files were
 * fed (the content writer writes entries in stream order, and a tree snapshot's stream is
 * the files' bytes back to back, nothing else). The entries do NOT go to the chunk lists
 * themselves: the caller puts there each file's extents and its tree blobs (`other`), in an
 * order of its own (a tree snapshot: walk order, so the lists are a function of the tree and
 * an unchanged tree gives the same list blobs), so that every blob is in the lists (gc,
 * check, copy).
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
  /** Entries given to other() not yet in the lists (a drain is queued or running while there are any). */
  private others: (readonly Extent[] | Buffer)[] = [];

  constructor(private readonly lists: ChunkListWriter) {}

  /** Entries listed (the content writer numbers file records with it; a tree snapshot has no file records). */
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

  /** An entry of the fed stream (called by the content writer, in order): split among the files, not listed. Never waits (undefined, as ChunkListWriter.add when it stored nothing). */
  add(id: Buffer, length: number, offset = 0): Promise<void> | undefined {
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
      p.extents.push({ id, offset: off, length: take }); // ids are never changed once made (a copy here pinned an 8 KiB pool slab per file)
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
    return undefined;
  }

  /**
   * Entries of the chunk lists, after those given before (a file's extents, a tree blob),
   * as extents or as stored (LIST_ENTRY_BYTES each: a reused file's extents as its tree node
   * holds them, no object per entry). A failure to store a list blob is thrown by settled().
   */
  other(refs: readonly Extent[] | Buffer): void {
    if (refs.length === 0) return;
    // one drain for all the calls made while it waits or runs, not a link of the chain per
    // call (an unchanged repeat makes one call per file)
    if (this.others.push(refs) > 1) return;
    const p = this.chain.then(() => this.drainOthers());
    p.catch(() => undefined); // thrown by settled()
    this.chain = p;
  }

  /** Adds the entries given to other() so far, and those given while it runs, in order. */
  private async drainOthers(): Promise<void> {
    for (let k = 0; k < this.others.length; k++) {
      const refs = this.others[k]!;
      if (Buffer.isBuffer(refs)) {
        await this.lists.addEntries(refs);
        continue;
      }
      for (const r of refs) {
        const stored = this.lists.add(r.id, r.length, r.offset);
        if (stored) await stored;
      }
    }
    this.others = [];
  }

  /** After the last entry: files whose bytes all arrived (truncated ones) resolve. */
  close(): void {
    for (; this.head < this.queue.length; this.head++) {
      const p = this.queue[this.head]!;
      if (p.left !== 0) throw new Error(`internal error: a file is missing ${p.left} bytes of extents`);
      p.resolve(p.extents);
    }
  }

  /** Resolves once every entry given to other() so far is in the chunk lists. */
  async settled(): Promise<void> {
    await this.chain;
  }
}
