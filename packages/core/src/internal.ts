/**
 * @stowage/core/internal: what the stowage CLI (and this repository's benchmarks and tests)
 * need beyond the public API (`@stowage/core`): parsers and formatters of the CLI's option
 * strings, the key agent, helpers of its renderers, low-level codecs. No promise of
 * stability: a library user should not need any of it (tell us when you do).
 */
export { runtimeVersions, type RuntimeVersions } from './runtime-versions.js';
export { CONFIG_HANDLE } from './backend/backend.js';
export { defaultCacheRoot } from './repository/cache-dir.js';
export { defaultWorkerCount } from './repository/codec-pool.js';
export { warmCodecWorkers } from './repository/codec-warm.js';
export { INLINE_BELOW as SNAPSHOT_INLINE_BELOW } from './snapshot/create.js';
export { AGENT_SOCKET_ENV, agentRequest, keyAgentCache, type AgentEntry, type AgentRequest } from './repository/key-agent.js';
export { socketDir, startKeyAgent, type KeyAgent, type KeyAgentOptions } from './repository/key-agent-server.js';
export { parseSize, formatSize, formatRate } from './units/size.js';
export { parseDuration, parseCalendarDuration, formatDuration, type CalendarDuration } from './units/duration.js';
export { parseMaxUnused, formatMaxUnused } from './gc/plan.js';
export { parseReadDataSubset } from './check/check.js';
export { describeFilter } from './snapshot/filter.js';
export { checkRestoreTarget } from './restore/target-check.js';
export { tarUnits } from './restore/find-file.js';
export { compressedLayers, UNCOMPRESSED_LAYERS_HINT } from './image/compressed-layers.js';
export { imageNamesOf } from './image/ref.js';
export { asImageRef, imagesMatching } from './snapshot/find-image.js';
export { credentialsFromDockerConfig, isImageLocation } from './registry/transport.js';
export { modeString, nodeName, symlinkTarget } from './tree/node.js';
export { treeTop, lookupFollow } from './tree/stored.js';
export { pathMatcher } from './tree/match.js';
export { shortId } from './hash/id.js';
// benchmarks and tests
export { blake3, blake3Hex } from './hash/blake3.js';
export { benchCutter, type ChunkerParams } from './chunker/index.js';
export { compressBound, compressInto, decompressInto } from './compress/zstd.js';
export { readChunkLists } from './object/chunk-list.js';
export { servedImages } from './image/served.js';
// for native-bench's generated image archives (scale-bench)
export { tarHeaderFor } from './registry/tar-writer.js';
