/**
 * Public surface of the FastCDC chunker (fastcdc-rs v2020 compatible).
 *
 * Owns: nothing but re-exports: params, gear tables and masks, the Cutter
 * factory (wasm or JS scanner), the stream batcher and the benchmark hook.
 */
export { validateChunkerParams, MIN_SIZE_LOWER, MIN_SIZE_UPPER, AVG_SIZE_LOWER, AVG_SIZE_UPPER, MAX_SIZE_LOWER, MAX_SIZE_UPPER } from './params.js';
export type { ChunkerParams } from './params.js';
export { MASKS, logarithm2, masksFor, gearTables } from './gear.js';
export type { ChunkerMasks, GearTables } from './gear.js';
export { createCutter } from './cutter.js';
export type { Cutter, CutResult } from './cutter.js';
export { wasmAvailable } from './fastcdc-wasm.js';
export { chunkBatches, chunkBuffer } from './chunk-stream.js';
export type { ChunkBatch } from './chunk-stream.js';
export { benchCutter } from './bench.js';
