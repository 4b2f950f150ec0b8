/**
 * Worker thread running BlobCodec batches (zstd, sealing, hashing are synchronous
 * native calls; running them here keeps every core busy).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StowageError } from '../errors.js';
import { BlobCodec, type CodecSpec, type DecodeItem } from './blob-codec.js';

export type WorkerRequest =
  | { readonly seq: number; readonly op: 'encode'; readonly data: Uint8Array; readonly lengths: number[] }
  | { readonly seq: number; readonly op: 'decode'; readonly data: Uint8Array; readonly items: DecodeItem[]; readonly what: string };

export type WorkerResponse =
  | { readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly seq: number; readonly ok: false; readonly code?: string; readonly message: string };

const codec = new BlobCodec(workerData as CodecSpec);
const port = parentPort!;

port.on('message', (req: WorkerRequest) => {
  try {
    if (req.op === 'encode') {
      const r = codec.encode(req.data, req.lengths);
      const stored = new Uint8Array(r.stored.buffer, r.stored.byteOffset, r.stored.byteLength);
      port.postMessage({ seq: req.seq, ok: true, result: { ...r, stored } } satisfies WorkerResponse, transferable(r.stored));
    } else {
      const r = codec.decode(req.data, req.items, req.what);
      const plain = new Uint8Array(r.plain.buffer, r.plain.byteOffset, r.plain.byteLength);
      port.postMessage({ seq: req.seq, ok: true, result: { ...r, plain } } satisfies WorkerResponse, transferable(r.plain));
    }
  } catch (err) {
    const e = err as Error;
    port.postMessage({ seq: req.seq, ok: false, code: err instanceof StowageError ? err.code : undefined, message: e.message } as WorkerResponse);
  }
});

/** Transfer the result's memory when it owns a whole ArrayBuffer (not a pooled slice). */
function transferable(b: Buffer): ArrayBuffer[] {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? [b.buffer] : [];
}
