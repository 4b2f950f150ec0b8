/**
 * Reading a tree snapshot's small files whole (snapshot/tree-snapshot.ts): on the walking
 * thread with synchronous calls (readNow), or ahead of the walk on libuv's thread pool,
 * several in flight (readAhead). Either way a file that changed while it was read (its size,
 * mtime or link count after the read differ from its lstat before, or it gave other than
 * its size in bytes) is noted, and a file that cannot be read gives its error, not bytes.
 */
import type { BigIntStats } from 'node:fs';
import { close as closeCb, closeSync, constants as C, fstat as fstatCb, fstatSync, open as openCb, openSync, read as readCb, readSync } from 'node:fs';
import type { ReadArena } from './read-arena.js';
import type { EntryStat } from './scan.js';

export interface ReadResult {
  readonly data: Buffer;
  /** The file changed while it was read: `data` is what was read. */
  readonly changed: boolean;
  /** Set when the file could not be read (no data). */
  readonly error?: unknown;
}

/** A file that could not be read: no data, the error. */
function unreadable(error: unknown): ReadResult {
  return { data: Buffer.alloc(0), changed: false, error };
}

/** True when a file read as `got` bytes differs from its stat before (`st`) and after the read. */
function changedWhileRead(st: EntryStat, after: BigIntStats, got: number): boolean {
  return got !== Number(st.size) || after.mtimeNs !== st.mtimeNs || after.size !== st.size || after.nlink === 0n;
}

/**
 * Reads file `p` (lstat `st`) whole with synchronous calls on the calling thread (open, read,
 * fstat, close: no thread-pool round trip), into `arena`'s memory (committed when read) or,
 * for a file larger than the arena's buffers, a Buffer of its own.
 */
export function readNow(p: Buffer, st: EntryStat, arena: ReadArena): ReadResult {
  let fd: number;
  try {
    fd = openSync(p, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (error) {
    return unreadable(error);
  }
  try {
    const size = Number(st.size);
    const room = arena.room(size + 1);
    const buf = room ?? Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got >= size) break; // whole (a read past the size would say it grew: fstat tells)
    }
    const after = fstatSync(fd, { bigint: true });
    if (room) arena.commit(got);
    return { data: buf.subarray(0, got), changed: changedWhileRead(st, after, got) };
  } catch (error) {
    return unreadable(error);
  } finally {
    closeSync(fd);
  }
}

/** A file being read ahead (readAhead). */
export interface ReadAhead {
  /** The file as read, once it is (undefined until then). */
  readonly result: ReadResult | undefined;
  /** Resolves with `result` (a cancelled read: with an error). */
  readonly done: Promise<ReadResult>;
  /** Stops the read at its next step (its descriptor closed): the caller reads the file itself. */
  cancel(): void;
}

/** Thrown by nothing: the error of a cancelled read-ahead's result. */
const CANCELLED = new Error('read ahead cancelled');

/**
 * Starts reading file `p` (lstat `st`) whole on libuv's thread pool: open, reads, fstat and
 * close as callbacks under one promise (through fs/promises' FileHandle the same calls cost
 * about twice the CPU: a promise per call, the handle's own close). Each step is a round trip
 * through the calling thread's event loop, so a read-ahead can still be under way when the
 * walk reaches its file: the walk then takes `result` if set, else cancels it and reads the
 * file itself (readNow) rather than wait for four more turns of a busy event loop.
 */
export function readAhead(p: Buffer, st: EntryStat): ReadAhead {
  let cancelled = false;
  let result: ReadResult | undefined;
  const done = new Promise<ReadResult>((resolve) => {
    const settle = (r: ReadResult): void => {
      result = r;
      resolve(r);
    };
    openCb(p, C.O_RDONLY | C.O_NOFOLLOW, (err, fd) => {
      if (err) return settle(unreadable(err));
      const close = (r: ReadResult): void => closeCb(fd, () => settle(r)); // a close error changes nothing read
      if (cancelled) return close(unreadable(CANCELLED));
      const buf = Buffer.allocUnsafe(Number(st.size) + 1);
      let got = 0;
      const more = (): void =>
        readCb(fd, buf, got, buf.length - got, got, (e, n) => {
          if (e) return close(unreadable(e));
          if (cancelled) return close(unreadable(CANCELLED));
          got += n;
          if (n > 0 && got < buf.length) return more();
          fstatCb(fd, { bigint: true }, (e2, after) => close(e2 ? unreadable(e2) : { data: buf.subarray(0, got), changed: changedWhileRead(st, after, got) }));
        });
      more();
    });
  });
  return {
    get result() {
      return result;
    },
    done,
    cancel: () => {
      cancelled = true;
    },
  };
}
