/**
 * Listing snapshots and resolving user references (full id, unique prefix, "latest").
 */
import { isStowageError, StowageError } from '../errors.js';
import { EARLY_FILES_MAX } from '../repository/early-files.js';
import type { Repository } from '../repository/repository.js';
import { describeFilter, filterSnapshots, type SnapshotFilter } from './filter.js';
import { decodeManifest, type Snapshot } from './manifest.js';
import { asImageRef, newestHolding } from './find-image.js';

/** Loads one snapshot by full id (`fresh`: from the repository, never the local cache: Repository.loadFile). */
export async function loadSnapshot(repo: Repository, id: string, opts: { readonly fresh?: boolean } = {}): Promise<Snapshot> {
  const bytes = await repo.loadFile('snapshot', id, opts.fresh ? { fresh: true } : undefined);
  return { id, ...decodeManifest(bytes, `snapshot ${id}`) };
}

/**
 * All snapshots, oldest first (ties broken by id). A snapshot file listed but gone when it
 * is read was removed in between by a forget (which runs beside snapshots under a shared
 * lock): it is left out, as if the listing had come a moment later.
 */
export async function listSnapshots(repo: Repository): Promise<Snapshot[]> {
  return loadAll(repo, await repo.listNames('snapshot'));
}

/**
 * The snapshots listed and read while the repository opened (OpenOptions.readSnapshotsEarly),
 * before any lock was taken, oldest first: a hint for what to prepare (a snapshot that will
 * reuse an unchanged input needs no index), never a substitute for listSnapshots, whose
 * listing decides what exists. Undefined when there was no such listing or a file fails to open.
 */
export async function peekSnapshots(repo: Repository): Promise<Snapshot[] | undefined> {
  const names = await repo.earlySnapshotNames();
  // more files than were read early: not worth reading here
  return names === undefined || names.length > EARLY_FILES_MAX ? undefined : loadAll(repo, names).catch(() => undefined);
}

async function loadAll(repo: Repository, names: readonly string[]): Promise<Snapshot[]> {
  const loaded = await Promise.all(names.map((n) => loadSnapshot(repo, n).catch((err: unknown) => (isStowageError(err, 'NOT_FOUND') ? undefined : Promise.reject(err)))));
  const snaps = loaded.filter((s): s is Snapshot => s !== undefined);
  return snaps.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Resolves "latest", a full id, a unique id prefix (at least 4 hex characters), or an
 * image reference (`name:tag`, `name@sha256:...`: the newest snapshot holding it) to a snapshot id.
 * "latest" and image references pick the newest snapshot that matches `filter` (filter.ts);
 * an id names one snapshot whatever the filter (as restic does).
 * NOT_FOUND, AMBIGUOUS_ID or INVALID_ARGUMENT otherwise.
 */
export async function resolveSnapshot(repo: Repository, ref: string, filter?: SnapshotFilter): Promise<string> {
  if (ref === 'latest') {
    const all = filterSnapshots(await listSnapshots(repo), filter);
    const last = all[all.length - 1];
    const which = describeFilter(filter);
    if (!last) throw new StowageError('NOT_FOUND', which ? `no snapshot matches ${which}` : 'no snapshots in the repository');
    return last.id;
  }
  const image = asImageRef(ref); // "app:v5", "app@sha256:...": the newest snapshot holding that image (find-image.ts)
  if (image) {
    const snap = newestHolding(filterSnapshots(await listSnapshots(repo), filter), image);
    if (!snap) throw new StowageError('NOT_FOUND', `no snapshot holds image ${ref}`);
    return snap.id;
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new StowageError('INVALID_ARGUMENT', `invalid snapshot id "${ref}": expected "latest", 4 to 64 lowercase hex characters, or an image reference (name:tag, name@sha256:...)`);
  }
  const matches = (await repo.listNames('snapshot')).filter((n) => n.startsWith(ref));
  if (matches.length === 0) throw new StowageError('NOT_FOUND', `no snapshot matches "${ref}"`);
  if (matches.length > 1)
    throw new StowageError(
      'AMBIGUOUS_ID',
      `snapshot id prefix "${ref}" is ambiguous: it matches ${matches.length} snapshots (${matches
        .slice(0, 4)
        .map((m) => m.slice(0, 12))
        .join(', ')}${matches.length > 4 ? ', ...' : ''})`,
    );
  return matches[0]!;
}
