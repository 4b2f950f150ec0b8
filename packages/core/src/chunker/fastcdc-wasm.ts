/**
 * FastCDC v2020 scanner backed by the hand-written WebAssembly in fastcdc.wat.
 *
 * Owns: compiling the module (once per process, synchronously), one instance
 * per Cutter (its own linear memory holding the seeded gear tables), copying
 * input into linear memory, growing it, and exposing the output regions as views.
 * One `cuts` call is one JS->wasm crossing however many chunks it finds.
 */
import type { CutResult, Cutter } from './scanner.js';
import { FASTCDC_WASM_BASE64 } from './fastcdc-wasm-module.js';
import { gearTables, masksFor } from './gear.js';
import type { ChunkerParams } from './params.js';

/** The subset of the WebAssembly JS API used here (@types/node 20 does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmExports {
  readonly memory: WasmMemory;
  init(min: number, avg: number, max: number, maskS: bigint, maskL: bigint): void;
  cuts(ptr: number, n: number, eof: number, outLens: number, outHashes: number, want: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

const GEAR_OFFSET = 0;
const GEAR_LS_OFFSET = 2048;
const INPUT_OFFSET = 4096;
const PAGE = 65536;

let compiled: object | undefined;

function api(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

/** True when this runtime has a WebAssembly implementation. */
export function wasmAvailable(): boolean {
  return api() !== undefined;
}

function wasmModule(wa: WasmApi): object {
  compiled ??= new wa.Module(Buffer.from(FASTCDC_WASM_BASE64, 'base64'));
  return compiled;
}

class WasmCutter implements Cutter {
  readonly impl = 'wasm' as const;
  readonly params: ChunkerParams;
  readonly #wasm: WasmExports;
  /** Upper bound on the chunk count per input byte: every non-final chunk is >= minSize & ~1 (>= 64) bytes. */
  readonly #minChunk: number;

  constructor(params: ChunkerParams) {
    const wa = api();
    if (wa === undefined) throw new Error('WebAssembly is not available in this runtime');
    const instance = new wa.Instance(wasmModule(wa), {});
    this.#wasm = instance.exports as WasmExports;
    this.params = params;
    this.#minChunk = params.minSize & ~1;
    const { gear, gearLs } = gearTables(params.seed);
    const mem = new BigUint64Array(this.#wasm.memory.buffer, 0, 512);
    mem.set(gear, GEAR_OFFSET / 8);
    mem.set(gearLs, GEAR_LS_OFFSET / 8);
    const m = masksFor(params);
    this.#wasm.init(params.minSize, params.avgSize, params.maxSize, m.maskS, m.maskL);
  }

  cuts(data: Uint8Array, eof: boolean, wantHashes = false): CutResult {
    const n = data.length;
    const cap = Math.floor(n / this.#minChunk) + 1;
    const hashPtr = (INPUT_OFFSET + n + 7) & ~7;
    const lensPtr = hashPtr + cap * 8;
    const need = lensPtr + cap * 4;
    const memory = this.#wasm.memory;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    }
    const buffer = memory.buffer;
    new Uint8Array(buffer, INPUT_OFFSET, n).set(data);
    const count = this.#wasm.cuts(INPUT_OFFSET, n, eof ? 1 : 0, lensPtr, hashPtr, wantHashes ? 1 : 0);
    return {
      count,
      lengths: new Uint32Array(buffer, lensPtr, count),
      hashes: wantHashes ? new BigUint64Array(buffer, hashPtr, count) : undefined,
    };
  }
}

/**
 * A WebAssembly FastCDC v2020 Cutter for already validated params. The module
 * is compiled on first use and cached; throws if WebAssembly is unavailable.
 */
export function createWasmCutter(params: ChunkerParams): Cutter {
  return new WasmCutter(params);
}
