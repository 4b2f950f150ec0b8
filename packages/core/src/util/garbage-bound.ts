/**
 * A bound on the dead short-lived buffers of a thread (codec workers' cipher outputs, the
 * main thread's HTTP response chunks: backend/s3.ts).
 *
 * Node's ciphers return fresh memory from every update (AES-GCM sealing and opening: one
 * new buffer per blob or frame), and V8 collects such external memory only once about
 * 64 MB of it has piled up in an isolate; with two codec workers, up to about 128 MB of
 * dead buffers sat in a restore's peak RSS. `add(n)` counts the bytes a job left behind.
 * Such buffers die young (made and dropped within one job), so a scavenge of the young
 * generation frees them: one runs after every `minor` bytes (a fraction of a millisecond on
 * a worker's small heap), and a full collection after every `major` bytes, for any that were
 * promoted meanwhile. Measured on the restore of docker.tar v5 (encrypted repository, 4 MiB
 * windows, 5 runs each, alternating, load 11-13): a full collection every 16 MB 191-192 MB
 * peak RSS at 2.80-2.86 CPU-s; every 4 MB 167-168 MB at 3.01-3.18 CPU-s; a scavenge every
 * 4 MB 178 MB at 2.76 CPU-s.
 *
 * The collector is V8's `gc`, reached from a new context made with --expose-gc on, then off
 * again (util/v8-builtin.ts, which retries when another thread turned the flag off
 * meanwhile); where that is not possible, add() does nothing.
 */
import { reachFlagged } from './v8-builtin.js';

/** V8's `gc` of --expose-gc: a full collection, or a scavenge of the young generation with `{ type: 'minor' }`. */
export type Gc = (opts?: { type: 'minor' | 'major' }) => void;

export class GarbageBound {
  private young = 0;
  private piled = 0;

  /**
   * `minor`: bytes between scavenges; `major`: bytes between full collections (default:
   * `minor`, no scavenges); `collect`: the collector (default V8's, when it can be reached).
   */
  constructor(
    private readonly minor: number,
    private readonly major = minor,
    private readonly collect: Gc | undefined = exposedGc(),
  ) {}

  /** Counts `bytes` of dead memory; collects once `minor` (scavenge) or `major` (full) bytes piled up since the last time. */
  add(bytes: number): void {
    if (!this.collect) return;
    this.young += bytes;
    this.piled += bytes;
    if (this.piled >= this.major) {
      this.piled = 0;
      this.young = 0;
      this.collect();
    } else if (this.young >= this.minor) {
      this.young = 0;
      this.collect({ type: 'minor' });
    }
  }
}

let reached: { gc: Gc | undefined } | undefined;

/** V8's collector, or undefined where it cannot be reached (looked up once per thread). */
export function exposedGc(): Gc | undefined {
  return (reached ??= { gc: reachGc() }).gc;
}

function reachGc(): Gc | undefined {
  const gc = reachFlagged('--expose-gc', 'typeof gc === "function" ? gc : undefined');
  return typeof gc === 'function' ? (gc as Gc) : undefined;
}
