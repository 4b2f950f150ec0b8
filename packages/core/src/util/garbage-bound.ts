/**
 * A bound on the dead short-lived buffers of a codec worker thread.
 *
 * Node's ciphers return fresh memory from every update (AES-GCM sealing and opening: one
 * new buffer per blob or frame), and V8 collects such external memory only once about
 * 64 MB of it has piled up in an isolate; with two codec workers, up to about 128 MB of
 * dead buffers sat in a restore's peak RSS. `add(n)` counts the bytes a job left behind and
 * runs a full collection of the worker's small heap (a few milliseconds) once `limit` bytes
 * piled up. Measured on the restore of docker.tar v5 (encrypted repository, 8 MiB windows):
 * peak RSS 237-256 MB without, 230-232 MB with a 16 MB bound, at the same CPU-seconds.
 *
 * The collector is V8's `gc`, reached by turning --expose-gc on at run time for one new
 * context (node:v8 setFlagsFromString, node:vm), then off again; where that is not
 * possible, add() does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export class GarbageBound {
  private piled = 0;
  private readonly collect = exposedGc();

  constructor(private readonly limit: number) {}

  /** Counts `bytes` of dead memory; collects once `limit` bytes piled up since the last time. */
  add(bytes: number): void {
    if (!this.collect) return;
    this.piled += bytes;
    if (this.piled < this.limit) return;
    this.piled = 0;
    this.collect();
  }
}

function exposedGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
