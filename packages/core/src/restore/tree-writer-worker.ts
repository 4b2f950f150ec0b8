/**
 * Worker thread of restore/tree-writer.ts: makes the file writes of a tree restore's windows
 * (restore/file-writes.ts), in the order they arrive, and answers each with what it did.
 */
import { parentPort } from 'node:worker_threads';
import { FileWrites, type WriteAnswer, type WriteBatch } from './file-writes.js';

export type WriterRequest =
  /** `data`: the window's bytes (shared memory, or a copy). */
  | { readonly seq: number; readonly op: 'write'; readonly batch: WriteBatch; readonly data: Uint8Array }
  /** Closes the files still open; answered. */
  | { readonly seq: number; readonly op: 'abandon' };

export type WriterResponse = { readonly seq: number; readonly answer: WriteAnswer | null } | { readonly seq: number; readonly fault: string };

const port = parentPort!;
const writes = new FileWrites();

port.on('message', (req: WriterRequest) => {
  try {
    if (req.op === 'write') port.postMessage({ seq: req.seq, answer: writes.apply(req.batch, req.data) } satisfies WriterResponse);
    else {
      writes.abandon();
      port.postMessage({ seq: req.seq, answer: null } satisfies WriterResponse);
    }
  } catch (err) {
    port.postMessage({ seq: req.seq, fault: String((err as Error)?.stack ?? err) } satisfies WriterResponse);
  }
});
