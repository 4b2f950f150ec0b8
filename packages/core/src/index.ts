/**
 * @stowage/core: content-addressed, deduplicating backup store for container images.
 * Named exports only; see each module's header for its contract.
 */
export * from './errors.js';
export * from './progress.js';
export type { Backend, BackendInfo, BackendWrapper, FileInfo, FileType, Handle, OpOptions, Range, SaveOptions } from './backend/backend.js';
export { FILE_TYPES, CONFIG_HANDLE } from './backend/backend.js';
export { pathOf } from './backend/layout.js';
export { LocalBackend } from './backend/local.js';
export { MemoryBackend } from './backend/memory.js';
export * from './chunker/index.js';
export { blake3, blake3Hex, idHasher } from './hash/blake3.js';
export { shortId } from './hash/id.js';
export { compressBlob, decompressBlob, compressBound, compressInto, decompressInto } from './compress/zstd.js';
export type { BlobType, PackEntry } from './pack/format.js';
export { readPackTrailer } from './pack/pack-reader.js';
export type { BlobLocation, IndexedPack } from './index/types.js';
export { Repository, type OpenOptions } from './repository/repository.js';
export type { PasswordSource, RepositoryInitOptions } from './repository/repository.js';
export { DEFAULT_KDF, TEST_KDF, type KdfParams, type KeyInfo, type KeyListing } from './repository/keys.js';
export { WriteSession, type WriteSessionOptions, type WriteStats } from './repository/write-session.js';
export { repairIndex, type RepairIndexResult } from './repository/repair-index.js';
export { defaultCacheRoot } from './repository/cache-dir.js';
export type { InitOptions, RepoConfig } from './repository/config.js';
export { DEFAULT_CHUNK_AVG, DEFAULT_COMPRESSION_LEVEL, DEFAULT_PACK_SIZE } from './repository/config.js';
export { CodecPool, defaultWorkerCount } from './repository/codec-pool.js';
export type { Snapshot, SnapshotManifest, SnapshotSource, SnapshotSummary, SourceStat } from './snapshot/manifest.js';
export { listSnapshots, loadSnapshot, resolveSnapshot } from './snapshot/find.js';
export { snapshotFile, snapshotStream, PROGRAM, type SnapshotOptions, type SnapshotResult } from './snapshot/create.js';
export { readChunkLists, type ChunkRef } from './snapshot/chunk-list.js';
export { INPUT_FORMATS, type InputFormat } from './split/detect.js';
export type { ArchiveMember, SplitEvent, Splitter } from './split/events.js';
export { TarSplitter } from './split/tar-splitter.js';
export { restoreToFile, restoreToStream, type RestoreOptions, type RestoreResult } from './restore/restore.js';
export { faulty, type FaultRule, type FaultOp, type FaultErrno, type FaultyBackend } from './backend/faulty.js';
export { lockRepository, listLocks, removeLocks, setLockDefaults, heldLock, staleReason, describeLock, DEFAULT_STALE_MS, DEFAULT_REFRESH_MS, type LockKind, type LockInfo, type LockListing, type LockOptions, type RepositoryLock } from './repository/lock.js';
export { IndexTable } from './index/index-table.js';
export { applyPolicy, bucketKey, policyIsEmpty, type RetentionPolicy, type PolicyOptions, type PolicySnapshot, type Decision, type GroupDecision, type GroupKey } from './forget/policy.js';
export { parseCalendarDuration, formatCalendarDuration, subtractDuration, isoWeek, localTime, systemTimeZone, type CalendarDuration } from './forget/calendar.js';
export { forget, type ForgetOptions, type ForgetResult } from './forget/forget.js';
export { planGc, classifyPacks, parseMaxUnused, formatMaxUnused, maxUnusedBytes, DEFAULT_MAX_UNUSED, type GcPlan, type GcStats, type MaxUnused, type PackAction, type PackDecision, type PackStats, type PlanOptions } from './gc/plan.js';
export { executeGc, type ExecuteOptions, type GcResult } from './gc/execute.js';
export { gc, type GcOptions, type GcOutcome } from './gc/gc.js';
export { check, parseReadDataSubset, inSubset, type CheckOptions, type CheckResult, type Finding, type FindingKind, type ReadDataSubset, type Severity } from './check/check.js';
