/**
 * Walking an object's extent lists (chunk lists) in order, regrouped into windows of
 * about `windowBytes` plaintext, optionally trimmed to a byte range of the object (only
 * the extents that hold range bytes, each cut to the range).
 */
import type { ChunkRef } from './chunk-list.js';

/** A byte range of an object. */
export interface ObjectRange {
  readonly offset: number;
  readonly length: number;
}

/** The extents of `lists` (in order), in windows of about `windowBytes`; only those of `range` when given. */
export async function* extentWindows(lists: AsyncIterable<readonly ChunkRef[]>, windowBytes: number, range?: ObjectRange): AsyncGenerator<ChunkRef[]> {
  const start = range?.offset ?? 0;
  const end = range ? range.offset + range.length : Infinity;
  let pos = 0;
  let cur: ChunkRef[] = [];
  let size = 0;
  for await (const list of lists) {
    for (const r of list) {
      const rEnd = pos + r.length;
      if (!range) {
        cur.push(r);
        size += r.length;
      } else if (rEnd > start && pos < end) {
        const from = Math.max(start, pos) - pos;
        const to = Math.min(end, rEnd) - pos;
        cur.push({ id: r.id, offset: r.offset + from, length: to - from });
        size += to - from;
      }
      if (size >= windowBytes) {
        yield cur;
        cur = [];
        size = 0;
      }
      pos = rEnd;
      if (pos >= end) break;
    }
    if (pos >= end) break;
  }
  if (cur.length) yield cur;
}
