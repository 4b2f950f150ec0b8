/**
 * What check found (Findings: typed findings, at most MAX_DETAILED of a kind in detail) and
 * what is damaged (Damage: packs and blobs, flagged in the index table, with their findings),
 * and the context every phase of check works in.
 */
import type { IndexTable } from '../blob-index/index-table.js';
import type { ProgressFn } from '../progress.js';
import type { Repository } from '../repository/repository.js';

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

/** Detailed findings per kind; beyond this, one summary finding counts the rest. */
export const MAX_DETAILED = 100;

/** The findings of one check, in the order found. */
export class Findings {
  readonly list: Finding[] = [];
  /** Error findings added (counted past MAX_DETAILED too). */
  errors = 0;
  private readonly counts = new Map<FindingKind, number>();
  private readonly overflow = new Map<FindingKind, Finding>();

  /** Adds a finding, or counts it into the kind's summary finding past MAX_DETAILED; returns the finding kept. */
  add(f: Finding): Finding {
    if (f.severity === 'error') this.errors++;
    const n = (this.counts.get(f.kind) ?? 0) + 1;
    this.counts.set(f.kind, n);
    if (n <= MAX_DETAILED) {
      this.list.push(f);
      return f;
    }
    let o = this.overflow.get(f.kind);
    if (!o) {
      o = { severity: f.severity, kind: f.kind, message: '', snapshots: [] };
      this.overflow.set(f.kind, o);
      this.list.push(o);
    }
    (o as { message: string }).message = `${n - MAX_DETAILED} more ${f.kind} findings like the ones above`;
    return o;
  }

  /** Records that snapshots `ids` depend on what `f` is about. */
  addSnapshots(f: Finding, ids: Iterable<string>): void {
    const set = new Set(f.snapshots ?? []);
    for (const id of ids) set.add(id);
    f.snapshots = [...set].sort();
  }
}

/** The table's mark-byte flag of a damaged entry. */
const DAMAGED = 2;

/** Damaged packs and blobs: flagged in the table, each with the findings that say so. */
export class Damage {
  private readonly packFindings = new Map<number, Finding[]>();
  private readonly blobFindings = new Map<number, Finding>();

  constructor(private readonly table: IndexTable) {}

  /** True when anything was found damaged. */
  get any(): boolean {
    return this.packFindings.size > 0 || this.blobFindings.size > 0;
  }

  /** Pack number `no` is damaged (`f` says how): every entry in it is. */
  pack(no: number, f: Finding): void {
    const tp = this.table.packAt(no);
    for (let e = tp.first; e < tp.first + tp.count; e++) this.table.setFlag(e, DAMAGED);
    let l = this.packFindings.get(no);
    if (!l) this.packFindings.set(no, (l = []));
    l.push(f);
  }

  /** Entry `e` is damaged (`f` says how). */
  blob(e: number, f: Finding): void {
    this.table.setFlag(e, DAMAGED);
    this.blobFindings.set(e, f);
  }

  /** True when entry `e` is damaged. */
  has(e: number): boolean {
    return this.table.hasFlag(e, DAMAGED);
  }

  /** Adds to `hit` the findings about entry `e` and its pack, when `e` is damaged. */
  collect(e: number, hit: Set<Finding>): void {
    if (!this.has(e)) return;
    const b = this.blobFindings.get(e);
    if (b) hit.add(b);
    for (const f of this.packFindings.get(this.table.pack(e)) ?? []) hit.add(f);
  }
}

/** What every phase of check works with. */
export interface CheckContext {
  readonly repo: Repository;
  readonly table: IndexTable;
  readonly findings: Findings;
  readonly damage: Damage;
  readonly progress?: ProgressFn | undefined;
  readonly signal?: AbortSignal | undefined;
}
