/**
 * Copying bytes from or into shared memory at memcpy speed.
 *
 * V8 copies a typed array into another (`target.set(source, at)`) with relaxed atomic
 * element copies whenever either side is a view of a SharedArrayBuffer (the input's read
 * slots, the encode slots): about half the speed of memcpy. Node's `Buffer#fill` with a view
 * as the value copies it with one native memcpy when the range to fill is exactly the view's
 * length. Measured on this machine (node 20, 64 MB in 256 KiB pieces): set into shared memory
 * 9-11 ms, fill 6-7 ms; from shared memory into an ArrayBuffer 20-27 ms against 13-17 ms. Below
 * about 16 KiB the binding call costs more than it saves, so small copies stay `set`.
 *
 * A snapshot of docker.tar v5 spent 2.7 % of its CPU in V8's relaxed_memmove (perf), copying
 * new chunks into encode slots and carried tails out of read slots.
 */

/** Copies at and above this many bytes go through Buffer#fill when shared memory is involved. */
export const NATIVE_COPY_MIN = 16 * 1024;

const fill = Buffer.prototype.fill as (this: Uint8Array, value: Uint8Array, offset: number, end: number) => Uint8Array;

/**
 * `target.set(source, at)`, with one memcpy when either side is shared memory and the copy is
 * large (see the file comment). `source` and the target range must not overlap; RangeError
 * when the source does not fit at `at`, as `set` throws.
 */
export function copyBytes(target: Uint8Array, source: Uint8Array, at = 0): void {
  const n = source.length;
  if (n < NATIVE_COPY_MIN || !(target.buffer instanceof SharedArrayBuffer || source.buffer instanceof SharedArrayBuffer)) {
    target.set(source, at);
    return;
  }
  if (at < 0 || at + n > target.length) throw new RangeError(`copyBytes: ${n} bytes do not fit at ${at} of ${target.length}`);
  fill.call(target, source, at, at + n);
}

/**
 * Copies `views` one after another into `target` from `at` on; views that follow each other
 * in one buffer (chunks cut from one piece of input) are copied as one range. Returns the
 * offset after the last byte copied.
 */
export function copyViews(target: Uint8Array, views: readonly Uint8Array[], at = 0): number {
  let o = at;
  for (let i = 0; i < views.length;) {
    const first = views[i]!;
    let end = first.byteOffset + first.byteLength;
    let j = i + 1;
    while (j < views.length && views[j]!.buffer === first.buffer && views[j]!.byteOffset === end) end += views[j++]!.byteLength;
    const run = j === i + 1 ? first : new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
    copyBytes(target, run, o);
    o += run.length;
    i = j;
  }
  return o;
}
