/**
 * Snapshot filters, with restic's semantics for `--tag`, `--host` and `--path`, plus `--name`:
 *
 * - `names`: the snapshot's name is one of them (any);
 * - `hosts`: the snapshot's host name is one of them (any);
 * - `tags`: a list of tag sets; the snapshot matches when it carries every tag of at least
 *   one set (`--tag a,b --tag c` = (a AND b) OR c). An empty set matches snapshots with no
 *   tags at all (restic's `--tag ""`);
 * - `paths`: the snapshot's source path is every one of them (restic: the snapshot includes
 *   all given paths; a stowage snapshot has one source path, "-" for stdin).
 *
 * An absent or empty list does not filter. `latest` (resolveSnapshot) is the newest snapshot
 * that matches.
 */
import type { Snapshot } from './manifest.js';

export interface SnapshotFilter {
  readonly names?: readonly string[];
  readonly hosts?: readonly string[];
  readonly tags?: readonly (readonly string[])[];
  readonly paths?: readonly string[];
}

/** What a filter looks at. */
export type FilterableSnapshot = Pick<Snapshot, 'name' | 'hostname' | 'tags'> & { readonly source: { readonly path: string } };

/** True when the filter has no condition. */
export function filterIsEmpty(f: SnapshotFilter | undefined): boolean {
  return !f || ((f.names?.length ?? 0) === 0 && (f.hosts?.length ?? 0) === 0 && (f.tags?.length ?? 0) === 0 && (f.paths?.length ?? 0) === 0);
}

/** True when `s` passes every condition of `f`. */
export function matchesFilter(s: FilterableSnapshot, f: SnapshotFilter | undefined): boolean {
  if (!f) return true;
  if (f.names?.length && !f.names.includes(s.name)) return false;
  if (f.hosts?.length && !f.hosts.includes(s.hostname)) return false;
  if (f.tags?.length && !f.tags.some((set) => (set.length === 0 ? s.tags.length === 0 : set.every((t) => s.tags.includes(t))))) return false;
  if (f.paths?.length && !f.paths.every((p) => p === s.source.path)) return false;
  return true;
}

/** The snapshots that match, in their order. */
export function filterSnapshots<T extends FilterableSnapshot>(snaps: readonly T[], f: SnapshotFilter | undefined): T[] {
  return filterIsEmpty(f) ? [...snaps] : snaps.filter((s) => matchesFilter(s, f));
}

/** "name app, tag a,b or c, host h1 or h2, path /x": the filter for messages ("" when empty). */
export function describeFilter(f: SnapshotFilter | undefined): string {
  if (filterIsEmpty(f)) return '';
  const parts: string[] = [];
  const any = (xs: readonly string[]) => xs.map((x) => JSON.stringify(x)).join(' or ');
  if (f!.names?.length) parts.push(`name ${any(f!.names)}`);
  if (f!.hosts?.length) parts.push(`host ${any(f!.hosts)}`);
  if (f!.tags?.length) parts.push(`tag ${f!.tags.map((set) => (set.length ? set.join(',') : '(none)')).join(' or ')}`);
  if (f!.paths?.length) parts.push(`path ${f!.paths.map((x) => JSON.stringify(x)).join(' and ')}`);
  return parts.join(', ');
}
