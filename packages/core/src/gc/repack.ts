/**
 * gc's repacking (execute.ts phase 1): the used blobs of each repacked pack are read in ranged
 * reads of at most READ_BYTES (reading through gaps up to READ_GAP), verified against their ids
 * (a damaged blob stops gc before anything is deleted), and their stored bytes copied into new
 * packs; the used members of a partly used frame are compressed again without the others.
 * Every finished pack goes to `onPack` (execute.ts uploads and indexes it).
 *
 * Memory: one buffer for the new pack's blobs (reused once the pack is saved), ids sliced
 * from unpooled 64 KiB blocks, one verification per ranged read. Small per-blob copies
 * would share pool slabs with garbage and keep it alive until the pack is finished.
 */
import type { IndexTable } from '../blob-index/index-table.js';
import { StowageError, isStowageError } from '../errors.js';
import { ENTRY_BYTES } from '../pack/entry.js';
import { PackWriter, addEncoded, type FinishedPack } from '../pack/pack-writer.js';
import { decodeItem, frameTargetFor, type DecodeItem } from '../repository/blob-codec.js';
import type { Repository } from '../repository/repository.js';

/** Largest ranged read when copying blobs, and the largest gap read through. */
const READ_BYTES = 2 * 1024 * 1024;
const READ_GAP = 64 * 1024;

/** One ranged read of a repacked pack, verified: its stored bytes, and per entry its decode item and where its plaintext lies in the scratch buffer. */
interface ReadGroup {
  readonly pack: string;
  readonly entries: readonly number[];
  readonly data: Uint8Array;
  readonly items: readonly DecodeItem[];
  readonly plainAt: readonly number[];
  /** Frame offset -> members of that frame in the pack. */
  readonly membersOf: ReadonlyMap<number, number>;
}

export class Repacker {
  /** Blobs copied into new packs. */
  blobsRepacked = 0;
  private writer: PackWriter;
  private readonly area: Buffer;
  private areaUsed = 0;
  private ids = Buffer.allocUnsafeSlow(0);
  private idsUsed = 0;
  private scratch = Buffer.allocUnsafeSlow(0);

  /** `packs`: how many packs will be repacked (none: no pack-sized buffer is taken). */
  constructor(
    private readonly repo: Repository,
    private readonly table: IndexTable,
    private readonly onPack: (pack: FinishedPack) => Promise<void>,
    packs: number,
  ) {
    this.writer = new PackWriter(repo.cipher);
    this.area = Buffer.allocUnsafeSlow(packs ? repo.config.packSize : 0);
  }

  /** Copies the used blobs of pack `id` (its marked entries in the table). */
  async repack(id: string): Promise<void> {
    const table = this.table;
    const tp = table.packAt(table.packNo(id)!);
    const used: number[] = [];
    const membersOf = new Map<number, number>(); // frame offset -> members in the pack
    for (let e = tp.first; e < tp.first + tp.count; e++) {
      if (table.marked(e)) used.push(e);
      if (table.isFramed(e)) membersOf.set(table.offset(e), (membersOf.get(table.offset(e)) ?? 0) + 1);
    }
    // ranged reads of the used blobs (at most READ_BYTES each), not whole packs
    for (const g of table.readGroups(used, READ_BYTES, READ_GAP)) await this.copy(await this.read(id, g, membersOf));
  }

  /** Finishes and hands over the last pack. */
  async finish(): Promise<void> {
    if (this.writer.count > 0) await this.finishPack();
  }

