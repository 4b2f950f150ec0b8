import type { Extent } from './node.js';

/** A place's chunk-list entries: extents, or entries as stored (LIST_ENTRY_BYTES each: a file's `content` reused, decoded from base64 without an object per extent). */
export type Listed = readonly Extent[] | Buffer;

/**
 * The chunk-list entries of a tree snapshot in walk order, whatever order they become known
 * in: each file's extents at its place in the walk, each directory's tree blobs after its
 * entries', the top's last. A file's extents are known once the content writer cut its
 * bytes, a directory's blobs once all its entries are; listing them as they came made the
 * lists depend on timing, so an unchanged tree stored new list blobs (and started a codec
 * worker for them). In walk order the lists are a function of the tree: an unchanged tree
 * gives the parent's list blobs. Memory: the places not listed yet (those after the first
 * one still waiting: files in the content writer, directories whose entries are).
 */
export class ListOrder {
  private places: (Listed | undefined)[] = [];
  /** places[head] is the first place not listed; places[0] is place number `base`. */
  private head = 0;
  private base = 0;

  constructor(private readonly out: (refs: Listed) => void) {}

  /** Places reserved and not listed yet. */
  get waiting(): number {
    return this.places.length - this.head;
  }

  /** Reserves the next place; fill it later. */
  reserve(): number {
    this.places.push(undefined);
    return this.base + this.places.length - 1;
  }

  /** The entries of place `at` (reserved): listed with those before it, once they all are known. */
  fill(at: number, refs: Listed): void {
    this.places[at - this.base] = refs;
    if (at - this.base !== this.head) return;
    let ready: Extent[] | undefined;
    for (; this.head < this.places.length; this.head++) {
      const p = this.places[this.head];
      if (p === undefined) break;
      if (!Buffer.isBuffer(p)) {
        if (p.length) (ready ??= []).push(...p);
      } else if (p.length) {
        // entries as stored: out in order, after the extents gathered before them
        if (ready) this.out(ready);
        ready = undefined;
        this.out(p);
      }
      this.places[this.head] = EMPTY;
    }
    if (this.head === this.places.length) {
      this.base += this.head;
      this.places = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.places.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (ready) this.out(ready);
  }

  /** The next place, known now. */
  put(refs: Listed): void {
    if (this.places.length === 0) {
      if (refs.length) this.out(refs);
    } else this.fill(this.reserve(), refs);
  }
}

const EMPTY: readonly Extent[] = [];
