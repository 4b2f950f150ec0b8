/**
 * Fixed-size records stored as 'list' blobs of at most `max` records each (chunk lists,
 * file maps): one buffer being filled, written out as a blob when full or when the
 * caller asks for a boundary. Memory: one blob's worth of records.
 */
import type { BlobSink } from '../repository/blob-store.js';

export class RecordBlobWriter {
  private buf: Buffer;
  private n = 0;
  /** Hex ids of the blobs written, in order. */
  readonly blobs: string[] = [];
  /** Records added in all. */
  count = 0;

  constructor(
    private readonly session: BlobSink,
    private readonly recordBytes: number,
    private readonly max: number,
  ) {
    this.buf = Buffer.allocUnsafe(max * recordBytes);
  }

  /** Records in the blob being filled. */
  get pending(): number {
    return this.n;
  }

  /** Where the next record goes: fill `recordBytes` bytes at `off` of `buf`, then call commit. */
  next(): { buf: Buffer; off: number } {
    return { buf: this.buf, off: this.n * this.recordBytes };
  }

  /**
   * Takes the record filled after next(); writes the blob when full or when `boundary`.
   * Returns the write's promise then (await it before the next record), else undefined:
   * most records end no blob, and an await per record (a chunk list of a reused layer holds
   * tens of thousands) cost more than filling the record.
   */
  commit(boundary = false): Promise<void> | undefined {
    this.n++;
    this.count++;
    return this.n === this.max || boundary ? this.flush() : undefined;
  }

  /** Writes the partial blob (if any); returns the ids of all blobs. Call once at the end. */
  async finish(): Promise<string[]> {
    if (this.n > 0) await this.flush();
    return this.blobs;
  }

  /** Stores the blob being filled; its buffer is reused (the sink copies what it keeps before saveBlob resolves). */
  private async flush(): Promise<void> {
    const id = await this.session.saveBlob('list', this.buf.subarray(0, this.n * this.recordBytes));
    this.blobs.push(id.toString('hex'));
    this.n = 0;
  }
}
