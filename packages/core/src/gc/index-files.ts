/**
 * gc's new index files (execute.ts phases 1 and 2): raw entries added pack by pack, an index
 * file written whenever ENTRIES_PER_INDEX_FILE slots are waiting, and the rest on `flush`.
 */
import { IndexFileBuilder } from '../blob-index/index-file.js';
import type { Repository } from '../repository/repository.js';

/** Entries per index file written by gc (about 9 MiB). */
export const ENTRIES_PER_INDEX_FILE = 200_000;

export class GcIndexFiles {
  private readonly builder = new IndexFileBuilder();
  /** Names of the index files written. */
  readonly names = new Set<string>();
  /** Stored bytes of the index files written. */
  bytesWritten = 0;

  constructor(private readonly repo: Pick<Repository, 'saveFile' | 'backend'>) {}

  /** Adds pack `id` with `count` raw slots; writes an index file when enough are waiting. */
  async addPack(id: string, raw: Buffer, count: number): Promise<void> {
    this.builder.addPack(id, raw, count);
    await this.save(false);
  }

  /** Writes what is waiting (if anything) as one index file. */
  async flush(): Promise<void> {
    await this.save(true);
  }

  private async save(force: boolean): Promise<void> {
    if (this.builder.empty || (!force && this.builder.entries < ENTRIES_PER_INDEX_FILE)) return;
    const plain = this.builder.take();
    const name = await this.repo.saveFile('index', plain);
    this.names.add(name);
    this.bytesWritten += (await this.repo.backend.stat({ type: 'index', name })).size;
  }
}
