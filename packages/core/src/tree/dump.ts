/**
 * One file of a tree snapshot, streamed: its content from its extents, every blob
 * verified; a sparse file's holes come out as zeros. Directories are dumped as a tar
 * stream by the caller (restore/tree-tar.ts).
 */
import { StowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { BlobCache } from '../object/blob-cache.js';
import { decodeExtents, symlinkTarget, type TreeNode } from './node.js';

/** The bytes of file node `n`, in order. INVALID_ARGUMENT for anything but a regular file. */
export async function* fileContent(repo: Repository, n: TreeNode, what: string): AsyncGenerator<Uint8Array> {
  if (n.type === 'symlink') throw new StowageError('INVALID_ARGUMENT', `${what} is a symlink to ${symlinkTarget(n).toString()}: dump its target`);
  if (n.type !== 'file') throw new StowageError('INVALID_ARGUMENT', `${what} is a ${n.type === 'dir' ? 'directory' : n.type === 'fifo' ? 'FIFO' : 'device'}, not a file`);
  const cache = new BlobCache(repo, 16 << 20);
  const regions: [number, number][] = n.sparse ?? [[0, n.size ?? 0]];
  let r = 0;
  let pos = 0; // bytes of the file produced so far
  let regionLeft = regions[0]?.[1] ?? 0;
  const zeros = async function* (upTo: number): AsyncGenerator<Uint8Array> {
    while (pos < upTo) {
      const n = Math.min(upTo - pos, 1 << 20);
      pos += n;
      yield new Uint8Array(n);
    }
  };
  if (regions[0]) yield* zeros(regions[0][0]);
  for (const e of decodeExtents(n)) {
    let data = (await cache.get(e.id)).subarray(e.offset, e.offset + e.length);
    while (data.length) {
      while (regionLeft === 0 && r + 1 < regions.length) {
        r++;
        yield* zeros(regions[r]![0]);
        regionLeft = regions[r]![1];
      }
      const take = Math.min(data.length, regionLeft || data.length);
      yield data.subarray(0, take);
      pos += take;
      regionLeft -= Math.min(take, regionLeft);
      data = data.subarray(take);
    }
  }
  yield* zeros(n.size ?? 0);
}
