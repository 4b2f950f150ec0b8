import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory.js';
import { isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { selfIdentity, type ProcessProbe } from './lock-rules.js';
import { listLocks, lockRepository, removeLocks, staleReason, type LockInfo } from './lock.js';
import { Repository } from './repository.js';
import { snapshotStream } from '../snapshot/create.js';
import { forget } from '../forget/forget.js';
import { gc } from '../gc/gc.js';
import { repairIndex } from './repair-index.js';
import { addKeyLocked, changePasswordLocked, removeKeyLocked } from './key-changes.js';
import { TEST_KDF } from './keys.js';

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

/** Writes a lock file as another process would (named by its BLAKE3); returns its name. */
async function fakeLock(info: Partial<LockInfo>): Promise<string> {
  const t = new Date().toISOString();
  const full: LockInfo = { exclusive: true, hostname: hostname(), pid: process.pid, username: 'x', time: t, refreshed: t, ...selfIdentity(), ...info };
  const bytes = Buffer.from(JSON.stringify(full));
  const name = blake3Hex(bytes);
  await backend.save({ type: 'lock', name }, bytes);
  return name;
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

  it('taking a lock reads the other lock files only, never its own (a GET each on S3)', async () => {
    const other = await fakeLock({ exclusive: false });
    const loads: string[] = [];
    const load = backend.load.bind(backend);
    backend.load = (h, r, o) => {
      if (h.type === 'lock') loads.push(h.name);
      return load(h, r, o);
    };
    const l = await lockRepository(a, 'shared');
    expect(loads).toEqual([other, other]); // before and after writing its own
    await l.release();
  });

  it('stale locks are ignored: not refreshed for 30 minutes, or a dead process on this host', async () => {
    const old = new Date(Date.now() - 31 * 60_000).toISOString();
    const n1 = await fakeLock({ refreshed: old, time: old });
    const n2 = await fakeLock({ pid: deadPid() });
    const n3 = await fakeLock({ hostname: 'elsewhere', pid: deadPid() }); // another host: PID says nothing
    const listed = await listLocks(a);
    expect(listed.map((l) => [l.name, l.stale])).toEqual(
      expect.arrayContaining([
        [n1, true],
        [n2, true],
        [n3, false],
      ]),
    );
    expect(listed.find((l) => l.name === n2)!.staleReason).toMatch(/process \d+ on this host is gone/);
    await expectLocked(lockRepository(a, 'shared'), /elsewhere/);
    await backend.remove({ type: 'lock', name: n3 });
    const x = await lockRepository(a, 'exclusive');
    await x.release();
    expect(await removeLocks(a)).toHaveLength(2);
    expect(lockFiles()).toHaveLength(0);
    // a live lock is removed only with all
    const live = await fakeLock({});
    expect(await removeLocks(a)).toEqual([]);
    expect(await removeLocks(a, { all: true })).toEqual([live]);
  });

  it('a lock refreshed in the future beyond the allowed clock skew is stale (a forged lock of the year 2100 blocks nothing)', async () => {
    const forged = await fakeLock({ hostname: 'elsewhere', pid: 4242, time: '2100-01-01T00:00:00Z', refreshed: '2100-01-01T00:00:00Z' });
    const [l] = await listLocks(a);
    expect(l).toMatchObject({ name: forged, stale: true });
    expect(l!.staleReason).toMatch(/in the future \(more than the 10 min clock skew allowed/);
    await (await lockRepository(a, 'exclusive')).release();
    // within the skew: live
    const soon = new Date(Date.now() + 5 * 60_000).toISOString();
    const skewed = await fakeLock({ hostname: 'elsewhere', pid: 4242, time: soon, refreshed: soon });
    await expectLocked(lockRepository(b, 'exclusive'), /elsewhere/);
    expect(await removeLocks(a)).toEqual([forged]);
    await backend.remove({ type: 'lock', name: skewed });
  });

  it('a lock of this host whose PID is not the process that took it, or not a stowage process, is stale', async () => {
    // PID 1 is alive, and is no stowage process (a forged or very old lock, no start time recorded)
    const init = await fakeLock({ pid: 1, start: undefined, boot: undefined });
    const [l] = await listLocks(a);
    expect(l!.stale, l!.staleReason).toBe(true);
    expect(l!.staleReason).toMatch(/process 1 on this host is (not a stowage process|another process now)/);
    await (await lockRepository(a, 'exclusive')).release();
    expect(await removeLocks(a)).toEqual([init]);
    // our own PID with our own start time: live; with another start time: PID reused
    const mine = await fakeLock({});
    await expectLocked(lockRepository(a, 'shared'), new RegExp(`held by PID ${process.pid}`));
    await backend.remove({ type: 'lock', name: mine });
    await fakeLock({ start: '1' });
    expect((await listLocks(a))[0]!.staleReason).toMatch(/another process now \(its PID was reused\)/);
  });

  it('staleReason', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const info: LockInfo = { exclusive: false, hostname: 'h', pid: 1, username: '', time: '2026-01-01T00:00:00Z', refreshed: '2026-01-01T00:31:00Z' };
    expect(staleReason(info, now, 30 * 60_000, 'other')).toBeUndefined();
    expect(staleReason({ ...info, refreshed: '2026-01-01T00:29:00Z' }, now, 30 * 60_000, 'other')).toMatch(/not refreshed for 31 min/);
    expect(staleReason({ ...info, refreshed: 'garbage' }, now, 30 * 60_000, 'other')).toMatch(/no valid refresh time/);
    expect(staleReason({ ...info, refreshed: '2026-01-01T01:09:00Z' }, now, 30 * 60_000, 'other')).toBeUndefined();
    expect(staleReason({ ...info, refreshed: '2026-01-01T01:11:00Z' }, now, 30 * 60_000, 'other')).toMatch(/11 min in the future/);
    // this host, through a probe
    const probe = (p: Partial<ProcessProbe>): ProcessProbe => ({ alive: () => true, start: () => '500', cmdline: () => 'node\0/usr/bin/stowage\0snapshot', bootId: () => 'boot-1', ...p });
    const here = { ...info, hostname: 'h', pid: 77 };
    expect(staleReason({ ...here, start: '500', boot: 'boot-1' }, now, 30 * 60_000, 'h', probe({}))).toBeUndefined();
    expect(staleReason({ ...here, start: '500', boot: 'boot-1' }, now, 30 * 60_000, 'h', probe({ alive: () => false }))).toMatch(/process 77 on this host is gone/);
    expect(staleReason({ ...here, start: '500', boot: 'boot-0' }, now, 30 * 60_000, 'h', probe({}))).toMatch(/before this host restarted/);
    expect(staleReason({ ...here, start: '499', boot: 'boot-1' }, now, 30 * 60_000, 'h', probe({}))).toMatch(/PID was reused/);
    expect(staleReason(here, now, 30 * 60_000, 'h', probe({}))).toBeUndefined(); // no start recorded, a stowage command line
    expect(staleReason(here, now, 30 * 60_000, 'h', probe({ cmdline: () => '/sbin/init\0' }))).toMatch(/not a stowage process \(\/sbin\/init\)/);
    expect(staleReason(here, now, 30 * 60_000, 'h', probe({ start: () => undefined, cmdline: () => undefined, bootId: () => undefined }))).toBeUndefined(); // no /proc: alive is all we know
  });

  it('an unreadable lock file (garbage, or a name that is not the BLAKE3 of its bytes) is ignored with a note, and unlock removes it', async () => {
    await backend.save({ type: 'lock', name: 'e'.repeat(64) }, Buffer.from('not json'));
    const t = new Date().toISOString();
    const valid = Buffer.from(JSON.stringify({ exclusive: true, hostname: 'elsewhere', pid: 9, username: '', time: t, refreshed: t }));
    await backend.save({ type: 'lock', name: 'd'.repeat(64) }, valid); // a live exclusive lock, misnamed
    const notes: string[] = [];
    const s = await lockRepository(a, 'exclusive', { onNote: (m) => notes.push(m) });
    await s.release();
    expect(notes).toHaveLength(2);
    expect(notes.join('\n')).toMatch(/ignoring lock file eeeeeeee, which cannot be read .*; "stowage unlock" removes it/);
    expect(notes.join('\n')).toMatch(/ignoring lock file dddddddd, which cannot be read \(lock dddddddd: its name is not the BLAKE3 of its content/);
    const listed = await listLocks(a);
    expect(listed.every((l) => l.error && !l.stale)).toBe(true);
    expect((await removeLocks(a)).sort()).toEqual(['d'.repeat(64), 'e'.repeat(64)]);
    expect(lockFiles()).toHaveLength(0);
  });

  it('lock files are named by the BLAKE3 of their bytes, also after a refresh', async () => {
    let now = Date.now();
    const l = await lockRepository(a, 'shared', { refreshMs: 20, now: () => now });
    const first = l.name;
    expect(blake3Hex(backend.files.get(`locks/${first}`)!)).toBe(first);
    now += 60_000;
    await new Promise((r) => setTimeout(r, 80));
    expect(l.name).not.toBe(first);
    expect(lockFiles()).toEqual([`locks/${l.name}`]);
    expect(blake3Hex(backend.files.get(`locks/${l.name}`)!)).toBe(l.name);
    await l.release();
    expect(lockFiles()).toHaveLength(0);
  });

  it('a waiting exclusive locker queues a request: new shared locks wait, so writers that never pause cannot starve gc', async () => {
    // three writers, each taking a shared lock again as soon as it let go of the last; their
    // locks overlap, so without the request there is never a moment with no shared lock
    const writers = await Promise.all([0, 1, 2].map(() => Repository.open(backend, { cacheRoot })));
    let stop = false;
    let holding = 0;
    let exclusiveHeld = false;
    let overlap = 0;
    const rounds = [0, 0, 0];
    const loops = writers.map(async (w, i) => {
      await new Promise((r) => setTimeout(r, i * 10));
      while (!stop) {
        const l = await lockRepository(w, 'shared', { retryMs: 60_000 });
        holding++;
        if (exclusiveHeld) overlap++;
        await new Promise((r) => setTimeout(r, 30));
        holding--;
        await l.release();
        rounds[i]!++;
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    const gc = await Repository.open(backend, { cacheRoot });
    await expectLocked(lockRepository(gc, 'exclusive')); // no waiting: refused, and no request left behind
    expect((await listLocks(gc)).some((l) => l.info?.request)).toBe(false);
    const t0 = Date.now();
    const x = await lockRepository(gc, 'exclusive', { retryMs: 20_000 });
    exclusiveHeld = true;
    const waited = Date.now() - t0;
    expect(holding).toBe(0);
    // while gc waits and holds, a shared locker that does not wait is refused, naming the holder
    const other = await Repository.open(backend, { cacheRoot });
    await expectLocked(lockRepository(other, 'shared'), /an exclusive lock/);
    expect((await listLocks(gc)).filter((l) => l.info?.request)).toEqual([]); // the request is gone once the lock is held
    await new Promise((r) => setTimeout(r, 100));
    exclusiveHeld = false;
    await x.release();
    const before = rounds.reduce((p, c) => p + c, 0);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    expect(overlap).toBe(0);
    expect(rounds.reduce((p, c) => p + c, 0)).toBeGreaterThan(before); // the writers went on afterwards
    expect(waited).toBeLessThan(10_000);
    expect(lockFiles()).toHaveLength(0);
  });

  it('a shared locker that does not wait is refused while an exclusive request is queued', async () => {
    const s = await lockRepository(a, 'shared');
    const gc = lockRepository(b, 'exclusive', { retryMs: 5_000 });
    await new Promise((r) => setTimeout(r, 150));
    const c = await Repository.open(backend, { cacheRoot });
    await expectLocked(lockRepository(c, 'shared'), /a request for the exclusive lock [0-9a-f]{8} by PID/);
    await s.release();
    await (await gc).release();
    await (await lockRepository(c, 'shared')).release();
    expect(lockFiles()).toHaveLength(0);
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
    // the commit point checks the lock too: a writer saves under the lock's signal
    await expectLocked(a.saveFile('snapshot', Buffer.from('{}'), { signal: l.signal }));
    await l.release();
    await a.saveFile('snapshot', Buffer.from('{}')); // no lock held: no guard
  });

  it("the lock's signal fires when the lock is lost (file removed by another process; refresh impossible for too long)", async () => {
    const l = await lockRepository(a, 'shared', { refreshMs: 20 });
    expect(l.signal.aborted).toBe(false);
    await backend.remove({ type: 'lock', name: l.name });
    // the refresher finds the file gone: the signal fires without anyone calling verify
    await new Promise<void>((resolve) => l.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(l.signal.reason).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/removed by another process/) });
    await l.release();

    let now = Date.now();
    const x = await lockRepository(a, 'exclusive', { refreshMs: 3_600_000, staleMs: 1000, now: () => now });
    const save = backend.save.bind(backend);
    backend.save = async () => {
      throw new Error('EIO');
    };
    now += 600;
    await expectLocked(x.verify(), /could not be refreshed/);
    expect(x.signal.aborted).toBe(true);
    expect(x.signal.reason).toMatchObject({ code: 'LOCKED' });
    backend.save = save;
    await x.release();
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

  it('a lost lock stops a snapshot before it commits: LOCKED, no snapshot file', async () => {
    const source = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(100_000, 1);
      await removeLocks(b, { all: true }); // another process removes every lock
      yield Buffer.alloc(100_000, 2);
    };
    await expectLocked(snapshotStream(a, source(), { kind: 'stdin', path: '-' }, { name: 'x', workers: 0 }));
    expect([...backend.files.keys()].filter((k) => k.startsWith('snapshots/'))).toEqual([]);
  });
});

describe('a lost lock stops every writer before its point of no return (issue 9 item 6)', () => {
  /** Makes the next listing of `type` first remove every lock, as `stowage unlock --remove-all` in another process would. */
  function loseLocksWhenListing(type: string): void {
    const list = backend.list.bind(backend);
    let done = false;
    backend.list = (t, o) => {
      if (t !== type || done) return list(t, o);
      done = true;
      return (async function* () {
        await removeLocks(b, { all: true });
        yield* list(t, o);
      })();
    };
  }
  const files = (prefix: string) => [...backend.files.keys()].filter((k) => k.startsWith(prefix)).sort();
  async function twoSnapshots(): Promise<string[]> {
    const ids: string[] = [];
    for (const n of [1, 2])
      ids.push(
        (
          await snapshotStream(
            a,
            (async function* () {
              yield Buffer.alloc(200_000, n);
            })(),
            { kind: 'stdin', path: '-' },
            { name: `s${n}`, workers: 0 },
          )
        ).id,
      );
    return ids;
  }

  it('forget: LOCKED, no snapshot file removed', async () => {
    const ids = await twoSnapshots();
    const before = files('snapshots/');
    loseLocksWhenListing('snapshot');
    await expectLocked(forget(a, { ids }));
    expect(files('snapshots/')).toEqual(before);
  });

  it('repair index: LOCKED, no old index file removed', async () => {
    await twoSnapshots();
    const before = files('index/');
    expect(before.length).toBeGreaterThan(0);
    loseLocksWhenListing('pack');
    await expectLocked(repairIndex(a));
    for (const f of before) expect(backend.files.has(f), f).toBe(true);
  });

  it('gc: LOCKED, no pack or index file removed', async () => {
    const ids = await twoSnapshots();
    await forget(a, { ids: [ids[0]!] });
    const packs = files('data/');
    const index = files('index/');
    loseLocksWhenListing('pack');
    await expectLocked(gc(a));
    expect(files('data/')).toEqual(expect.arrayContaining(packs));
    expect(files('index/')).toEqual(expect.arrayContaining(index));
  });

  it('key changes: removing a key or changing the password under a lost lock is LOCKED and removes no key file; adding one takes a lock', async () => {
    const enc = new MemoryBackend();
    const x = await Repository.init(enc, { cacheRoot, password: 'one', kdf: TEST_KDF });
    const y = await Repository.open(enc, { cacheRoot, password: 'one' });
    try {
      const added = await addKeyLocked(x, 'two', { kdf: TEST_KDF });
      expect([...enc.files.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]); // released
      const keys = () => [...enc.files.keys()].filter((k) => k.startsWith('keys/')).sort();
      const before = keys();
      expect(before).toHaveLength(2);
      // another process removes every lock right after this one takes its lock
      const save = enc.save.bind(enc);
      enc.save = async (h, parts, o) => {
        await save(h, parts, o);
        if (h.type === 'lock') await removeLocks(y, { all: true });
      };
      await expectLocked(removeKeyLocked(x, added.name));
      await expectLocked(changePasswordLocked(x, 'three', { kdf: TEST_KDF }));
      expect(keys()).toEqual(before);
      enc.save = save;
      expect(await removeKeyLocked(x, added.name)).toBe(added.name);
      expect(keys()).toHaveLength(1);
    } finally {
      await y.close();
      await x.close();
    }
  });

  it('lock state belongs to the repository object: two objects of one repository do not share a lock', async () => {
    const l = await lockRepository(a, 'shared');
    await expectLocked(lockRepository(b, 'exclusive'));
    await l.release();
    const x = await lockRepository(b, 'exclusive');
    await expectLocked(lockRepository(a, 'shared'));
    await x.release();
  });
});

describe('the first lock listing taken while the repository opens (listLocksEarly, remote repositories)', () => {
  /** The shared memory backend, named like an S3 location, counting its lock listings. */
  function remote(): { view: MemoryBackend; lists: () => number } {
    let n = 0;
    const view = Object.assign(Object.create(backend) as MemoryBackend, {
      info: { ...backend.info, location: 's3:http://127.0.0.1:9/locks-early' },
      list: (type: Parameters<MemoryBackend['list']>[0], o?: Parameters<MemoryBackend['list']>[1]) => {
        if (type === 'lock') n++;
        return backend.list(type, o);
      },
    });
    return { view, lists: () => n };
  }

  it('the lock uses it for its first look (one listing fewer after the key), and still sees a conflicting lock taken after it', async () => {
    const { view, lists } = remote();
    const early = await Repository.open(view, { cacheRoot, listLocksEarly: true });
    expect(lists()).toBe(1); // listed while opening
    const l = await lockRepository(early, 'shared');
    expect(lists()).toBe(2); // the early listing, then the look after our file was written
    await l.release();
    const plain = await Repository.open(view, { cacheRoot });
    await (await lockRepository(plain, 'shared')).release();
    expect(lists()).toBe(4); // without it: before and after
    // an exclusive lock taken after the early listing: the look after our own file finds it
    const late = await Repository.open(view, { cacheRoot, listLocksEarly: true });
    const x = await lockRepository(a, 'exclusive');
    await expectLocked(lockRepository(late, 'shared'));
    expect(lockFiles()).toEqual([`locks/${x.name}`]); // ours was removed again
    await x.release();
    await (await lockRepository(late, 'shared')).release(); // the retry lists afresh
    // and a local repository lists nothing early
    await Repository.open(backend, { cacheRoot, listLocksEarly: true });
    expect(lists()).toBe(8);
    await Promise.all([early.close(), plain.close(), late.close()]);
  });
});
