/**
 * check's pack phase (check.ts phase 4): every pack the index names exists, and its trailer
 * reads back and agrees with the index entry by entry; packs no index file names are
 * information (debris of interrupted writers or gc runs, which the next gc deletes).
 */
import type { IndexTable } from '../blob-index/index-table.js';
import { StowageError, isStowageError } from '../errors.js';
import { blobTypeCode, slotCount, type PackEntry } from '../pack/entry.js';
import { readPackTrailer } from '../pack/pack-reader.js';
import type { CheckContext } from './findings.js';

/**
 * Checks every indexed pack against `sizes` (the packs that exist) and its trailer; reports
 * unreferenced packs. `filtered`: only some snapshots were checked (a missing pack's message
 * says so). Returns the numbers of the packs whose trailer agrees with the index.
 */
export async function checkPacks(ctx: CheckContext, sizes: ReadonlyMap<string, number>, filtered: boolean): Promise<Set<number>> {
  const { repo, table, findings, damage } = ctx;
  const trailerOk = new Set<number>();
  for (const p of table.packs) {
    ctx.signal?.throwIfAborted();
    if (p.size === undefined) {
      let used = 0;
      for (let e = p.first; e < p.first + p.count; e++) if (table.marked(e)) used++;
      const f = findings.add({
        severity: used > 0 ? 'error' : 'info',
        kind: 'pack-missing',
        pack: p.id,
        message:
          used > 0
            ? `pack ${p.id} is missing (${used} of its ${p.count} blobs are used)`
            : `pack ${p.id} is missing, but no ${filtered ? 'matching ' : ''}snapshot uses its ${p.count} blobs${filtered ? '' : ' (gc drops it from the index)'}`,
      });
      if (used > 0) damage.pack(p.no, f);
      continue;
    }
    try {
      const tail = await readPackTrailer(repo.backend, p.id, repo.cipher, p.size);
      const why = compareTrailer(table, p.first, p.count, tail.entries);
      if (why) throw new StowageError('CORRUPT', `pack ${p.id}: trailer and index disagree: ${why}`);
      trailerOk.add(p.no);
    } catch (err) {
      if (!isStowageError(err, 'CORRUPT', 'NOT_FOUND')) throw err;
      damage.pack(
        p.no,
        findings.add({ severity: 'error', kind: 'pack-damaged', pack: p.id, size: p.size, message: err.message.startsWith(`pack ${p.id}`) ? err.message : `pack ${p.id}: ${err.message}` }),
      );
    }
  }
  for (const [id, size] of sizes) {
    if (table.packNo(id) === undefined)
      findings.add({ severity: 'info', kind: 'pack-unreferenced', pack: id, size, message: `pack ${id} (${size} bytes) is not in any index (left by an interrupted run; gc deletes it)` });
  }
  return trailerOk;
}

/** Why the trailer's entries differ from the index's entries of a pack, or undefined. */
function compareTrailer(table: IndexTable, first: number, count: number, entries: readonly PackEntry[]): string | undefined {
  if (slotCount(entries) !== count) return `the trailer lists ${slotCount(entries)} slots, the index ${count}`;
  let e = first;
  for (let i = 0; i < entries.length; i++, e++) {
    const t = entries[i]!;
    if (table.isRef(e)) return `entry ${i}: the index has a base reference where the trailer has blob ${t.id.toString('hex')}`;
    if (Boolean(t.base) !== table.isDelta(e)) return `entry ${i} (blob ${table.idHex(e)}): delta in one, not in the other`;
    if (t.base && (!table.isRef(e + 1) || t.base.toString('hex') !== table.idHex(e + 1))) return `entry ${i} (blob ${table.idHex(e)}): bases differ`;
    const f = table.frame(e);
    if (Boolean(t.frame) !== table.isFramed(e) || (t.frame && (!f || f.offset !== t.frame.offset || f.rawLength !== t.frame.rawLength))) return `entry ${i} (blob ${table.idHex(e)}): frames differ`;
    if (t.id.toString('hex') !== table.idHex(e)) return `entry ${i}: blob ${t.id.toString('hex')} vs ${table.idHex(e)}`;
    if (
      t.offset !== table.offset(e) ||
      t.length !== table.length(e) ||
      t.rawLength !== table.rawLength(e) ||
      t.compressed !== table.compressed(e) ||
      blobTypeCode(t.type) !== blobTypeCode(table.type(e))
    ) {
      return `entry ${i} (blob ${table.idHex(e)}): location or length differs`;
    }
    if (t.base || t.frame) e++;
  }
  return undefined;
}
