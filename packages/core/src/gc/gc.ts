/**
 * `gc`: plan (plan.ts), then execute (execute.ts), under the exclusive repository lock,
 * which it holds from before the first snapshot is listed until the last file is deleted.
 * A dry run plans under a shared lock and changes nothing.
 */
import type { ProgressFn } from '../progress.js';
import { StowageError } from '../errors.js';
import { filterIsEmpty, type SnapshotFilter } from '../snapshot/filter.js';
import { lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { executeGc, type GcResult } from './execute.js';
import { planGc, type GcPlan, type MaxUnused } from './plan.js';

export interface GcOptions {
  readonly maxUnused?: MaxUnused;
  readonly dryRun?: boolean;
  /** Dry run only: plan as if only the matching snapshots existed (PlanOptions.filter). */
  readonly filter?: SnapshotFilter;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface GcOutcome {
  readonly plan: GcPlan;
  /** Undefined for a dry run. */
  readonly result?: GcResult;
  readonly seconds: number;
}

export async function gc(repo: Repository, opts: GcOptions = {}): Promise<GcOutcome> {
  const t0 = performance.now();
  if (!opts.dryRun && !filterIsEmpty(opts.filter))
    throw new StowageError('INVALID_ARGUMENT', 'snapshot filters work with a dry run only: gc deletes only what no snapshot at all uses (forget the snapshots first)');
  const lock = await lockRepository(repo, opts.dryRun ? 'shared' : 'exclusive', opts.signal ? { signal: opts.signal } : {});
  try {
    // losing the lock stops gc like a cancellation does (with LOCKED as the reason)
    const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
    const common = { ...(opts.progress && { progress: opts.progress }), signal };
    const plan = await planGc(repo, { ...common, ...(opts.maxUnused && { maxUnused: opts.maxUnused }), ...(opts.filter && { filter: opts.filter }) });
    if (opts.dryRun) return { plan, seconds: (performance.now() - t0) / 1000 };
    const result = await executeGc(repo, plan, { ...common, lock });
    return { plan, result, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await lock.release();
  }
}