  /** Reads one group and verifies every blob in it (decoded into the reused scratch buffer). */
  private async read(pack: string, g: { offset: number; length: number; entries: number[] }, membersOf: ReadonlyMap<number, number>): Promise<ReadGroup> {
    const table = this.table;
    const data = await this.repo.readPackRange(pack, g.offset, g.length);
    // ids into the new pack's id blocks
    // delta blobs are verified against their base (read through the index cache: the table's lookup is released)
    const items = await Promise.all(
      g.entries.map(async (e) => {
        const id = this.nextId();
        table.writeId(e, id);
        const loc = table.location(e);
        return decodeItem(loc, id, loc.offset - g.offset, loc.base && (await this.repo.loadBase(loc.base, id)));
      }),
    );
    let raw = 0;
    const plainAt: number[] = []; // where each item's plaintext lands in scratch
    for (const it of items) {
      plainAt.push(raw);
      raw += it.rawLength;
    }
    if (this.scratch.length < raw) this.scratch = Buffer.allocUnsafeSlow(Math.max(raw, 2 * this.scratch.length));
    try {
      this.repo.codec.decodeInto(data, items, this.scratch, `pack ${pack}`);
    } catch (err) {
      if (isStowageError(err, 'CORRUPT')) throw new StowageError('CORRUPT', `gc stopped before deleting anything: ${err.message}; run "stowage check --read-data"`, { cause: err });
      throw err;
    }
    return { pack, entries: g.entries, data, items, plainAt, membersOf };
  }

  /** Copies the verified blobs of a group into the pack being built (whole frames as one unit). */
  private async copy(g: ReadGroup): Promise<void> {
    const { items } = g;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      // the live members of a frame (consecutive: same offset) go with one copy of its bytes
      let j = i + 1;
      if (it.frame) while (j < items.length && items[j]!.frame && items[j]!.offset === it.offset) j++;
      if (this.writer.count > 0 && this.writer.size + it.length + 2 * (j - i) * ENTRY_BYTES > this.repo.config.packSize) await this.finishPack();
      if (it.frame && j - i < (g.membersOf.get(this.table.offset(g.entries[i]!)) ?? 0)) this.recompressFrame(g, i, j);
      else this.copyStored(g, i, j);
      this.blobsRepacked += j - i;
      i = j - 1;
    }
  }

  /** A partly used frame: its used members (items i..j-1) are compressed again, without the others. */
  private recompressFrame(g: ReadGroup, i: number, j: number): void {
    const members = g.items.slice(i, j);
    const lens = members.map((m) => m.rawLength);
    const start = g.plainAt[i]!;
    const enc = this.repo.codec.encode(this.scratch.subarray(start, start + lens.reduce((a, b) => a + b, 0)), lens, undefined, frameTargetFor(this.repo.config.packSize));
    addEncoded(
      () => this.writer,
      enc,
      members.map((m, k) => ({ id: m.id as Buffer, type: this.table.type(g.entries[i + k]!), rawLength: m.rawLength })),
    );
  }

  /** Copies the stored bytes of item i (a whole blob, or a fully used frame with members i..j-1) into the pack area. */
  private copyStored(g: ReadGroup, i: number, j: number): void {
    const table = this.table;
    const it = g.items[i]!;
    const e = g.entries[i]!;
    const len = it.length;
    let stored: Buffer;
    if (this.areaUsed + len <= this.area.length) {
      stored = this.area.subarray(this.areaUsed, this.areaUsed + len);
      this.areaUsed += len;
    } else stored = Buffer.allocUnsafeSlow(len); // a blob larger than the pack size
    stored.set(g.data.subarray(it.offset, it.offset + len));
    if (it.frame) {
      const members = g.items.slice(i, j).map((m, k) => ({ id: m.id as Buffer, type: table.type(g.entries[i + k]!), offset: m.frame!.offset, rawLength: m.rawLength }));
      this.writer.addFrame(stored, it.frame.rawLength, it.compressed, members);
      return;
    }
    this.writer.add(it.id as Buffer, table.type(e), stored, it.rawLength, it.compressed, table.isDelta(e) ? table.id(e + 1) : undefined);
  }

  private nextId(): Buffer {
    if (this.idsUsed + 32 > this.ids.length) {
      this.ids = Buffer.allocUnsafeSlow(64 * 1024); // entries of earlier packs keep the old block
      this.idsUsed = 0;
    }
    this.idsUsed += 32;
    return this.ids.subarray(this.idsUsed - 32, this.idsUsed);
  }

  private async finishPack(): Promise<void> {
    await this.onPack(this.writer.finalize());
    this.writer = new PackWriter(this.repo.cipher);
    this.areaUsed = 0;
  }
}
