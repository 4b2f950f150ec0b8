/**
 * check's content phases: every snapshot's chunk-list blobs are in the index and load
 * (verified against their ids), every chunk they list is in the index with the length the
 * list records, a delta blob's base is there and is not itself a delta, and file maps are in
 * the index (check.ts phase 3); later, which snapshots depend on what was found damaged
 * (phase 7, a second walk, only when something is). Lists are walked with the one chunk-list
 * walker (object/chunk-list.ts), read where the index table says (object/table-lists.ts).
 */
import { isStowageError } from '../errors.js';
import { walkChunkList, type ListLoader } from '../object/chunk-list.js';
import { tableListLoader } from '../object/table-lists.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { snapshotLeaves, snapshotRoots } from '../snapshot/roots.js';
import { MAX_DETAILED, type CheckContext, type Finding } from './findings.js';

export class ContentCheck {
  /** Blobs not in the index (hex), each with its finding. */
  private readonly missing = new Map<string, Finding>();
  /** Chunk lists that cannot be read, each with its finding. */
  private readonly badLists = new Map<string, Finding>();
  /** Findings about the chunks of a list (for later snapshots that share the list). */
  private readonly listFindings = new Map<string, Finding[]>();
  private readonly loadList: ListLoader;

  constructor(private readonly ctx: CheckContext) {
    this.loadList = tableListLoader(ctx.repo, ctx.table);
  }

  /** Phase 3: the chunk lists, chunks and file maps of `snaps` (marking what they use in the table). */
  async check(snaps: readonly Snapshot[]): Promise<void> {
    let done = 0;
    for (const s of snaps) {
      for (const hex of snapshotRoots(s)) {
        await this.list(s.id, hex);
        this.ctx.signal?.throwIfAborted();
      }
      for (const hex of snapshotLeaves(s)) this.leaf(s.id, hex);
      this.ctx.progress?.({ op: 'check', done: ++done, total: snaps.length, unit: 'snapshots', phase: 'snapshots' });
    }
  }

  /** Phase 7: adds to each damage finding the snapshots that depend on it. */
  async attribute(snaps: readonly Snapshot[]): Promise<void> {
    const { table, damage } = this.ctx;
    for (const s of snaps) {
      const hit = new Set<Finding>();
      for (const hex of snapshotRoots(s)) {
        const e = table.find(Buffer.from(hex, 'hex'));
        if (e < 0) continue;
        damage.collect(e, hit);
        if (this.badLists.has(hex)) continue;
        try {
          await walkChunkList(hex, this.loadList, (list, at) => {
            const c = table.find(list, at);
            if (c >= 0 && damage.has(c)) damage.collect(c, hit);
            if (c >= 0 && table.isDelta(c)) {
              const b = table.baseEntry(c);
              if (b >= 0 && damage.has(b)) damage.collect(b, hit);
            }
          });
        } catch {
          continue;
        }
      }
      for (const f of hit) this.ctx.findings.addSnapshots(f, [s.id]);
    }
  }

  /** Chunk list `hex` of snapshot `snapshot`: in the index, readable, and its chunks (walked once). */
  private async list(snapshot: string, hex: string): Promise<void> {
    const { table, findings } = this.ctx;
    const e = table.find(Buffer.from(hex, 'hex'));
    if (e < 0) {
      let f = this.missing.get(hex);
      if (!f) this.missing.set(hex, (f = findings.add({ severity: 'error', kind: 'blob-missing', blob: hex, message: `chunk list blob ${hex} is not in the index` })));
      findings.addSnapshots(f, [snapshot]);
      return;
    }
    const bad = this.badLists.get(hex);
    if (bad) {
      findings.addSnapshots(bad, [snapshot]);
      return;
    }
    if (!table.mark(e)) {
      // walked for an earlier snapshot: this one depends on what was found there too
      for (const f of this.listFindings.get(hex) ?? []) findings.addSnapshots(f, [snapshot]);
      return;
    }
    const found: Finding[] = [];
    const pack = table.packAt(table.pack(e)).id;
    try {
      // the chunks: walked in place, read where the table says
      await walkChunkList(hex, this.loadList, (list, at, offset, length) => this.chunk(snapshot, list, at, offset, length, found));
    } catch (err) {
      if (!isStowageError(err)) throw err;
      const f = findings.add({ severity: 'error', kind: 'list-unreadable', blob: hex, pack, message: `chunk list blob ${hex} in pack ${pack}: ${err.message}` });
      this.badLists.set(hex, f);
      findings.addSnapshots(f, [snapshot]);
      return;
    }
    if (found.length) this.listFindings.set(hex, [...new Set(found)]);
  }

