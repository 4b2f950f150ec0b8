import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { listLocks, lockRepository, removeLocks, staleReason, type LockInfo } from './lock.js';
import { Repository } from './repository.js';

const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-lock-'));
afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

let backend: MemoryBackend;
let a: Repository;
let b: Repository;
beforeEach(async () => {
  backend = new MemoryBackend();
  a = await Repository.init(backend, { cacheRoot });
  b = await Repository.open(backend, { cacheRoot });
});

const lockFiles = () => [...backend.files.keys()].filter((k) => k.startsWith('locks/'));

async function fakeLock(info: Partial<LockInfo>, name = 'f'.repeat(64)): Promise<void> {
  const t = new Date().toISOString();
  const full: LockInfo = { exclusive: true, hostname: hostname(), pid: process.pid, username: 'x', time: t, refreshed: t, ...info };
  await backend.save({ type: 'lock', name }, Buffer.from(JSON.stringify(full)));
}

async function expectLocked(p: Promise<unknown>, re?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStowageError(err, 'LOCKED'), String(err)).toBe(true);
  if (re) expect((err as Error).message).toMatch(re);
}

/** A PID that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('repository locks', () => {
  it('shared locks coexist; exclusive excludes both ways', async () => {
    const s1 = await lockRepository(a, 'shared');
    const s2 = await lockRepository(b, 'shared');
    expect(lockFiles()).toHaveLength(2);
    const c = await Repository.open(backend, { cacheRoot });
    await expectLocked(lockRepository(c, 'exclusive'), new RegExp(`a shared lock [0-9a-f]{8} held by PID ${process.pid} on `));
    expect(lockFiles()).toHaveLength(2); // the failed attempt left nothing
    await s1.release();
    await s2.release();
    expect(lockFiles()).toHaveLength(0);
    const x = await lockRepository(c, 'exclusive');
    await expectLocked(lockRepository(a, 'shared'), /an exclusive lock/);
    await expectLocked(lockRepository(b, 'exclusive'));
    await x.release();
    await (await lockRepository(a, 'shared')).release();
  });

  it('is re-entrant per repository object: one lock file', async () => {
    const l1 = await lockRepository(a, 'exclusive');
    const l2 = await lockRepository(a, 'shared'); // weaker kind inside a stronger one
    const [l3, l4] = await Promise.all([lockRepository(a, 'exclusive'), lockRepository(a, 'exclusive')]);
    expect(lockFiles()).toHaveLength(1);
    await l2.release();
    await l3!.release();
    await l4!.release();
    expect(lockFiles()).toHaveLength(1);
    await l1.release();
    await l1.release(); // idempotent
    expect(lockFiles()).toHaveLength(0);
    const s = await lockRepository(b, 'shared');
    await expect(lockRepository(b, 'exclusive')).rejects.toThrow(TypeError);
    await s.release();
  });

  it('stale locks are ignored: not refreshed for 30 minutes, or a dead process on this host', async () => {
    const old = new Date(Date.now() - 31 * 60_000).toISOString();
    await fakeLock({ refreshed: old, time: old }, '1'.repeat(64));
    await fakeLock({ pid: deadPid() }, '2'.repeat(64));
    await fakeLock({ hostname: 'elsewhere', pid: deadPid() }, '3'.repeat(64)); // another host: PID says nothing
    const listed = await listLocks(a);
    expect(listed.map((l) => [l.name[0], l.stale])).toEqual(expect.arrayContaining([['1', true], ['2', true], ['3', false]]));
    expect(listed.find((l) => l.name[0] === '2')!.staleReason).toMatch(/process \d+ on this host is gone/);
    await expectLocked(lockRepository(a, 'shared'), /elsewhere/);
    await backend.remove({ type: 'lock', name: '3'.repeat(64) });
    const x = await lockRepository(a, 'exclusive');
    await x.release();
    expect(await removeLocks(a)).toHaveLength(2);
    expect(lockFiles()).toHaveLength(0);
    // a live lock is removed only with all
    await fakeLock({});
    expect(await removeLocks(a)).toEqual([]);
    expect(await removeLocks(a, { all: true })).toEqual(['f'.repeat(64)]);
  });

  it('staleReason', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const info: LockInfo = { exclusive: false, hostname: 'h', pid: 1, username: '', time: '2026-01-01T00:00:00Z', refreshed: '2026-01-01T00:31:00Z' };
    expect(staleReason(info, now, 30 * 60_000, 'other')).toBeUndefined();
    expect(staleReason({ ...info, refreshed: '2026-01-01T00:29:00Z' }, now, 30 * 60_000, 'other')).toMatch(/not refreshed for 31 min/);
    expect(staleReason({ ...info, refreshed: 'garbage' }, now, 30 * 60_000, 'other')).toMatch(/no valid refresh time/);
  });

  it('an unreadable lock file conflicts (and only unlock --remove-all removes it)', async () => {
    await backend.save({ type: 'lock', name: 'e'.repeat(64) }, Buffer.from('not json'));
    await expectLocked(lockRepository(a, 'shared'), /unreadable lock eeeeeeee.*unlock --remove-all/);
    expect(await removeLocks(a)).toEqual([]);
    expect(await removeLocks(a, { all: true })).toEqual(['e'.repeat(64)]);
  });

  it('waits with retryMs until the holder lets go', async () => {
    const x = await lockRepository(a, 'exclusive');
    setTimeout(() => void x.release(), 300);
    const t0 = Date.now();
    await expectLocked(lockRepository(b, 'shared', { retryMs: 100 }));
    const s = await lockRepository(b, 'shared', { retryMs: 10_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await s.release();
  });

  it('an abort signal ends the wait', async () => {
    const x = await lockRepository(a, 'exclusive');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(lockRepository(b, 'shared', { retryMs: 60_000, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await x.release();
  });

  it('refreshes the lock file; verify fails when the lock was removed or is too old', async () => {
    let now = Date.now();
    const l = await lockRepository(a, 'shared', { refreshMs: 20, now: () => now });
    const first = (await listLocks(a))[0]!.info!.refreshed;
    now += 60_000;
    await new Promise((r) => setTimeout(r, 80));
    const second = (await listLocks(a))[0]!.info!.refreshed;
    expect(Date.parse(second)).toBeGreaterThan(Date.parse(first));
    await l.verify();
    // removed by someone else: verify fails, and the refresher does not bring it back
    await backend.remove({ type: 'lock', name: l.name });
    await expectLocked(l.verify(), /removed by another process/);
    await new Promise((r) => setTimeout(r, 60));
    expect(lockFiles()).toHaveLength(0);
    // the commit point checks the lock too
    await expectLocked(a.saveFile('snapshot', Buffer.from('{}')));
    await l.release();
    await a.saveFile('snapshot', Buffer.from('{}')); // no lock held: no guard
  });

  it('verify fails when refreshing has been impossible for too long', async () => {
    let now = Date.now();
    const l = await lockRepository(a, 'exclusive', { refreshMs: 3_600_000, staleMs: 1000, now: () => now });
    await l.verify();
    now += 600; // older than staleMs/2: verify refreshes first, and that works
    await l.verify();
    const save = backend.save.bind(backend);
    backend.save = async () => {
      throw new Error('EIO');
    };
    now += 600;
    await expectLocked(l.verify(), /could not be refreshed/);
    backend.save = save;
    await l.release();
  });
});
