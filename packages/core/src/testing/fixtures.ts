/**
 * Helpers for tests of the operations (gc, check, forget, faults): repositories on a
 * MemoryBackend (or any backend), snapshots of in-memory bytes, restores into memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { MemoryBackend } from '../backend/memory.js';
import { Repository, type RepositoryInitOptions } from '../repository/repository.js';
import { restoreToStream } from '../restore/restore.js';
import { snapshotStream, type SnapshotOptions } from '../snapshot/create.js';
import type { Snapshot } from '../snapshot/manifest.js';

/** A fresh cache root in the temp directory (remove it with fs.rmSync when done). */
export function tempCacheRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-test-'));
}

/** A plaintext repository on `backend` (a new MemoryBackend by default) with small packs. */
export async function testRepo(cacheRoot: string, opts: RepositoryInitOptions & { backend?: Backend } = {}): Promise<{ backend: Backend; repo: Repository }> {
  const backend = opts.backend ?? new MemoryBackend();
  const repo = await Repository.init(backend, { packSize: 64 * 1024, chunkAvg: 4096, compressionLevel: 1, cacheRoot, ...opts });
  return { backend, repo };
}

/**
 * One plaintext test repository for the tests of a describe block (call it in the block):
 * made before them in a fresh cache root, closed and removed after. Read `.repo` in tests.
 */
export function sharedTestRepo(): { readonly repo: Repository } {
  let cacheRoot: string | undefined;
  let repo: Repository | undefined;
  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    ({ repo } = await testRepo(cacheRoot));
  });
  afterAll(async () => {
    await repo?.close();
    if (cacheRoot) fs.rmSync(cacheRoot, { recursive: true, force: true });
  });
  return {
    get repo(): Repository {
      if (!repo) throw new Error('sharedTestRepo: used outside a test');
      return repo;
    },
  };
}

/** Deterministic pseudo-random bytes. */
export function seeded(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Snapshots `data` (inline codecs, raw format unless `opts.format` says otherwise) as a stream named `name`. */
export async function snapshotBytes(repo: Repository, data: Buffer, name: string, opts: Pick<SnapshotOptions, 'time' | 'tags' | 'format' | 'delta' | 'basis'> = {}): Promise<Snapshot> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < data.length; off += 1 << 20) yield Buffer.from(data.subarray(off, off + (1 << 20)));
  }
  return snapshotStream(repo, source(), { kind: 'stdin', path: '-' }, { name, workers: 0, format: 'raw', ...opts });
}

/** Restores snapshot `id` into memory (verified as every restore is). */
export async function restoreBytes(repo: Repository, id: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  await restoreToStream(repo, id, sink, { workers: 0 });
  return Buffer.concat(parts);
}
