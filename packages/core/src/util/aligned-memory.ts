/**
 * Page-aligned shared memory: what O_DIRECT file I/O needs (the kernel refuses, EINVAL,
 * a buffer whose address is not a multiple of the device's block size). JavaScript cannot
 * see an address or ask for an alignment, and a SharedArrayBuffer (or ArrayBuffer) comes
 * from malloc, 16 bytes past a page boundary; a shared WebAssembly.Memory is mapped by V8
 * on its own pages, so its buffer starts on a page boundary (of 4 KiB and of 64 KiB).
 * Untouched pages cost no RSS, as with a SharedArrayBuffer.
 */

/** Bytes of a WebAssembly page: the granularity of `alignedShared` (and its alignment). */
export const WASM_PAGE = 64 * 1024;

/** `WebAssembly.Memory`, which the project's lib settings (ES2023, node) do not declare. */
interface WasmMemoryConstructor {
  new (d: { initial: number; maximum: number; shared: true }): { readonly buffer: SharedArrayBuffer };
}

/** A zeroed SharedArrayBuffer of at least `bytes` bytes (rounded up to 64 KiB) whose first byte is page-aligned. */
export function alignedShared(bytes: number): SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;
  return new Memory({ initial: pages, maximum: pages, shared: true }).buffer;
}
