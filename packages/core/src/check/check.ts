/**
 * `check`: verifies a repository and reports typed findings.
 *
 * Structure (always):
 * - every snapshot file loads (its name is the hash of its bytes) and parses;
 * - every index file loads; every snapshot's chunk-list blobs are in the index and load
 *   (verified against their ids); every chunk they list is in the index, with the length
 *   the list records;
 * - every pack the index names exists, and its trailer reads back and agrees with the
 *   index entry by entry;
 * - packs that no index file names are reported as information (debris of interrupted
 *   writers or gc runs, which the next gc deletes), as are stale locks.
 *
 * `readData` (or a subset: packs n of m, or a percentage) reads whole packs, checks that each
 * pack's content matches its name, and decodes and re-hashes every blob.
 *
 * Every error finding names what is damaged (snapshot, index file, pack, blob) and the
 * snapshots that depend on it (a second pass over the chunk lists, only when there are
 * pack or blob findings). Snapshots are listed before the index is read and the index
 * before the packs (restic's reader order), so writers running meanwhile cause at most
 * "unreferenced pack" information, never errors. Check takes a shared lock, so it runs
 * beside snapshots but never while gc deletes (unless `lock: false`).
 *
 * Memory: the index table (index-table.ts, about 60 bytes per blob) and one pack at a time.
 */
import { StowageError, isStowageError } from '../errors.js';
import { blake3Stream } from '../hash/blake3.js';
import { IndexTable } from '../blob-index/index-table.js';
import { blobTypeCode, slotCount, type PackEntry } from '../pack/entry.js';
import { decodeItem } from '../repository/blob-codec.js';
import { readPackTrailer } from '../pack/pack-reader.js';
import type { ProgressFn } from '../progress.js';
import { listLocks, lockRepository } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import { walkChunkList } from '../object/chunk-list.js';
import { tableListLoader } from '../object/table-lists.js';
import { loadSnapshot } from '../snapshot/find.js';
import { filterIsEmpty, filterSnapshots, type SnapshotFilter } from '../snapshot/filter.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { snapshotLeaves, snapshotRoots } from '../snapshot/roots.js';

export type Severity = 'error' | 'info';

export type FindingKind =
  /** A snapshot file does not load or parse. */
  | 'snapshot-unreadable'
  /** An index file does not load or parse. */
  | 'index-unreadable'
  /** A snapshot references a blob (chunk list or chunk) that no index file names. */
  | 'blob-missing'
  /** A chunk-list blob is in the index but does not load or verify. */
  | 'list-unreadable'
  /** A chunk's length in a chunk list differs from the index. */
  | 'blob-size-mismatch'
  /** The index names a pack that does not exist (info when no snapshot uses its blobs). */
  | 'pack-missing'
  /** A pack's trailer is damaged or disagrees with the index, or its content does not match its name. */
  | 'pack-damaged'
  /** With read-data: a blob does not decode to its id. */
  | 'blob-damaged'
  /** A pack no index file names (info). */
  | 'pack-unreferenced'
  /** A stale or unreadable lock (info). */
  | 'lock-stale';

export interface Finding {
  readonly severity: Severity;
  readonly kind: FindingKind;
  readonly message: string;
  readonly snapshot?: string;
  readonly indexFile?: string;
  readonly pack?: string;
  readonly blob?: string;
  readonly size?: number;
  /** Snapshots that depend on the damaged thing (ids, sorted). */
  snapshots?: string[];
}

export type ReadDataSubset = { readonly n: number; readonly m: number } | { readonly percent: number };

