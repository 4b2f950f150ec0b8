/**
 * `forget`: removes snapshot files, chosen by id or by a retention policy (policy.ts).
 *
 * Only snapshot files are removed; the data they alone referenced stays until gc. Takes a
 * shared lock: forgetting runs alongside snapshots, but not while gc marks (gc would find a
 * snapshot file gone under it).
 */
import { StowageError, isStowageError } from '../errors.js';
import { lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { listSnapshots, resolveSnapshot } from '../snapshot/find.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { filterSnapshots, type SnapshotFilter } from '../snapshot/filter.js';
import { DEFAULT_GROUP_BY, applyPolicy, policyIsEmpty, type GroupDecision, type GroupKey, type RetentionPolicy } from './policy.js';

export interface ForgetOptions {
  /** Snapshots to remove (full ids, unique prefixes, "latest"). Exclusive with `policy`. */
  readonly ids?: readonly string[];
  readonly policy?: RetentionPolicy;
  readonly groupBy?: readonly GroupKey[];
  /** Only snapshots that match are considered (a policy never removes others); "latest" is the newest match. */
  readonly filter?: SnapshotFilter;
  readonly timeZone?: string;
  /** Decide and report, remove nothing. */
  readonly dryRun?: boolean;
}

export interface ForgetResult {
  /** Policy decisions per group (empty when forgetting by id). */
  readonly groups: GroupDecision<Snapshot>[];
  /** Ids removed (or, with dryRun, that would be). */
  readonly removed: string[];
  readonly kept: number;
  readonly dryRun: boolean;
  /** The grouping the policy used (empty: one group; also when forgetting by id). */
  readonly groupBy: readonly GroupKey[];
}

export async function forget(repo: Repository, opts: ForgetOptions): Promise<ForgetResult> {
  const byId = opts.ids !== undefined && opts.ids.length > 0;
  const byPolicy = opts.policy !== undefined && !policyIsEmpty(opts.policy);
  if (byId && byPolicy) throw new StowageError('INVALID_ARGUMENT', 'give snapshot ids or a --keep-* policy, not both');
  if (!byId && !byPolicy) throw new StowageError('INVALID_ARGUMENT', 'nothing to forget: give snapshot ids or at least one --keep-* rule (a policy keeping nothing is refused)');
  const lock = opts.dryRun ? undefined : await lockRepository(repo, 'shared');
  try {
    let groups: GroupDecision<Snapshot>[] = [];
    let remove: string[];
    let kept = 0;
    if (byId) {
      const ids = new Set<string>();
      for (const ref of opts.ids!) ids.add(await resolveSnapshot(repo, ref, opts.filter));
      remove = [...ids];
      kept = (await repo.listNames('snapshot')).length - remove.length;
    } else {
      groups = applyPolicy(filterSnapshots(await listSnapshots(repo), opts.filter), opts.policy!, {
        ...(opts.groupBy && { groupBy: opts.groupBy }),
        ...(opts.timeZone && { timeZone: opts.timeZone }),
      });
      remove = groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
      kept = (await repo.listNames('snapshot')).length - remove.length;
    }
    if (lock) {
      // the point of no return: the lock must still be ours, and losing it stops the removals
      await lock.verify();
      for (const id of remove) {
        try {
          await repo.backend.remove({ type: 'snapshot', name: id }, { signal: lock.signal });
        } catch (err) {
          if (!isStowageError(err, 'NOT_FOUND')) throw err; // forgotten by someone else meanwhile
        }
      }
    }
    return { groups, removed: remove, kept, dryRun: opts.dryRun ?? false, groupBy: byId ? [] : [...(opts.groupBy ?? DEFAULT_GROUP_BY)] };
  } finally {
    await lock?.release();
  }
}
