/**
 * Restores under storage faults, seeded: every restore either gives the bytes as written or
 * fails with a typed error (BACKEND after the retries, ABORTED once the command's signal
 * fired), within a bound, and leaves nothing behind: no temp file beside a file target, a
 * repository (and its codec workers) that closes. Never a hang.
 *
 * The repository is on a store with per-request costs (the memory backend saying what an S3
 * backend says of itself), so the restore takes the S3 path: windows planned 64 ahead, stored
 * ranges kept for later windows (REMOTE_CARRY), delta bases read with the windows. The
 * backend stack is the CLI's (retries around the connection limit), with faults injected
 * below it (backend/faulty.ts): throttling and 5xx answers, resets, timeouts, bodies cut off
 * after half their bytes, late answers (out of order), bursts longer than the retries,
 * permanent refusals, and a read that never answers until the command is interrupted.
 * Restores of a whole image to a file and to a stream, and of one layer (to a file or a
 * stream), in turn.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../backend/backend.js';
import { faulty, type FaultErrno, type FaultRule } from '../backend/faulty.js';
import { limited } from '../backend/limit.js';
import { MemoryBackend } from '../backend/memory.js';
import { retrying } from '../backend/retry.js';
import { isStowageError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { snapshotBytes, tempCacheRoot, testRepo } from '../testing/fixtures.js';
import { prng } from '../testing/prng.js';
import { tarOf } from '../testing/tars.js';
import { restoreRangeToFile, restoreRangeToStream } from './range.js';
import { restoreToFile, restoreToStream } from './restore.js';

/** STOWAGE_FAULT_ROUNDS / STOWAGE_FAULT_SEED: a longer run (scripts/restore-fault-stress.sh); the suite runs one round of each kind twice over. */
const SEED = Number(process.env.STOWAGE_FAULT_SEED ?? 20261130);
const ROUNDS = Number(process.env.STOWAGE_FAULT_ROUNDS ?? 6);
/** A restore (or a close) still running after this is taken for a hang. */
const BOUND_MS = 20_000;

/** A memory backend that says what an S3 backend says of itself (several uploads at once: the restore plans for per-request costs). */
class RemoteMemory extends MemoryBackend {
  constructor() {
    super();
    Object.defineProperty(this, 'info', { value: { location: 'memory:remote', connections: 8, uploads: 8 } satisfies BackendInfo });
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A single-layer docker-archive holding `files`, and its layer. */
function dockerArchive(files: ReadonlyArray<{ name: string; data: Uint8Array }>): { archive: Buffer; layer: Buffer } {
  const layer = tarOf(files);
  const d = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${d}`] } }));
  const cd = sha256(config);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${cd}.json`, RepoTags: ['app:v'], Layers: [`${d}/layer.tar`] }]));
  const archive = tarOf([
    { name: `${d}/layer.tar`, data: layer },
    { name: `${cd}.json`, data: config },
    { name: 'manifest.json', data: manifest },
  ]);
  return { archive, layer };
}

