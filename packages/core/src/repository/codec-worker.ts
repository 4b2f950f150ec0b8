/**
 * Worker thread running BlobCodec batches (zstd, sealing, hashing are synchronous
 * native calls; running them here keeps every core busy), and the whole-stream
 * hashes of snapshots and restores, one per stream id (updates arrive in order on this
 * worker's port).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { StowageError } from '../errors.js';
import { BlobCodec, type CodecSpec, type DecodeItem } from './blob-codec.js';
import { RangeHasher, type DigestedRange } from '../hash/range-hasher.js';
import { Sha256 } from '../hash/sha256-pair.js';
import { GarbageBound } from '../util/garbage-bound.js';

export type WorkerRequest =
  /** The codec of a worker started without one (codec-warm.ts): its first message; no reply. */
  | { readonly seq: number; readonly op: 'init'; readonly spec: CodecSpec }
  /**
   * Encodes; with `bases`, first decodes those reads into their places in `data` (shared
   * memory: the candidate delta bases `baseSpans` points at), and encodes without bases when
   * one is CORRUPT (the result says `basesFailed`: a damaged repository only costs the deltas).
   */
  | {
      readonly seq: number;
      readonly op: 'encode';
      readonly data: Uint8Array;
      readonly lengths: number[];
      readonly baseSpans?: number[];
      readonly frameTarget?: number;
      readonly bases?: readonly BaseReads[];
    }
  | { readonly seq: number; readonly op: 'decode'; readonly data: Uint8Array; readonly items: DecodeItem[]; readonly what: string }
  /** Decodes from and into shared memory (nothing transferred); replies with the lengths. */
  | { readonly seq: number; readonly op: 'decode-into'; readonly data: Uint8Array; readonly items: DecodeItem[]; readonly out: Uint8Array; readonly what: string; readonly aside?: Uint8Array }
  /** Feeds hash stream `stream`'s SHA-256 (started on first use); replies (empty) only when `ack`, once the bytes are hashed. */
  | { readonly seq: number; readonly op: 'sha-update'; readonly stream: number; readonly data: readonly Uint8Array[]; readonly ack?: boolean }
  /** Replies with stream `stream`'s hex SHA-256 and forgets the stream. */
  | { readonly seq: number; readonly op: 'sha-digest'; readonly stream: number }
  /**
   * Starts hashing byte ranges of stream `stream` (image layers); no reply. `whole`: the
   * stream's own SHA-256 too, in the same pass (updates then carry every byte; pairedSha256).
   */
  | { readonly seq: number; readonly op: 'range-start'; readonly stream: number; readonly ranges: readonly DigestedRange[]; readonly whole?: boolean }
  /** Feeds pieces starting at stream `offset` to the range hashes; replies (empty) when `ack`. */
  | {
      readonly seq: number;
      readonly op: 'range-update';
      readonly stream: number;
      readonly data: readonly Uint8Array[];
      readonly offset: number;
      readonly ack?: boolean;
      readonly add?: readonly DigestedRange[];
    }
  /** Replies with the ranges whose bytes do not match their digest, and forgets them. */
  | { readonly seq: number; readonly op: 'range-result'; readonly stream: number }
  /** A stream started with `whole`: replies with { sha256, mismatches } and forgets it. */
  | { readonly seq: number; readonly op: 'range-digests'; readonly stream: number }
  /** Forgets stream `stream`'s hashes (its operation failed); no reply. */
  | { readonly seq: number; readonly op: 'discard'; readonly stream: number };

/** Stored bytes of some delta bases (shared memory), decoded into `out` (a view of the encode job's shared `data`). */
export interface BaseReads {
  readonly data: Uint8Array;
  readonly items: DecodeItem[];
  readonly out: Uint8Array;
  readonly what: string;
}

export type WorkerResponse = { readonly seq: number; readonly ok: true; readonly result: unknown } | { readonly seq: number; readonly ok: false; readonly code?: string; readonly message: string };

const port = parentPort!;
/** The codec: from workerData, or from the first message of a worker started before it was known (codec-warm.ts). */
let codecOrNone: BlobCodec | undefined = workerData ? new BlobCodec(workerData as CodecSpec) : undefined;
const needCodec = (): BlobCodec => codecOrNone ?? fail();
function fail(): never {
  throw new Error('internal error: codec worker used before its init message');
}
/**
 * Dead memory a job leaves in this worker, bounded: scavenge every 1 MB and run a full
 * collection every 16 MB, instead of V8's 64 MB of external memory. Encrypted repositories:
 * sealing and opening make a fresh buffer per blob (Node's cipher API has no output buffer);
 * those are freed at once (Cipher.release, util/detach.ts), so they are not counted here
 * (they were until 2026-11-30: a scavenge per MB sealed or opened; restore of docker.tar v5
 * 2.44-2.51 against 2.58-2.64 CPU-s without them). Every codec: an encode whose result
 * compressed well leaves its bound-sized output behind (BlobCodec.lastEncodeGarbage);
 * uncounted, those piled up to V8's 64 MB in each worker (first snapshot of 1,000,000 small files: 208 -> 173 MiB peak RSS, CPU the
 * same; native-bench/README.md, "Tree snapshots: session of 2026-11-29 late (htree)").
 */
