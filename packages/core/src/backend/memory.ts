/**
 * In-memory backend: a real backend over a Map, for tests and dry runs.
 */
import { randomBytes } from 'node:crypto';
import { StowageError } from '../errors.js';
import type { Backend, BackendInfo, FileInfo, FileType, Handle, Range, SaveOptions } from './backend.js';
import { checkName, pathOf } from './layout.js';

export class MemoryBackend implements Backend {
  /** `memory:<random>`: each instance is a place of its own, in every process (records keyed by location tell them apart). */
  readonly info: BackendInfo = { location: `memory:${randomBytes(8).toString('hex')}`, connections: 4 };
  readonly files = new Map<string, Uint8Array>();

  async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
    checkName(h);
    const key = pathOf(h);
    if (this.files.has(key) && !opts?.overwrite) throw new StowageError('ALREADY_EXISTS', `${key}: already exists`);
    this.files.set(key, Uint8Array.from(data));
  }

  async load(h: Handle, range?: Range): Promise<Uint8Array> {
    const key = pathOf(h);
    const f = this.files.get(key);
    if (!f) throw new StowageError('NOT_FOUND', `${key}: not found`);
    if (!range) return Uint8Array.from(f);
    if (range.offset + range.length > f.length) throw new StowageError('CORRUPT', `${key}: short read at ${range.offset}+${range.length}, size ${f.length}`);
    return f.slice(range.offset, range.offset + range.length);
  }

  async stat(h: Handle): Promise<{ size: number }> {
    const f = this.files.get(pathOf(h));
    if (!f) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
    return { size: f.length };
  }

  async exists(h: Handle): Promise<boolean> {
    return this.files.has(pathOf(h));
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    for (const [key, data] of [...this.files]) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (pathOf({ type, name }) === key) yield { name, size: data.length };
    }
  }

  async remove(h: Handle): Promise<void> {
    if (!this.files.delete(pathOf(h))) throw new StowageError('NOT_FOUND', `${pathOf(h)}: not found`);
  }

  async isEmpty(): Promise<boolean> {
    return this.files.size === 0;
  }

  async create(): Promise<void> {}

  async close(): Promise<void> {}
}
