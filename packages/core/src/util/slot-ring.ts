/**
 * A fixed set of reusable buffers in shared memory.
 *
 * Bulk data (input pieces, blobs waiting for the encoder, restore windows) goes
 * through a few slots that are filled, handed to worker threads by reference (a
 * SharedArrayBuffer is never copied or transferred), and released when every user
 * is done. Memory stays at count x size however large the input, with no page
 * faults or garbage after the first round; `acquire` waits for a free slot, which is
 * also the pipeline's back-pressure.
 */
import { alignedShared } from './aligned-memory.js';

export interface Slot {
  /** The slot's memory (a view of a SharedArrayBuffer). */
  readonly bytes: Uint8Array;
  /** Returns the slot to the ring; its bytes must no longer be used. */
  release(): void;
}

export class SlotRing {
  private readonly free: Uint8Array[] = [];
  private readonly waiters: ((s: Uint8Array) => void)[] = [];

  constructor(
    readonly count: number,
    /** Bytes per slot. */
    readonly size: number,
    /** Each slot starts on a page boundary (O_DIRECT writes from it: util/aligned-memory.ts). */
    readonly aligned = false,
  ) {
    for (let i = 0; i < count; i++) this.free.push(new Uint8Array(aligned ? alignedShared(size) : new SharedArrayBuffer(size), 0, size));
  }

  /** A free slot, waiting for one when all are in use. */
  acquire(): Promise<Slot> {
    const bytes = this.free.pop();
    if (bytes) return Promise.resolve(this.wrap(bytes));
    return new Promise((resolve) => this.waiters.push((b) => resolve(this.wrap(b))));
  }

  private wrap(bytes: Uint8Array): Slot {
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        const w = this.waiters.shift();
        if (w) w(bytes);
        else this.free.push(bytes);
      },
    };
  }
}
