/**
 * check --read-data (check.ts phase 5): reads whole packs (all, or a subset: packs n of m, or
 * a percentage) in windows, checks that each pack's content matches its name, and decodes and
 * re-hashes every blob (a delta blob against its base, read where the index table says).
 */
import type { IndexTable } from '../blob-index/index-table.js';
import { StowageError, isStowageError } from '../errors.js';
import { blake3Stream } from '../hash/blake3.js';
import { decodeItem } from '../repository/blob-codec.js';
import type { Repository } from '../repository/repository.js';
import type { CheckContext } from './findings.js';

export type ReadDataSubset = { readonly n: number; readonly m: number } | { readonly percent: number };

/** Parses "n/m" (packs whose id falls in group n of m) or "p%" (a random p percent of the packs). */
export function parseReadDataSubset(s: string): ReadDataSubset {
  const v = s.trim();
  let m = /^(\d+)\/(\d+)$/.exec(v);
  if (m) {
    const n = Number(m[1]);
    const total = Number(m[2]);
    if (total < 1 || n < 1 || n > total) throw new StowageError('INVALID_ARGUMENT', `--read-data-subset ${s}: need 1 <= n <= m`);
    return { n, m: total };
  }
  m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (m) {
    const p = Number(m[1]);
    if (p <= 0 || p > 100) throw new StowageError('INVALID_ARGUMENT', `--read-data-subset ${s}: the percentage must be in (0, 100]`);
    return { percent: p };
  }
  throw new StowageError('INVALID_ARGUMENT', `invalid --read-data-subset "${s}" (examples: 1/5, 10%)`);
}

/** True when pack `id` is in the subset. */
export function inSubset(id: string, subset: ReadDataSubset | undefined, random: () => number = Math.random): boolean {
  if (!subset) return true;
  if ('percent' in subset) return random() * 100 < subset.percent;
  return parseInt(id.slice(0, 8), 16) % subset.m === subset.n - 1;
}

/** What --read-data read. */
export interface ReadDataTotals {
  readonly packsRead: number;
  readonly blobsRead: number;
  readonly bytesRead: number;
}

/**
 * Reads the packs of `subset` (all without one) that exist, reporting damaged packs and blobs;
 * `trailerOk`: the packs whose trailer agreed with the index (only their content hash is
 * judged: damage outside the blobs).
 */
export async function readData(ctx: CheckContext, subset: ReadDataSubset | undefined, trailerOk: ReadonlySet<number>): Promise<ReadDataTotals> {
  const { repo, table, findings, damage } = ctx;
  let packsRead = 0;
  let blobsRead = 0;
  let bytesRead = 0;
  const selected = table.packs.filter((p) => p.size !== undefined && inSubset(p.id, subset));
  const selectedBytes = selected.reduce((n, p) => n + p.size!, 0);
  for (const p of selected) {
    ctx.signal?.throwIfAborted();
    const r = await readDataPack(repo, table, p.id, p.first, p.count, p.size!);
    if (r.error) {
      damage.pack(p.no, findings.add({ severity: 'error', kind: 'pack-damaged', pack: p.id, message: `pack ${p.id}: ${r.error}` }));
      continue;
    }
    packsRead++;
    bytesRead += p.size!;
    blobsRead += r.blobs;
    for (const [e, err] of r.bad) {
      const msg = err.startsWith('blob ') ? err : `blob ${table.idHex(e)} in pack ${p.id}: ${err}`;
      damage.blob(e, findings.add({ severity: 'error', kind: 'blob-damaged', blob: table.idHex(e), pack: p.id, message: msg }));
    }
    if (r.bad.size === 0 && trailerOk.has(p.no) && r.hash !== p.id) {
      damage.pack(p.no, findings.add({ severity: 'error', kind: 'pack-damaged', pack: p.id, message: `pack ${p.id}: content does not match its name (damage outside the blobs)` }));
    }
    ctx.progress?.({ op: 'check', done: bytesRead, total: selectedBytes, unit: 'bytes', phase: 'read-data' });
  }
  return { packsRead, blobsRead, bytesRead };
}

/** Bytes per read of check --read-data (a pack is read in pieces: bounded memory). */
const READ_WINDOW = 4 * 1024 * 1024;

/**
 * Reads a whole pack in windows of about READ_WINDOW bytes, hashing every byte (the pack's
 * name) and decoding every entry in it. Returns the content hash, the entries that failed
 * (with why), or the read error that stopped it.
 */
