/**
 * The parent snapshot's directories, loaded ahead of a tree snapshot's walk (snapshot/
 * tree-snapshot.ts) in its depth-first order: the walk's current subdirectories first, and
 * on from each loaded directory to its subdirectories, before the directories queued
 * earlier. One batch at a time of up to TREE_BATCH directories (one index lookup, each frame
 * decoded once), PRELOAD_BATCHES batches in flight, while the tree blobs held ahead stay
 * under PRELOAD_BYTES (by their sizes in the index). A walk that loaded directory by
 * directory waited a lookup and a read per directory.
 *
 * Best effort: a batch that cannot be loaded (a blob the index cache does not know yet, a
 * pack gone) is dropped, and the walk loads those directories itself (load()), which is
 * where a damaged parent is met (everything read again). So loading may start before the
 * snapshot's lock is held (snapshotTree: while the lock file is written).
 */
import type { CodecPool } from '../repository/codec-pool.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from './node.js';
import { loadSomeEntriesOf } from './stored.js';

/** Subdirectories whose parent trees are loaded in one batch. */
const TREE_BATCH = 64;
/** Tree-blob bytes (plaintext) of the parent loaded ahead of the walk at most (about 300 bytes an entry). */
const PRELOAD_BYTES = 2 << 20;
/** Batches of the parent's trees loading at once (a lookup, pack reads and a decode each: pipelined). */
const PRELOAD_BATCHES = 2;

/** A directory of the parent snapshot as loaded: its entries and its tree blobs' plaintext bytes (0: not known). */
export interface OldDir {
  readonly entries: TreeNode[];
  readonly bytes: number;
}

export class ParentTrees {
  /** The parent's entries of directories about to be walked, loaded in batches. */
  private readonly preloaded = new Map<TreeNode, Promise<OldDir | undefined>>();
  /** Tree-blob bytes each preloaded directory holds, and their sum. */
  private readonly preloadedSize = new Map<TreeNode, number>();
  private preloadedBytes = 0;
  /** Directories waiting to be preloaded, and the batches loading. */
  private queue: TreeNode[] = [];
  private loading = 0;
  /** Directories the walk has reached (never preloaded after that). */
  private readonly walked = new WeakSet<TreeNode>();
  private stopped = false;

  constructor(
    private readonly repo: Repository,
    /** Tree blobs are small: decoded on the calling thread (a pool of no workers), no worker round trip. */
    private readonly pool: CodecPool,
  ) {}

  /** Queues directories `olds` (parent nodes; others are ignored) for loading, ahead of those queued (`first`: the walk's current subdirectories) or after them. */
  preload(olds: readonly TreeNode[], first = false): void {
    const add = olds.filter((o) => o.type === 'dir' && o.tree?.length && !this.preloaded.has(o) && !this.walked.has(o));
    if (add.length) this.queue = first ? add.concat(this.queue) : this.queue.concat(add);
    this.pump();
  }

  /** Loads nothing more (the walk failed). */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  /** The preloaded entries of `old` (undefined: not preloaded, or it resolves to undefined when not loaded); the walk has reached it. */
  take(old: TreeNode): Promise<OldDir | undefined> | undefined {
    this.walked.add(old);
    const p = this.preloaded.get(old);
    if (!p) return undefined;
    this.preloaded.delete(old);
    this.preloadedBytes -= this.preloadedSize.get(old) ?? 0;
    this.preloadedSize.delete(old);
    this.pump();
    return p;
  }

  /** The parent's entries of directory `old`, loaded now (none when they cannot be read: everything is read again). */
  async load(old: TreeNode): Promise<OldDir> {
    try {
      const r = await loadSomeEntriesOf(this.repo, this.pool, [old.tree], Infinity);
      return { entries: r.entries[0]!, bytes: r.bytes[0]! };
    } catch {
      return { entries: [], bytes: 0 };
    }
  }

  private pump(): void {
    if (this.loading >= PRELOAD_BATCHES || this.stopped || this.preloadedBytes >= PRELOAD_BYTES) return;
    const batch: TreeNode[] = [];
    while (batch.length < TREE_BATCH && this.queue.length) {
      const o = this.queue.shift()!;
      if (!this.preloaded.has(o) && !this.walked.has(o)) batch.push(o);
    }
    if (batch.length === 0) return;
    this.loading++;
    const loaded = loadSomeEntriesOf(
      this.repo,
      this.pool,
      batch.map((o) => o.tree),
      PRELOAD_BYTES - this.preloadedBytes,
    );
    loaded.catch(() => undefined);
    batch.forEach((o, k) => {
      // undefined: not loaded (over the budget, or failed): the walk loads it itself
      const entries = loaded.then(
        (r) => (k < r.entries.length ? { entries: r.entries[k]!, bytes: r.bytes[k]! } : undefined),
        () => undefined,
      );
      this.preloaded.set(o, entries);
    });
    loaded.then(
      (r) => {
        const n = r.entries.length;
        batch.forEach((o, k) => {
          if (k >= n) {
            if (this.preloaded.get(o)) this.preloaded.delete(o);
            return;
          }
          if (!this.preloaded.has(o)) return; // taken already
          this.preloadedSize.set(o, r.bytes[k]!);
          this.preloadedBytes += r.bytes[k]!;
        });
        this.queue = batch
          .slice(n)
          .filter((o) => !this.walked.has(o))
          .concat(this.queue);
        this.loading--;
        // their subdirectories next, before those still queued: the walk's depth-first order (those
        // queued after them were breadth-first: at rootfs v5 the walk waited 85-170 ms for deep
        // directories not loaded yet, 25-30 ms this way; the unchanged repeat 80-125 -> 55)
        this.preload(r.entries.flat(), true);
      },
      () => {
        for (const o of batch) this.preloaded.delete(o);
        this.loading--; // the walk loads those directories itself and reports
        this.pump();
      },
    );
    this.pump(); // the next batch, while this one loads
  }
}
