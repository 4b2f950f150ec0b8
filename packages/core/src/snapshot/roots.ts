/**
 * What a snapshot references directly: the roots gc marks from and check walks.
 *
 * gc deletes every blob it does not reach from these roots. A new kind of blob reference in
 * the snapshot manifest MUST be added here (and walked by gc/plan.ts and check/check.ts), or
 * gc will delete what it references. The compile-time checks below fail the build when
 * SnapshotManifest (or its content) gains a field, so that nobody adds one without deciding
 * whether it references blobs.
 */
import type { SnapshotManifest } from './manifest.js';

/**
 * Manifest fields that hold no blob ids (inline JSON), or whose blob ids are walked below.
 * 'tree': its root tree blobs, and every blob the tree references, are also in content.lists.
 * content.members: member names, byte ranges of the input and their BLAKE3 (no blob ids).
 */
type KnownFields =
  'version' | 'time' | 'hostname' | 'username' | 'program' | 'name' | 'tags' | 'source' | 'format' | 'image' | 'tree' | 'content' | 'summary' | 'parent' | 'basis' | 'original' | 'changedWhileRead';
type KnownContentFields = 'chunks' | 'lists' | 'files' | 'members';

// If one of these lines fails to compile, SnapshotManifest has a new field: if it can
// reference blobs, walk them in snapshotRoots (and gc/plan.ts, check/check.ts); then add it above.
const newManifestFields: Record<Exclude<keyof SnapshotManifest, KnownFields>, never> = {};
const newContentFields: Record<Exclude<keyof SnapshotManifest['content'], KnownContentFields>, never> = {};
void newManifestFields;
void newContentFields;

/** Hex ids of the chunk-list blobs of a snapshot; each lists (id, offset, length) extents of data blobs. */
export function snapshotRoots(m: SnapshotManifest): readonly string[] {
  return m.content.lists;
}

/**
 * Hex ids of blobs a snapshot references that hold no blob ids (file maps: path keys and
 * extent numbers): kept, never walked.
 */
export function snapshotLeaves(m: SnapshotManifest): readonly string[] {
  return m.content.files ?? [];
}
