/**
 * In-memory backend: a real backend over a Map, for tests and dry runs. The front door
 * (AbstractBackend) gives it the same checks of names, ranges and signals as every backend.
 */
import { randomBytes } from 'node:crypto';
import { StowageError } from '../errors.js';
import { AbstractBackend } from './abstract-backend.js';
import type { BackendInfo, FileInfo, FileType, Handle, Range, SaveOptions } from './backend.js';
import { pathOf } from './layout.js';

export class MemoryBackend extends AbstractBackend {
  /** `memory:<random>`: each instance is a place of its own, in every process (records keyed by location tell them apart). */
  readonly info: BackendInfo = { location: `memory:${randomBytes(8).toString('hex')}`, connections: 4 };
  readonly files = new Map<string, Uint8Array>();
  protected override readonly writesParts = false;

  protected async _save(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions): Promise<void> {
    const key = pathOf(h);
    // joined before the check: the file appears whole or not at all
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    opts.signal?.throwIfAborted();
    if (this.files.has(key) && !opts.overwrite) throw new StowageError('ALREADY_EXISTS', `${key}: already exists`);
    this.files.set(key, data);
  }

  protected async _load(h: Handle, range?: Range): Promise<Uint8Array> {
    const f = this.file(h);
    if (!range) return Uint8Array.from(f);
    if (range.offset + range.length > f.length) throw new StowageError('CORRUPT', `${pathOf(h)}: short read, wanted ${range.length} bytes at offset ${range.offset}, the file has ${f.length}`);
    return f.slice(range.offset, range.offset + range.length);
  }

  protected async _stat(h: Handle): Promise<{ size: number }> {
    return { size: this.file(h).length };
  }

  protected override async _exists(h: Handle): Promise<boolean> {
    return this.files.has(pathOf(h));
  }

  protected async *_list(type: FileType): AsyncIterable<FileInfo> {
    for (const [key, data] of [...this.files]) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (pathOf({ type, name }) === key) yield { name, size: data.length };
    }
  }

  protected async _remove(h: Handle): Promise<void> {
    if (!this.files.delete(pathOf(h))) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
  }

  protected async _isEmpty(): Promise<boolean> {
    return this.files.size === 0;
  }

  private file(h: Handle): Uint8Array {
    const f = this.files.get(pathOf(h));
    if (!f) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
    return f;
  }
}
