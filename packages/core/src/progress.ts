/**
 * Progress events. The core never prints; operations call an optional callback.
 */
export interface ProgressEvent {
  readonly op: 'snapshot' | 'restore' | 'repair' | 'gc' | 'check';
  /** Bytes processed so far (gc and check: snapshots, then packs). */
  readonly done: number;
  /** Total bytes when known. */
  readonly total?: number | undefined;
}

export type ProgressFn = (e: ProgressEvent) => void;