async function readDataPack(
  repo: Repository,
  table: IndexTable,
  pack: string,
  first: number,
  count: number,
  size: number,
): Promise<{ hash?: string; bad: Map<number, string>; error?: string; blobs: number }> {
  const bad = new Map<number, string>();
  const order = Array.from({ length: count }, (_, i) => first + i)
    .filter((e) => !table.isRef(e))
    .sort((x, y) => table.offset(x) - table.offset(y));
  const hasher = blake3Stream();
  let held = Buffer.alloc(0); // bytes from heldStart on, not yet consumed by entries
  let heldStart = 0;
  let pos = 0; // next byte to read
  let i = 0;
  let scratch = Buffer.allocUnsafeSlow(0);
  const verifyOne = async (e: number, stored: Uint8Array): Promise<void> => {
    const raw = table.rawLength(e);
    try {
      const base = table.isDelta(e) ? await readBase(repo, table, e) : undefined;
      if (scratch.length < raw) scratch = Buffer.allocUnsafeSlow(Math.max(raw, 1 << 20));
      repo.codec.decodeInto(stored, [decodeItem(table.location(e), table.id(e), 0, base)], scratch, `pack ${pack}`);
    } catch (err) {
      if (!isStowageError(err)) throw err;
      bad.set(e, err.message);
    }
  };
  /** Verifies entry order[i] (and the other members of its frame, decoded once); returns the next index. */
  const verify = async (i: number, stored: Uint8Array): Promise<number> => {
    const e = order[i]!;
    let j = i + 1;
    if (table.isFramed(e)) while (j < order.length && table.isFramed(order[j]!) && table.offset(order[j]!) === table.offset(e) && table.length(order[j]!) === table.length(e)) j++;
    if (j === i + 1) {
      await verifyOne(e, stored);
      return j;
    }
    const members = order.slice(i, j);
    let raw = 0;
    for (const m of members) raw += table.rawLength(m);
    if (scratch.length < raw) scratch = Buffer.allocUnsafeSlow(Math.max(raw, 1 << 20));
    try {
      repo.codec.decodeInto(
        stored,
        members.map((m) => decodeItem(table.location(m), table.id(m), 0)),
        scratch,
        `pack ${pack}`,
      );
    } catch (err) {
      if (!isStowageError(err)) throw err;
      for (const m of members) await verifyOne(m, stored); // one by one, to name the damaged ones
    }
    return j;
  };
  try {
    while (pos < size) {
      const n = Math.min(READ_WINDOW, size - pos);
      const piece = Buffer.from(await repo.readPackRange(pack, pos, n));
      hasher.update(piece);
      held = held.length ? Buffer.concat([held, piece]) : piece;
      pos += n;
      // decode every entry that now lies wholly inside what is held
      while (i < order.length) {
        const e = order[i]!;
        const off = table.offset(e);
        const end = off + table.length(e);
        if (end > size) {
          bad.set(e, 'stored bytes lie beyond the end of the pack');
          i++;
          continue;
        }
        if (off < heldStart) {
          i = await verify(i, await repo.readPackRange(pack, off, table.length(e))); // overlapping entries: read apart
          continue;
        }
        if (end > pos) break;
        i = await verify(i, held.subarray(off - heldStart, end - heldStart));
      }
      // drop what no remaining entry needs
      const keepFrom = i < order.length ? Math.min(pos, Math.max(heldStart, table.offset(order[i]!))) : pos;
      held = held.subarray(keepFrom - heldStart);
      heldStart = keepFrom;
    }
  } catch (err) {
    if (!isStowageError(err, 'CORRUPT', 'NOT_FOUND')) throw err;
    return { bad, error: err.message, blobs: order.length };
  }
  for (; i < order.length; i++) bad.set(order[i]!, 'stored bytes lie beyond the end of the pack');
  return { hash: hasher.digestHex(), bad, blobs: order.length };
}

/** The plaintext of delta blob `e`'s base, read and verified through the table; CORRUPT saying why not. */
async function readBase(repo: Repository, table: IndexTable, e: number): Promise<Buffer> {
  const b = table.baseEntry(e);
  const what = `its base ${table.idHex(e + 1)}`;
  if (b < 0) throw new StowageError('CORRUPT', `${what} is not in the index`);
  if (table.isDelta(b)) throw new StowageError('CORRUPT', `${what} is itself a delta`);
  const pack = table.packAt(table.pack(b)).id;
  try {
    const stored = await repo.readPackRange(pack, table.offset(b), table.length(b));
    return repo.codec.decode(stored, [decodeItem(table.location(b), table.id(b), 0)], `pack ${pack}`).plain;
  } catch (err) {
    if (!isStowageError(err)) throw err;
    throw new StowageError('CORRUPT', `${what} cannot be read: ${err.message}`, { cause: err });
  }
}