/** Settles with the outcome of `p`, or 'hang' after BOUND_MS. */
async function bounded<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown } | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      ),
      new Promise<'hang'>((r) => (timer = setTimeout(r, BOUND_MS, 'hang'))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A stream that keeps what is written to it. */
function collector(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

/** What a round's restore may end with: the bytes ('ok') or a failure's code. */
type Outcome = 'ok' | 'BACKEND' | 'ABORTED';

/**
 * Round `r`'s faults: a seeded mix of transient ones on every load (at most 1 call in 8 in
 * all: the retries take them), plus, in rounds 3-5 of every 6, one that cannot be retried
 * away; and what the restore may end with.
 */
function faultsOf(r: number, random: () => number): { rules: FaultRule[]; interrupt: boolean; expect: readonly Outcome[] } {
  const transient: FaultErrno[] = ['SLOWDOWN', 'HTTP500', 'RESET', 'TIMEOUT', 'TRUNCATED'];
  const rules: FaultRule[] = [];
  // one call in a few answers late (reads complete out of order)
  rules.push({ op: 'load', error: 'DELAY', chance: 0.3, delayMs: 1 + Math.floor(random() * 15) });
  for (const error of transient) rules.push({ op: 'load', error, chance: random() * 0.025, delayMs: 1 + Math.floor(random() * 5) });
  const nth = 2 + Math.floor(random() * 20);
  switch (r % 6) {
    case 3: // a throttling burst as long as two calls' retries (spread over the calls in flight, it may be retried away)
      rules.unshift({ op: 'load', type: 'pack', error: 'SLOWDOWN', nth, times: 14 });
      return { rules, interrupt: false, expect: ['ok', 'BACKEND'] };
    case 4: // a permanent refusal
      rules.unshift({ op: 'load', type: 'pack', error: 'FORBIDDEN', nth });
      return { rules, interrupt: false, expect: ['BACKEND'] };
    case 5: // reads that never answer (a silent server without an idle timeout), until the command is interrupted
      rules.unshift({ op: 'load', type: 'pack', error: 'HANG', nth, times: 3 });
      return { rules, interrupt: true, expect: ['ABORTED'] };
    default:
      return { rules, interrupt: false, expect: ['ok'] };
  }
}

describe('restores under storage faults (seeded)', () => {
  let cacheRoot: string;
  let mem: RemoteMemory;
  let snap: Snapshot;
  let archive: Buffer;
  let layer: { offset: number; length: number; digest: string; bytes: Buffer };

  beforeAll(async () => {
    cacheRoot = tempCacheRoot();
    mem = new RemoteMemory();
    const { repo } = await testRepo(cacheRoot, { backend: mem, packSize: 1 << 20 });
    // v2 changes every fifth file of v1 (stored as deltas against v1's, which are framed) and puts them in another order
    const text = (i: number, v: number) => Buffer.from(`file ${i}: ${`line ${i} of some compressible text `.repeat(80 + (i % 50))}${v === 2 && i % 5 === 0 ? `changed in v2 ${i}\n` : ''}`);
    const files = (v: number) => Array.from({ length: 1000 }, (_, i) => ({ name: `f/${i}`, data: text(i, v) }));
    await snapshotBytes(repo, dockerArchive(files(1)).archive, 'app', { format: 'docker' });
    const v2 = dockerArchive(files(2).map((_, i, all) => all[(i * 7919) % all.length]!));
    archive = v2.archive;
    expect(archive.length).toBeGreaterThan(4 * 1024 * 1024); // the restore uses workers and shared memory
    snap = await snapshotBytes(repo, archive, 'app', { format: 'docker' });
    const l = snap.image!.layers[0]!;
    layer = { offset: l.offset, length: l.length, digest: l.digest!, bytes: v2.layer };
    expect(archive.subarray(l.offset, l.offset + l.length).equals(v2.layer)).toBe(true);
    await repo.close();
  });
  afterAll(() => {
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  });

  it(
    `${ROUNDS} restores (an image to a file and to a stream, a layer to a file and to a stream) each give the bytes as written or a typed error within ${BOUND_MS / 1000} s, leave no temp file, and close`,
    async () => {
      let injected = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const random = prng(SEED + r);
        const { rules, interrupt, expect: allowed } = faultsOf(r, random);
        const faults = faulty(mem, rules, { random });
        const life = new AbortController(); // the command's (SIGINT)
        const backend = retrying(limited(faults), { baseMs: 1, capMs: 4, random, signal: life.signal });
        const kind = (['file', 'stream', 'layer'] as const)[r % 3]!;
        const dir = fs.mkdtempSync(path.join(cacheRoot, 'out-'));
        const target = path.join(dir, 'restored');
        const windowBytes = 64 * 1024; // ~90 windows: the plan's lookahead and stash fill up and wrap
        let interrupted: NodeJS.Timeout | undefined;
        const run = async (): Promise<Buffer> => {
          const repo = await Repository.open(backend, { cacheRoot });
          try {
            if (interrupt) interrupted = setTimeout(() => life.abort(), 300);
            if (kind === 'file') {
              await restoreToFile(repo, snap.id, target, { windowBytes, signal: life.signal });
              return fs.readFileSync(target);
            }
            if (kind === 'layer' && r % 2 === 0) {
              const done = await restoreRangeToFile(repo, snap, { ...layer, what: 'layer' }, target, { windowBytes, signal: life.signal });
              expect(done).toMatchObject({ bytes: layer.length, digest: layer.digest, verified: true });
              return fs.readFileSync(target);
            }
            const out = collector();
            if (kind === 'stream') await restoreToStream(repo, snap.id, out.sink, { windowBytes, signal: life.signal });
            else await restoreRangeToStream(repo, snap, { ...layer, what: 'layer' }, out.sink, { windowBytes, signal: life.signal });
            return out.bytes();
          } finally {
            await repo.close();
          }
        };
        const got = await bounded(run());
        clearTimeout(interrupted);
        injected += faults.injected;
        const what = `round ${r} (${kind}, ${rules.map((x) => x.error).join(' ')})`;
        expect(got, `${what}: still running after ${BOUND_MS} ms`).not.toBe('hang');
        if (got === 'hang') continue;
        if ('ok' in got) {
          expect(allowed, `${what}: restored`).toContain('ok');
          expect(got.ok.equals(kind === 'layer' ? layer.bytes : archive), `${what}: restored bytes differ`).toBe(true);
        } else {
          expect(isStowageError(got.err), `${what}: untyped error ${String(got.err)}`).toBe(true);
          expect(allowed, `${what}: ${String(got.err)}`).toContain((got.err as { code: string }).code);
        }
        expect(
          fs.readdirSync(dir).filter((f) => f !== 'restored'),
          `${what}: left behind`,
        ).toEqual([]);
      }
      expect(injected).toBeGreaterThan(ROUNDS * 3); // the faults did fire
    },
    60_000 + ROUNDS * BOUND_MS,
  );

  it.each(['image', 'layer'] as const)('a restore (%s) interrupted while every read hangs fails ABORTED at once: no request starts after the signal fired (it would run without it)', async (kind) => {
    // from the 20th on, every pack read hangs until its signal fires (no idle timeout)
    const faults = faulty(mem, [{ op: 'load', type: 'pack', error: 'HANG', nth: 20, times: Infinity }]);
    const life = new AbortController(); // the command's, as the CLI gives it to the retries and to the restore
    const repo = await Repository.open(retrying(limited(faults), { baseMs: 1, capMs: 4, signal: life.signal }), { cacheRoot });
    try {
      // interrupted once reads hang (more start meanwhile: they wait for connections, or are planned)
      let seen: NodeJS.Timeout | undefined;
      const stopOnce = setInterval(() => faults.injected > 0 && (seen ??= setTimeout(() => life.abort(), 50)), 5);
      const out = collector();
      const opts = { windowBytes: 64 * 1024, signal: life.signal };
      const r = await bounded<unknown>(kind === 'image' ? restoreToStream(repo, snap.id, out.sink, opts) : restoreRangeToStream(repo, snap, { ...layer, what: 'layer' }, out.sink, opts));
      clearInterval(stopOnce);
      expect(r).not.toBe('hang');
      expect(r).toMatchObject({ err: { code: 'ABORTED' } });
      expect(faults.injected).toBeGreaterThan(0);
    } finally {
      expect(await bounded(repo.close())).toEqual({ ok: undefined });
    }
  });
});
