/**
 * What a copy keeps of the original snapshot: every fact (time, host, user, program, name,
 * tags, source with its digest and stat, format, image facts, tree facts, summary) except
 * the ids of other snapshots of the source repository (`parent`, `basis`), which mean
 * nothing in the target; `original` names the snapshot it is a copy of.
 */
import type { Snapshot, SnapshotManifest } from '../snapshot/manifest.js';

/** The manifest of a copy of `snap`, with `snap`'s content (replace it when re-chunked). */
export function copiedFacts(snap: Snapshot, original: string): SnapshotManifest {
  const { id: _id, parent: _parent, basis: _basis, original: _original, ...facts } = snap;
  return { ...facts, original };
}

/** The id a snapshot is matched on across repositories: the one it was first made as. */
export function originalId(s: Snapshot): string {
  return s.original ?? s.id;
}
