/**
 * Recently loaded blobs, so the many small files that are slices of one small-file
 * stream blob load it once. Bounded by bytes (least recently used dropped first); loads
 * of the same blob in flight are shared. Every blob is verified against its id on load.
 */
import type { BlobSource } from '../repository/blob-store.js';

export class BlobCache {
  private readonly blobs = new Map<string, Promise<Buffer>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly repo: BlobSource,
    private readonly maxBytes = 128 << 20,
  ) {}

  async get(id: Buffer): Promise<Buffer> {
    const key = id.toString('latin1');
    const hit = this.blobs.get(key);
    if (hit) {
      this.blobs.delete(key);
      this.blobs.set(key, hit); // most recently used last
      return hit;
    }
    const p = this.repo.loadBlobs([Buffer.from(id)]).then((b) => b[0]!);
    this.blobs.set(key, p);
    this.account(key, p);
    return p;
  }

  /**
   * Loads the blobs among `ids` not cached yet in one batch: whole blobs grouped by pack and
   * frame (each frame decoded once, by the codec workers), delta blobs one by one.
   */
  async prefetch(ids: readonly Buffer[]): Promise<void> {
    const want = new Map<string, Buffer>();
    for (const id of ids) {
      const k = id.toString('latin1');
      if (!this.blobs.has(k) && !want.has(k)) want.set(k, id);
    }
    if (want.size === 0) return;
    const keys = [...want.keys()];
    const locs = await this.repo.lookup(keys.map((k) => want.get(k)!));
    const whole = new Map<string, NonNullable<(typeof locs)[number]>>();
    keys.forEach((k, i) => {
      const loc = locs[i];
      if (loc && !loc.base) whole.set(k, loc);
    });
    if (whole.size > 1) {
      const loaded = this.repo.loadWholeBlobs(whole, this.repo.codecs());
      for (const k of whole.keys()) {
        const p = loaded.then((m) => Buffer.from(m.get(k)!.buffer, m.get(k)!.byteOffset, m.get(k)!.byteLength));
        this.blobs.set(k, p);
        this.account(k, p);
      }
      await loaded;
    }
  }

  private account(key: string, p: Promise<Buffer>): void {
    p.then(
      (b) => {
        if (!this.blobs.has(key)) return;
        this.sizes.set(key, b.length);
        this.bytes += b.length;
        for (const k of this.blobs.keys()) {
          if (this.bytes <= this.maxBytes || k === key) break;
          this.drop(k);
        }
      },
      () => this.blobs.delete(key),
    );
  }

  private drop(k: string): void {
    this.blobs.delete(k);
    this.bytes -= this.sizes.get(k) ?? 0;
    this.sizes.delete(k);
  }
}
