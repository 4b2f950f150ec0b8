/**
 * List blobs read through an IndexTable: gc and check hold the whole index in a table
 * (blob-index/index-table.ts) and read what it says, not the index cache, so what they walk
 * is what they judge. The walk itself is object/chunk-list.ts's (walkChunkList, forEachChunk).
 */
import type { IndexTable } from '../blob-index/index-table.js';
import { corrupt } from '../errors.js';
import { decodeItem } from '../repository/blob-codec.js';
import type { Repository } from '../repository/repository.js';
import type { ListLoader } from './chunk-list.js';

/**
 * A ListLoader reading list blobs where `table` says they are: one ranged pack read,
 * decoded and verified against the id into a scratch buffer that the next call reuses.
 * CORRUPT when the table does not know the blob; otherwise what the read or decode throws.
 */
export function tableListLoader(repo: Pick<Repository, 'readPackRange' | 'codec'>, table: IndexTable): ListLoader {
  let scratch = Buffer.allocUnsafeSlow(0);
  return async (id, hex) => {
    const e = table.find(id);
    if (e < 0) throw corrupt(`chunk list ${hex} is not in the index`);
    const pack = table.packAt(table.pack(e)).id;
    const raw = table.rawLength(e);
    if (scratch.length < raw) scratch = Buffer.allocUnsafeSlow(Math.max(raw, 1 << 20));
    const stored = await repo.readPackRange(pack, table.offset(e), table.length(e));
    repo.codec.decodeInto(stored, [decodeItem(table.location(e), id, 0)], scratch, `pack ${pack}`);
    return scratch.subarray(0, raw);
  };
}
