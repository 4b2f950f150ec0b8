/**
 * Retention policy: which snapshots `forget` keeps. A pure function (restic's semantics).
 *
 * Snapshots are grouped (by name by default, as restic groups by host and paths); within a
 * group they are ordered newest first (equal times: the larger id first), and each rule
 * keeps snapshots independently; a snapshot is kept when any rule keeps it:
 *
 * - `last n`: the n newest snapshots;
 * - `hourly/daily/weekly/monthly/yearly n`: for the n newest hours (days, ISO weeks, months,
 *   years) that have snapshots, the newest snapshot in each (see calendar.ts for DST);
 * - `within d`: every snapshot strictly newer than the group's newest snapshot minus d
 *   (calendar arithmetic: months clamp to month ends);
 * - `tags`: every snapshot carrying one of the tags.
 *
 * A count of -1 (or Infinity) means unlimited. A snapshot whose time cannot be parsed is
 * always kept (nothing is removed on a guess). An empty policy keeps everything; callers
 * refuse it (forget without a policy is a mistake, not a request to delete all).
 */
import { formatCalendarDuration, type CalendarDuration } from '../units/duration.js';
import { isoWeek, localTime, subtractDuration, systemTimeZone } from './calendar.js';

export interface RetentionPolicy {
  readonly last?: number;
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
  readonly within?: CalendarDuration;
  readonly tags?: readonly string[];
}

export type GroupKey = 'name' | 'host';

/** The grouping when none is given: by snapshot name. */
export const DEFAULT_GROUP_BY: readonly GroupKey[] = ['name'];

export interface PolicyOptions {
  /** IANA time zone of the calendar buckets (default: the system's). */
  readonly timeZone?: string;
  /** Grouping (default ['name']; [] = one group). */
  readonly groupBy?: readonly GroupKey[];
}

/** What the policy needs of a snapshot. */
export interface PolicySnapshot {
  readonly id: string;
  /** ISO-8601. */
  readonly time: string;
  readonly name: string;
  readonly hostname: string;
  readonly tags: readonly string[];
}

export interface Decision<T extends PolicySnapshot> {
  readonly snapshot: T;
  readonly keep: boolean;
  /** Why it is kept, e.g. "last", "daily 2026-03-29", "within 2d", "tag release". Empty when removed. */
  readonly reasons: string[];
}

export interface GroupDecision<T extends PolicySnapshot> {
  /** The group's key values, e.g. { name: "app" }. */
  readonly key: Readonly<Partial<Record<GroupKey, string>>>;
  /** Newest first. */
  readonly decisions: Decision<T>[];
}

type Bucketed = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const BUCKETED: readonly Bucketed[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

/** True when the policy has at least one rule. */
export function policyIsEmpty(p: RetentionPolicy): boolean {
  const counts = [p.last, p.hourly, p.daily, p.weekly, p.monthly, p.yearly];
  return counts.every((c) => c === undefined || c === 0) && p.within === undefined && (p.tags === undefined || p.tags.length === 0);
}

/** Groups `snapshots` and decides, per group, what to keep. Groups are sorted by key. */
export function applyPolicy<T extends PolicySnapshot>(snapshots: readonly T[], policy: RetentionPolicy, opts: PolicyOptions = {}): GroupDecision<T>[] {
  const tz = opts.timeZone ?? systemTimeZone();
  const groupBy = opts.groupBy ?? DEFAULT_GROUP_BY;
  const groups = new Map<string, { key: Partial<Record<GroupKey, string>>; snaps: T[] }>();
  for (const s of snapshots) {
    const key: Partial<Record<GroupKey, string>> = {};
    for (const g of groupBy) key[g] = g === 'name' ? s.name : s.hostname;
    const k = JSON.stringify(groupBy.map((g) => key[g]));
    let grp = groups.get(k);
    if (!grp) groups.set(k, (grp = { key, snaps: [] }));
    grp.snaps.push(s);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => ({ key: g.key, decisions: decideGroup(g.snaps, policy, tz) }));
}

function decideGroup<T extends PolicySnapshot>(snaps: readonly T[], policy: RetentionPolicy, tz: string): Decision<T>[] {
  const items = snaps
    .map((s) => ({ s, t: Date.parse(s.time) }))
    .sort((a, b) => {
      const ta = Number.isNaN(a.t) ? Infinity : a.t;
      const tb = Number.isNaN(b.t) ? Infinity : b.t;
      if (ta !== tb) return tb - ta;
      return a.s.id < b.s.id ? 1 : a.s.id > b.s.id ? -1 : 0;
    });
  const reasons = items.map((): string[] => []);
  const limit = (n: number | undefined): number => (n === undefined ? 0 : n < 0 ? Infinity : n);

  // last
  let left = limit(policy.last);
  items.forEach((it, i) => {
    if (left > 0 && !Number.isNaN(it.t)) {
      reasons[i]!.push('last');
      left--;
    }
  });

  // calendar buckets
  for (const rule of BUCKETED) {
    let n = limit(policy[rule]);
    if (n === 0) continue;
    let lastKey: string | undefined;
    items.forEach((it, i) => {
      if (n === 0 || Number.isNaN(it.t)) return;
      const key = bucketKey(rule, it.t, tz);
      if (key === lastKey) return;
      lastKey = key;
      reasons[i]!.push(`${rule} ${key}`);
      n--;
    });
  }

  // within
  if (policy.within) {
    const newest = items.find((it) => !Number.isNaN(it.t));
    if (newest) {
      const cutoff = subtractDuration(newest.t, policy.within, tz);
      const label = `within ${formatCalendarDuration(policy.within)}`;
      items.forEach((it, i) => {
        if (!Number.isNaN(it.t) && it.t > cutoff) reasons[i]!.push(label);
      });
    }
  }

  // tags
  if (policy.tags?.length) {
    items.forEach((it, i) => {
      for (const tag of policy.tags!) if (it.s.tags.includes(tag)) reasons[i]!.push(`tag ${tag}`);
    });
  }

  return items.map((it, i) => {
    if (Number.isNaN(it.t)) reasons[i]!.push('time unreadable');
    return { snapshot: it.s, keep: reasons[i]!.length > 0, reasons: reasons[i]! };
  });
}

/** The bucket of instant `t` for a rule, as a readable key ("2026-03-29", "2026-W13", "2026-03-29 02h+01:00"). */
export function bucketKey(rule: Bucketed, t: number, tz: string): string {
  const l = localTime(t, tz);
  const p2 = (n: number) => String(n).padStart(2, '0');
  switch (rule) {
    case 'hourly': {
      const o = Math.abs(l.offset);
      return `${l.year}-${p2(l.month)}-${p2(l.day)} ${p2(l.hour)}h${l.offset < 0 ? '-' : '+'}${p2(Math.floor(o / 60))}:${p2(o % 60)}`;
    }
    case 'daily':
      return `${l.year}-${p2(l.month)}-${p2(l.day)}`;
    case 'weekly': {
      const w = isoWeek(l.year, l.month, l.day);
      return `${w.year}-W${p2(w.week)}`;
    }
    case 'monthly':
      return `${l.year}-${p2(l.month)}`;
    case 'yearly':
      return `${l.year}`;
  }
}
