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
export { restoreToFile, restoreToStream, type RestoreOptions, type RestoreResult } from './restore/restore.js';
