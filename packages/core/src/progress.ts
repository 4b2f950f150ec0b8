/**
 * Progress events. The core never prints; operations call an optional callback, and the CLI
 * renders them (a bar on a terminal, nothing otherwise: cli/src/progress-bar.ts).
 *
 * An operation reports `done` (and `total` when known) in one `unit`; an operation with
 * several passes names the pass in `phase` (check: "snapshots", then "read-data"; gc:
 * "mark", then "repack"), and `done` restarts from 0 when the phase or unit changes.
 */
export interface ProgressEvent {
  readonly op: 'snapshot' | 'restore' | 'repair' | 'gc' | 'check' | 'copy' | 'push' | 'download';
  /** Units processed so far. */
  readonly done: number;
  /** Total units when known. */
  readonly total?: number | undefined;
  /** What `done` counts (default "bytes"). */
  readonly unit?: 'bytes' | 'snapshots' | 'packs' | 'blobs' | 'files';
  /** The pass of a multi-pass operation. */
  readonly phase?: string;
}

export type ProgressFn = (e: ProgressEvent) => void;