let garbage = garbageBoundFor(codecOrNone);
function garbageBoundFor(codec: BlobCodec | undefined): GarbageBound | undefined {
  return codec ? new GarbageBound(1024 * 1024, 16 * 1024 * 1024) : undefined;
}
/** The hashes of the streams in progress, by stream id (each belongs to one operation). */
const shas = new Map<number, Hash>();
const rangers = new Map<number, RangeHasher>();

/** Decodes an encode job's delta bases into place; false when one is CORRUPT (other errors are thrown). */
function decodeBases(bases: readonly BaseReads[]): boolean {
  try {
    for (const b of bases) needCodec().decodeInto(b.data, b.items, b.out, b.what);
    return true;
  } catch (err) {
    if (err instanceof StowageError && err.code === 'CORRUPT') return false;
    throw err;
  }
}

port.on('message', (req: WorkerRequest) => {
  try {
    switch (req.op) {
      case 'init':
        codecOrNone = new BlobCodec(req.spec);
        garbage = garbageBoundFor(codecOrNone);
        return;
      case 'encode': {
        const basesFailed = req.bases !== undefined && !decodeBases(req.bases);
        const r = needCodec().encode(req.data, req.lengths, basesFailed ? undefined : req.baseSpans, req.frameTarget);
        const stored = new Uint8Array(r.stored.buffer, r.stored.byteOffset, r.stored.byteLength);
        port.postMessage({ seq: req.seq, ok: true, result: { ...r, stored, ...(basesFailed && { basesFailed }) } } satisfies WorkerResponse, transferable(r.stored));
        // the output the stored bytes were copied from (the cipher's own outputs are freed at once: Cipher.release)
        garbage?.add(needCodec().lastEncodeGarbage);
        return;
      }
      case 'decode': {
        const r = needCodec().decode(req.data, req.items, req.what);
        const plain = new Uint8Array(r.plain.buffer, r.plain.byteOffset, r.plain.byteLength);
        port.postMessage({ seq: req.seq, ok: true, result: { ...r, plain } } satisfies WorkerResponse, transferable(r.plain));
        return;
      }
      case 'decode-into':
        port.postMessage({ seq: req.seq, ok: true, result: needCodec().decodeInto(req.data, req.items, req.out, req.what, req.aside) } satisfies WorkerResponse);
        return;
      case 'range-start':
        rangers.set(req.stream, new RangeHasher(req.ranges, req.whole ? new Sha256() : undefined));
        return;
      case 'range-update': {
        const r = rangers.get(req.stream);
        if (req.add) r?.add(req.add);
        r?.update(req.data, req.offset);
        if (req.ack) port.postMessage({ seq: req.seq, ok: true, result: null } satisfies WorkerResponse);
        return;
      }
      case 'range-result': {
        const bad = rangers.get(req.stream)?.mismatches() ?? [];
        rangers.delete(req.stream);
        port.postMessage({ seq: req.seq, ok: true, result: bad } satisfies WorkerResponse);
        return;
      }
      case 'range-digests': {
        const r = rangers.get(req.stream);
        rangers.delete(req.stream);
        if (!r) throw new Error(`internal error: no hashes of stream ${req.stream}`);
        port.postMessage({ seq: req.seq, ok: true, result: { sha256: r.wholeDigest(), mismatches: r.mismatches() } } satisfies WorkerResponse);
        return;
      }
      case 'sha-update': {
        let sha = shas.get(req.stream);
        if (!sha) shas.set(req.stream, (sha = createHash('sha256')));
        for (const d of req.data) sha.update(d);
        if (req.ack) port.postMessage({ seq: req.seq, ok: true, result: null } satisfies WorkerResponse);
        return;
      }
      case 'sha-digest': {
        const hex = (shas.get(req.stream) ?? createHash('sha256')).digest('hex');
        shas.delete(req.stream);
        port.postMessage({ seq: req.seq, ok: true, result: hex } satisfies WorkerResponse);
        return;
      }
      case 'discard':
        shas.delete(req.stream);
        rangers.delete(req.stream);
        return;
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
