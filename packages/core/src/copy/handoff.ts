/**
 * A hand-off between a writer (restore, which reuses its memory once a write is done) and
 * a reader (snapshot): a Writable whose write completes only when the reader asks for the
 * next piece (backpressure: at most one piece waits). Pieces in ordinary memory are read in
 * place (none is reused while it is still being read); pieces in shared memory and small
 * ones are copied (see read()). Memory: at most one piece beyond the writer's own buffers.
 */
import { Writable } from 'node:stream';
import { StowageError } from '../errors.js';

/** Pieces shorter than this are copied (see read()). */
const COPY_BELOW = 64 * 1024;

export interface Handoff {
  /** Give it to restoreToStream. */
  readonly writable: Writable;
  /** Give it to snapshotStream: the pieces written, in order; ends after end(). */
  readonly pieces: AsyncIterable<Uint8Array>;
  /** No more pieces: the reader's loop ends. */
  end(): void;
  /** The reader's loop throws `err` (e.g. the restore failed verification). */
  fail(err: unknown): void;
}

export function handoff(): Handoff {
  // pieces written and not yet taken, each with the callback that frees the writer
  const queue: { piece: Uint8Array; done: (err?: Error | null) => void }[] = [];
  let finished = false;
  /** The reader left its loop: later writes fail at once instead of waiting forever. */
  let stopped = false;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  /** Callback of the piece the reader holds now: called when it asks for the next one. */
  let held: ((err?: Error | null) => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const writable = new Writable({
    highWaterMark: 0,
    write(chunk: Buffer, _enc, cb) {
      if (stopped) return cb(new StowageError('ABORTED', 'the snapshot side of the copy stopped'));
      queue.push({ piece: chunk, done: cb });
      notify();
    },
  });
  async function* read(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        held?.();
        held = undefined;
        while (queue.length === 0 && !finished && !failure) await new Promise<void>((r) => (wake = r));
        if (failure) throw failure.err;
        const next = queue.shift();
        if (!next) return;
        if (next.piece.length < COPY_BELOW || !(next.piece.buffer instanceof ArrayBuffer)) {
          // copied: a small piece (the reader may keep a few while it looks at the first bytes
          // of the input), and shared memory (the reader hashes pieces on a worker thread
          // after it moved on, and the writer reuses its shared slots once freed)
          const copy = Buffer.from(next.piece);
          next.done();
          yield copy;
          continue;
        }
        held = next.done;
        yield next.piece;
      }
    } finally {
      stopped = true;
      held?.();
      held = undefined;
      for (const q of queue.splice(0)) q.done(new StowageError('ABORTED', 'the snapshot side of the copy stopped'));
    }
  }
  return {
    writable,
    pieces: read(),
    end(): void {
      finished = true;
      notify();
    },
    fail(err: unknown): void {
      failure ??= { err };
      notify();
    },
  };
}
