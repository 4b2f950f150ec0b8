/**
 * Worker thread running BlobCodec batches (zstd, sealing, hashing are synchronous
 * native calls; running them here keeps every core busy), and the whole-stream
 * SHA-256 of a snapshot or restore (updates arrive in order on this worker's port).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { StowageError } from '../errors.js';
import { BlobCodec, type CodecSpec, type DecodeItem } from './blob-codec.js';

export type WorkerRequest =
  | { readonly seq: number; readonly op: 'encode'; readonly data: Uint8Array; readonly lengths: number[] }
  | { readonly seq: number; readonly op: 'decode'; readonly data: Uint8Array; readonly items: DecodeItem[]; readonly what: string }
  /** No reply: feeds the running SHA-256. */
  | { readonly seq: number; readonly op: 'sha-update'; readonly data: readonly Uint8Array[] }
  /** Replies with the hex digest and starts a new hash. */
  | { readonly seq: number; readonly op: 'sha-digest' };

export type WorkerResponse =
  | { readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly seq: number; readonly ok: false; readonly code?: string; readonly message: string };

const codec = new BlobCodec(workerData as CodecSpec);
const port = parentPort!;
let sha: Hash = createHash('sha256');

port.on('message', (req: WorkerRequest) => {
  try {
    switch (req.op) {
      case 'encode': {
        const r = codec.encode(req.data, req.lengths);
        const stored = new Uint8Array(r.stored.buffer, r.stored.byteOffset, r.stored.byteLength);
        port.postMessage({ seq: req.seq, ok: true, result: { ...r, stored } } satisfies WorkerResponse, transferable(r.stored));
        return;
      }
      case 'decode': {
        const r = codec.decode(req.data, req.items, req.what);
        const plain = new Uint8Array(r.plain.buffer, r.plain.byteOffset, r.plain.byteLength);
        port.postMessage({ seq: req.seq, ok: true, result: { ...r, plain } } satisfies WorkerResponse, transferable(r.plain));
        return;
      }
      case 'sha-update':
        for (const d of req.data) sha.update(d);
        return;
      case 'sha-digest': {
        const hex = sha.digest('hex');
        sha = createHash('sha256');
        port.postMessage({ seq: req.seq, ok: true, result: hex } satisfies WorkerResponse);
        return;
      }
    }
  } catch (err) {
    const e = err as Error;
    port.postMessage({ seq: req.seq, ok: false, code: err instanceof StowageError ? err.code : undefined, message: e.message } as WorkerResponse);
  }
});

/**
 * Transfer the result's memory unless it may be Node's shared Buffer pool (whose
 * ArrayBuffers are exactly Buffer.poolSize bytes); BlobCodec allocates its outputs
 * outside the pool, so in practice they are always transferred.
 */
function transferable(b: Buffer): ArrayBuffer[] {
  return b.buffer instanceof ArrayBuffer && b.buffer.byteLength !== Buffer.poolSize ? [b.buffer] : [];
}