  /** One chunk of a list: in the index, its base fine, the extent within the blob; findings go to `found` too. */
  private chunk(snapshot: string, list: Buffer, at: number, offset: number, length: number, found: Finding[]): void {
    const { table, findings } = this.ctx;
    const c = table.find(list, at);
    if (c < 0) {
      const h = list.toString('hex', at, at + 32);
      let f = this.missing.get(h);
      if (!f) {
        f = findings.add({ severity: 'error', kind: 'blob-missing', blob: h, message: `blob ${h} is not in the index` });
        if (this.missing.size < 10 * MAX_DETAILED) this.missing.set(h, f);
      }
      findings.addSnapshots(f, [snapshot]);
      found.push(f);
      return;
    }
    if (table.mark(c) && table.isDelta(c)) {
      const f = checkBase(this.ctx, c);
      if (f) {
        findings.addSnapshots(f, [snapshot]);
        found.push(f);
      }
    }
    if (offset + length > table.rawLength(c)) {
      const f = findings.add({
        severity: 'error',
        kind: 'blob-size-mismatch',
        blob: table.idHex(c),
        pack: table.packAt(table.pack(c)).id,
        message: `blob ${table.idHex(c)}: the chunk list takes bytes ${offset}..${offset + length}, but the index says it has ${table.rawLength(c)}`,
      });
      findings.addSnapshots(f, [snapshot]);
      found.push(f);
    }
  }

  /** A file map blob of snapshot `snapshot`: in the index (kept, never walked). */
  private leaf(snapshot: string, hex: string): void {
    const { table, findings } = this.ctx;
    const e = table.find(Buffer.from(hex, 'hex'));
    if (e >= 0) {
      table.mark(e);
      return;
    }
    let f = this.missing.get(hex);
    if (!f) this.missing.set(hex, (f = findings.add({ severity: 'error', kind: 'blob-missing', blob: hex, message: `file map blob ${hex} is not in the index` })));
    findings.addSnapshots(f, [snapshot]);
  }
}

/** A finding when delta blob `c`'s base is missing or itself a delta (marks the base otherwise). */
function checkBase(ctx: CheckContext, c: number): Finding | undefined {
  const { table, findings } = ctx;
  const b = table.baseEntry(c);
  if (b >= 0 && !table.isDelta(b)) {
    table.mark(b);
    return undefined;
  }
  const pack = table.packAt(table.pack(c)).id;
  if (b === -1)
    return findings.add({
      severity: 'error',
      kind: 'blob-missing',
      blob: table.idHex(c + 1),
      pack,
      message: `blob ${table.idHex(c + 1)}, the base of delta blob ${table.idHex(c)}, is not in the index`,
    });
  if (b === -2) return findings.add({ severity: 'error', kind: 'pack-damaged', pack, message: `pack ${pack}: delta blob ${table.idHex(c)} has no base reference in the index` });
  return findings.add({
    severity: 'error',
    kind: 'blob-damaged',
    blob: table.idHex(c),
    pack,
    message: `delta blob ${table.idHex(c)}: its base ${table.idHex(b)} is itself a delta (chains are one step long)`,
  });
}
