/**
 * Giving a buffer's memory back at once, without waiting for V8's collector.
 *
 * Node's ciphers return fresh memory from every update (AES-GCM: one buffer per blob or frame
 * sealed or opened, dead as soon as it is copied or decompressed). Such a buffer is freed only
 * when a collection finds it dead, and glibc cannot hand back the holes that the dead buffers
 * leave between live ones: an arena keeps the high-water mark of live plus not yet collected
 * memory (restore of docker.tar v5: one arena at 6-10 MB in some runs, 30 MB in others).
 * Detaching the ArrayBuffer (`ArrayBuffer.prototype.transfer(0)`) drops V8's hold on its
 * backing store, which is freed right there, so the next buffer of the same size reuses the
 * same memory (a loop sealing 2,000 blobs of 500-700 KiB: 90-95 against 50 MB peak RSS, and
 * 0.62 against 0.36 s).
 *
 * Node 20's V8 ships `transfer` behind --harmony-rab-gsab-transfer: it is reached from a new
 * context made with the flag on, then off again (util/v8-builtin.ts; garbage-bound.ts reaches
 * `gc` the same way). Where neither is possible, nothing is freed early.
 */
import { reachFlagged } from './v8-builtin.js';

type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

let reached: { transfer: Transfer | undefined } | undefined;

/**
 * Frees the memory of `buf` now, when `buf` is the only view of a whole ordinary ArrayBuffer
 * (not shared memory, not a slice of Node's Buffer pool): its ArrayBuffer is detached, so
 * `buf` and every other view of it then read as empty. The caller must hold no other view of
 * that memory. Returns whether it was freed.
 */
export function freeNow(buf: Uint8Array): boolean {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength || ab.byteLength === Buffer.poolSize) return false;
  const transfer = transferFn();
  if (!transfer) return false;
  transfer.call(ab, 0);
  return true;
}

/**
 * Detaches `ab` (every view of it then reads as empty): its memory is freed at once, or where
 * that cannot be done, moved to a new unreferenced ArrayBuffer that the next scavenge frees.
 * The caller must be done with every view of it.
 */
export function detach(ab: ArrayBuffer): void {
  const transfer = transferFn();
  if (transfer) transfer.call(ab, 0);
  else structuredClone(ab, { transfer: [ab] });
}

/** `ArrayBuffer.prototype.transfer`, reached once (reachTransfer); undefined where it cannot be. */
function transferFn(): Transfer | undefined {
  return (reached ??= { transfer: reachTransfer() }).transfer;
}

function reachTransfer(): Transfer | undefined {
  const own = (ArrayBuffer.prototype as { transfer?: unknown }).transfer;
  if (typeof own === 'function') return own as Transfer;
  const t = reachFlagged('--harmony-rab-gsab-transfer', 'ArrayBuffer.prototype.transfer');
  return typeof t === 'function' ? (t as Transfer) : undefined;
}