export interface CheckOptions {
  /** Read and verify every blob of every pack (or of `readDataSubset`). */
  readonly readData?: boolean;
  readonly readDataSubset?: ReadDataSubset;
  /** Take a shared lock (default true). */
  readonly lock?: boolean;
  /**
   * Check the chunk lists and chunks of the matching snapshots only (snapshot/filter.ts); the
   * index, the packs and --read-data are checked whole. Default: every snapshot.
   */
  readonly filter?: SnapshotFilter;
  readonly progress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface CheckResult {
  readonly findings: Finding[];
  readonly errors: number;
  readonly snapshots: number;
  readonly indexFiles: number;
  readonly packs: number;
  readonly blobs: number;
  readonly packsRead: number;
  readonly blobsRead: number;
  readonly bytesRead: number;
  readonly seconds: number;
}

/** Detailed findings per kind; beyond this, one summary finding counts the rest. */
const MAX_DETAILED = 100;
const DAMAGED = 2;

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

export async function check(repo: Repository, opts: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const lock = opts.lock === false ? undefined : await lockRepository(repo, 'shared', opts.signal ? { signal: opts.signal } : {});
  try {
    return await run(repo, opts, t0);
  } finally {
    await lock?.release();
  }
}

async function run(repo: Repository, opts: CheckOptions, t0: number): Promise<CheckResult> {
  const findings: Finding[] = [];
  const counts = new Map<FindingKind, number>();
  const overflow = new Map<FindingKind, Finding>();
  /** Adds a finding, or counts it into the kind's summary finding past MAX_DETAILED. */
  let errors = 0;
  const add = (f: Finding): Finding => {
    if (f.severity === 'error') errors++;
    const n = (counts.get(f.kind) ?? 0) + 1;
    counts.set(f.kind, n);
    if (n <= MAX_DETAILED) {
      findings.push(f);
      return f;
    }
    let o = overflow.get(f.kind);
    if (!o) {
      o = { severity: f.severity, kind: f.kind, message: '', snapshots: [] };
      overflow.set(f.kind, o);
      findings.push(o);
    }
    (o as { message: string }).message = `${n - MAX_DETAILED} more ${f.kind} findings like the ones above`;
    return o;
  };
  const addSnapshots = (f: Finding, ids: Iterable<string>): void => {
    const set = new Set(f.snapshots ?? []);
    for (const id of ids) set.add(id);
    f.snapshots = [...set].sort();
  };

  // 1. snapshots (before the index: a snapshot listed now has its index files already)
  const loaded: Snapshot[] = [];
  const snapNames = await repo.listNames('snapshot');
  for (const name of snapNames) {
    try {
      loaded.push(await loadSnapshot(repo, name));
    } catch (err) {
      if (!isStowageError(err)) throw err;
      add({ severity: 'error', kind: 'snapshot-unreadable', snapshot: name, message: `snapshot ${name}: ${err.message}`, snapshots: [name] });
    }
  }

  const filtered = !filterIsEmpty(opts.filter);
  const snaps = filterSnapshots(loaded, opts.filter);

  // 2. index files, then the pack listing
  const table = await IndexTable.load(repo, {
    onError: (name, err) => add({ severity: 'error', kind: 'index-unreadable', indexFile: name, message: `index file ${name}: ${err.message}` }),
  });
  const sizes = new Map<string, number>();
  for await (const f of repo.backend.list('pack')) sizes.set(f.name, f.size);
  table.setPackSizes(sizes);
  opts.signal?.throwIfAborted();

  // 3. every snapshot's chunk lists and chunks
  const missing = new Map<string, Finding>();
  const badLists = new Map<string, Finding>();
  /** Findings about the chunks of a list (for later snapshots that share the list). */
  const listFindings = new Map<string, Finding[]>();
  const loadList = tableListLoader(repo, table);
  let done = 0;
  for (const s of snaps) {
    for (const hex of snapshotRoots(s)) {
      const id = Buffer.from(hex, 'hex');
      const e = table.find(id);
      if (e < 0) {
        let f = missing.get(hex);
        if (!f) missing.set(hex, (f = add({ severity: 'error', kind: 'blob-missing', blob: hex, message: `chunk list blob ${hex} is not in the index` })));
        addSnapshots(f, [s.id]);
        continue;
      }
      const bad = badLists.get(hex);
      if (bad) {
        addSnapshots(bad, [s.id]);
        continue;
      }
      if (!table.mark(e)) {
        // walked for an earlier snapshot: this one depends on what was found there too
        for (const f of listFindings.get(hex) ?? []) addSnapshots(f, [s.id]);
        continue;
      }
      const found: Finding[] = [];
      const pack = table.packAt(table.pack(e)).id;
      // the chunks: walked in place (object/chunk-list.ts), read where the table says
      const chunk = (list: Buffer, at: number, offset: number, length: number): void => {
        const c = table.find(list, at);
        if (c < 0) {
          const h = list.toString('hex', at, at + 32);
          let f = missing.get(h);
          if (!f) {
            f = add({ severity: 'error', kind: 'blob-missing', blob: h, message: `blob ${h} is not in the index` });
            if (missing.size < 10 * MAX_DETAILED) missing.set(h, f);
          }
          addSnapshots(f, [s.id]);
          found.push(f);
          return;
        }
        if (table.mark(c) && table.isDelta(c)) {
          const f = checkBase(table, c, add);
          if (f) {
            addSnapshots(f, [s.id]);
            found.push(f);
          }
        }
        if (offset + length > table.rawLength(c)) {
          const f = add({ severity: 'error', kind: 'blob-size-mismatch', blob: table.idHex(c), pack: table.packAt(table.pack(c)).id, message: `blob ${table.idHex(c)}: the chunk list takes bytes ${offset}..${offset + length}, but the index says it has ${table.rawLength(c)}` });
          addSnapshots(f, [s.id]);
          found.push(f);
        }
      };
      try {
        await walkChunkList(hex, loadList, chunk);
      } catch (err) {
        if (!isStowageError(err)) throw err;
        const f = add({ severity: 'error', kind: 'list-unreadable', blob: hex, pack, message: `chunk list blob ${hex} in pack ${pack}: ${err.message}` });
        badLists.set(hex, f);
        addSnapshots(f, [s.id]);
        continue;
      }
      if (found.length) listFindings.set(hex, [...new Set(found)]);
      opts.signal?.throwIfAborted();
    }
    for (const hex of snapshotLeaves(s)) {
      const e = table.find(Buffer.from(hex, 'hex'));
      if (e >= 0) {
        table.mark(e);
        continue;
      }
      let f = missing.get(hex);
      if (!f) missing.set(hex, (f = add({ severity: 'error', kind: 'blob-missing', blob: hex, message: `file map blob ${hex} is not in the index` })));
      addSnapshots(f, [s.id]);
    }
    opts.progress?.({ op: 'check', done: ++done, total: snaps.length, unit: 'snapshots', phase: 'snapshots' });
  }

  // 4. packs: existence and trailers
  const packFindings = new Map<number, Finding[]>();
  const blobFindings = new Map<number, Finding>();
  const damagePack = (no: number, f: Finding): void => {
    const tp = table.packAt(no);
    for (let e = tp.first; e < tp.first + tp.count; e++) table.setFlag(e, DAMAGED);
    let l = packFindings.get(no);
    if (!l) packFindings.set(no, (l = []));
    l.push(f);
  };
  const trailerOk = new Set<number>();
  for (const p of table.packs) {
    opts.signal?.throwIfAborted();
    if (p.size === undefined) {
      let used = 0;
      for (let e = p.first; e < p.first + p.count; e++) if (table.marked(e)) used++;
      const f = add({
        severity: used > 0 ? 'error' : 'info',
        kind: 'pack-missing',
        pack: p.id,
        message: used > 0 ? `pack ${p.id} is missing (${used} of its ${p.count} blobs are used)` : `pack ${p.id} is missing, but no ${filtered ? 'matching ' : ''}snapshot uses its ${p.count} blobs${filtered ? '' : ' (gc drops it from the index)'}`,
      });
      if (used > 0) damagePack(p.no, f);
      continue;
    }
    try {
      const tail = await readPackTrailer(repo.backend, p.id, repo.cipher, p.size);
      const why = compareTrailer(table, p.first, p.count, tail.entries);
      if (why) throw new StowageError('CORRUPT', `pack ${p.id}: trailer and index disagree: ${why}`);
      trailerOk.add(p.no);
    } catch (err) {
      if (!isStowageError(err, 'CORRUPT', 'NOT_FOUND')) throw err;
      damagePack(p.no, add({ severity: 'error', kind: 'pack-damaged', pack: p.id, size: p.size, message: err.message.startsWith(`pack ${p.id}`) ? err.message : `pack ${p.id}: ${err.message}` }));
    }
  }
  for (const [id, size] of sizes) {
    if (table.packNo(id) === undefined) add({ severity: 'info', kind: 'pack-unreferenced', pack: id, size, message: `pack ${id} (${size} bytes) is not in any index (left by an interrupted run; gc deletes it)` });
  }

  // 5. read data
  let packsRead = 0;
  let blobsRead = 0;
  let bytesRead = 0;
  if (opts.readData || opts.readDataSubset) {
    const selected = table.packs.filter((p) => p.size !== undefined && inSubset(p.id, opts.readDataSubset));
    const selectedBytes = selected.reduce((n, p) => n + p.size!, 0);
    for (const p of selected) {
      opts.signal?.throwIfAborted();
      const r = await readDataPack(repo, table, p.id, p.first, p.count, p.size!);
      if (r.error) {
        damagePack(p.no, add({ severity: 'error', kind: 'pack-damaged', pack: p.id, message: `pack ${p.id}: ${r.error}` }));
        continue;
      }
      packsRead++;
      bytesRead += p.size!;
      blobsRead += r.blobs;
      for (const [e, err] of r.bad) {
        table.setFlag(e, DAMAGED);
        const msg = err.startsWith('blob ') ? err : `blob ${table.idHex(e)} in pack ${p.id}: ${err}`;
        blobFindings.set(e, add({ severity: 'error', kind: 'blob-damaged', blob: table.idHex(e), pack: p.id, message: msg }));
      }
      if (r.bad.size === 0 && trailerOk.has(p.no) && r.hash !== p.id) {
        damagePack(p.no, add({ severity: 'error', kind: 'pack-damaged', pack: p.id, message: `pack ${p.id}: content does not match its name (damage outside the blobs)` }));
      }
      opts.progress?.({ op: 'check', done: bytesRead, total: selectedBytes, unit: 'bytes', phase: 'read-data' });
    }
  }

  // 6. locks
  for (const l of await listLocks(repo)) {
    if (l.stale) add({ severity: 'info', kind: 'lock-stale', message: `stale lock ${l.name.slice(0, 8)}: ${l.staleReason ?? ''} (remove with "stowage unlock")` });
    else if (!l.info) add({ severity: 'info', kind: 'lock-stale', message: `unreadable lock ${l.name.slice(0, 8)}, ignored: ${l.error ?? ''} (remove with "stowage unlock")` });
  }

  // 7. which snapshots depend on damaged packs and blobs
  if (packFindings.size > 0 || blobFindings.size > 0) {
    for (const s of snaps) {
      const hit = new Set<Finding>();
      for (const hex of snapshotRoots(s)) {
        const e = table.find(Buffer.from(hex, 'hex'));
        if (e < 0) continue;
        collect(table, e, packFindings, blobFindings, hit);
        if (badLists.has(hex)) continue;
        try {
          await walkChunkList(hex, loadList, (list, at) => {
            const c = table.find(list, at);
            if (c >= 0 && table.hasFlag(c, DAMAGED)) collect(table, c, packFindings, blobFindings, hit);
            if (c >= 0 && table.isDelta(c)) {
              const b = table.baseEntry(c);
              if (b >= 0 && table.hasFlag(b, DAMAGED)) collect(table, b, packFindings, blobFindings, hit);
            }
          });
        } catch {
          continue;
        }
      }
      for (const f of hit) addSnapshots(f, [s.id]);
    }
  }

  return {
    findings,
    errors,
    snapshots: filtered ? snaps.length : snapNames.length,
    indexFiles: table.indexFiles.length,
    packs: sizes.size,
    blobs: table.count - table.refs,
    packsRead,
    blobsRead,
    bytesRead,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Bytes per read of check --read-data (a pack is read in pieces: bounded memory). */
const READ_WINDOW = 4 * 1024 * 1024;

/**
 * Reads a whole pack in windows of about READ_WINDOW bytes, hashing every byte (the pack's
 * name) and decoding every entry in it. Returns the content hash, the entries that failed
 * (with why), or the read error that stopped it.
 */
async function readDataPack(repo: Repository, table: IndexTable, pack: string, first: number, count: number, size: number): Promise<{ hash?: string; bad: Map<number, string>; error?: string; blobs: number }> {
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
      repo.codec.decodeInto(stored, members.map((m) => decodeItem(table.location(m), table.id(m), 0)), scratch, `pack ${pack}`);
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

/** A finding when delta blob `c`'s base is missing or itself a delta (marks the base otherwise). */
function checkBase(table: IndexTable, c: number, add: (f: Finding) => Finding): Finding | undefined {
  const b = table.baseEntry(c);
  if (b >= 0 && !table.isDelta(b)) {
    table.mark(b);
    return undefined;
  }
  const pack = table.packAt(table.pack(c)).id;
  if (b === -1) return add({ severity: 'error', kind: 'blob-missing', blob: table.idHex(c + 1), pack, message: `blob ${table.idHex(c + 1)}, the base of delta blob ${table.idHex(c)}, is not in the index` });
  if (b === -2) return add({ severity: 'error', kind: 'pack-damaged', pack, message: `pack ${pack}: delta blob ${table.idHex(c)} has no base reference in the index` });
  return add({ severity: 'error', kind: 'blob-damaged', blob: table.idHex(c), pack, message: `delta blob ${table.idHex(c)}: its base ${table.idHex(b)} is itself a delta (chains are one step long)` });
}

function collect(table: IndexTable, e: number, packFindings: Map<number, Finding[]>, blobFindings: Map<number, Finding>, hit: Set<Finding>): void {
  if (!table.hasFlag(e, DAMAGED)) return;
  const b = blobFindings.get(e);
  if (b) hit.add(b);
  for (const f of packFindings.get(table.pack(e)) ?? []) hit.add(f);
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
    if (t.offset !== table.offset(e) || t.length !== table.length(e) || t.rawLength !== table.rawLength(e) || t.compressed !== table.compressed(e) || blobTypeCode(t.type) !== blobTypeCode(table.type(e))) {
      return `entry ${i} (blob ${table.idHex(e)}): location or length differs`;
    }
    if (t.base || t.frame) e++;
  }
  return undefined;
}
