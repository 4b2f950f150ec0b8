/**
 * @stowage/core: content-addressed, deduplicating backup store for container images and
 * container data. This is the public API, for programs that embed Stowage (the package's
 * README describes it); named exports only, each module's header gives its contract.
 *
 * What the stowage CLI needs beyond this (parsing its option strings, the key agent, tree
 * rendering helpers, ...) is in `@stowage/core/internal`, with no promise of stability.
 */

// errors and progress events
export { StowageError, isStowageError, type ErrorCode } from './errors.js';
export type { ProgressEvent, ProgressFn } from './progress.js';

// storage backends
export type { Backend, BackendInfo, BackendWrapper, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend/backend.js';
export { FILE_TYPES } from './backend/backend.js';
export { AbstractBackend } from './backend/abstract-backend.js';
export { LocalBackend } from './backend/local.js';
export { MemoryBackend } from './backend/memory.js';
export { parseLocation, formatLocation, LOCATION_FORMS, type Location, type LocalLocation, type S3Location } from './backend/location.js';
export { openBackend, type OpenBackendOptions } from './backend/open.js';
export { retrying, type RetryOptions, type RetryEvent, type RetryingBackend } from './backend/retry.js';
export { limited, type LimitedBackend } from './backend/limit.js';
// the S3 backend itself loads the AWS SDK: openBackend loads it on demand for s3: locations
export type { S3Backend, S3BackendOptions, RequestKind } from './backend/s3.js';
export type { S3Settings } from './backend/s3-transport.js';

// the repository: open/init, keys, locks, index repair
export { Repository, type OpenOptions, type PasswordSource, type RepositoryInitOptions } from './repository/repository.js';
export type { InitOptions, RepoConfig } from './repository/config.js';
export { DEFAULT_KDF, TEST_KDF, type KdfParams, type KeyInfo, type KeyListing } from './repository/keys.js';
export { addKeyLocked, changePasswordLocked, removeKeyLocked, type KeyChangeOptions } from './repository/key-changes.js';
export type { KekCache } from './repository/key-agent.js';
export { lockRepository, listLocks, removeLocks, setLockDefaults, type LockKind, type LockInfo, type LockListing, type LockOptions, type RepositoryLock } from './repository/lock.js';
export { repairIndex, type RepairIndexResult } from './repository/repair-index.js';

// snapshots: take, find, filter
export type { Snapshot, SnapshotManifest, SnapshotSource, SnapshotSummary, SourceStat, TreeFacts } from './snapshot/manifest.js';
export { listSnapshots, loadSnapshot, resolveSnapshot } from './snapshot/find.js';
export { matchesFilter, filterSnapshots, type SnapshotFilter } from './snapshot/filter.js';
export { snapshotFile, snapshotStream, type SnapshotOptions, type SnapshotResult } from './snapshot/create.js';
export { snapshotTree, type TreeSnapshotOptions, type TreeSnapshotResult, type TreeWarning, type TreeWarningCode } from './snapshot/tree-snapshot.js';
export { TreeScan, type TreeScanOptions, type ScannedDir } from './tree/scan.js';
export { INPUT_FORMATS, type InputFormat } from './split/detect.js';

// restore: whole, ranges, trees, file listings of image layers
export { restoreToFile, restoreToStream, type RestoreOptions, type RestoreResult } from './restore/restore.js';
export { readRange, restoreRangeToFile, restoreRangeToStream, type RangeOptions, type RangeTarget, type RangeResult } from './restore/range.js';
export { restoreTree, type TreeRestoreOptions, type TreeRestoreResult } from './restore/tree-restore.js';
export { restoreTreeToTar, type TreeTarResult } from './restore/tree-tar.js';
export { listFiles, type ListFilesResult } from './restore/list-files.js';
export { findImageFile, imageFileContent, type ImageFileHit } from './restore/find-file.js';

// what snapshots hold: container images (layers) and directory trees
export { imageNames, allLayers, findLayer, type ImageFacts, type ImageEntry, type LayerFact } from './image/facts.js';
export type { TarEntry, TarEntryType } from './image/tar-list.js';
export type { TreeNode, NodeType } from './tree/node.js';
export { isTreeSnapshot, lookupPath, walkEntries, type WalkedEntry } from './tree/stored.js';
export { diffTrees, type DiffEntry, type DiffKind } from './tree/diff.js';
export { fileContent } from './tree/dump.js';

// maintenance: forget, gc, check, copy
export { forget, type ForgetOptions, type ForgetResult } from './forget/forget.js';
export { applyPolicy, type RetentionPolicy, type PolicyOptions, type PolicySnapshot, type Decision, type GroupDecision, type GroupKey } from './forget/policy.js';
export { gc, type GcOptions, type GcOutcome } from './gc/gc.js';
export type { GcPlan, GcStats, MaxUnused, PackAction, PackDecision, PackStats } from './gc/plan.js';
export type { GcResult } from './gc/execute.js';
export { check, type CheckOptions, type CheckResult, type Finding, type FindingKind, type ReadDataSubset, type Severity } from './check/check.js';
export { copySnapshots, type CopyMode, type CopyOptions, type CopyEvent, type CopyResult, type CopiedStats } from './copy/copy.js';

// images back into the ecosystem: serve (an OCI registry), push, pull
export * from './registry/exports.js';
