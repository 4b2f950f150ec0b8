/**
 * Recently loaded blobs, so the many small files that are slices of one small-file
 * stream blob load it once. Bounded by bytes (least recently used dropped first); loads
 * of the same blob in flight are shared. Every blob is verified against its id on load.
 */
import type { Repository } from '../repository/repository.js';

export class BlobCache {
  private readonly blobs = new Map<string, Promise<Buffer>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly repo: Repository,
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
    return p;
  }

  private drop(k: string): void {
    this.blobs.delete(k);
    this.bytes -= this.sizes.get(k) ?? 0;
    this.sizes.delete(k);
  }
}
