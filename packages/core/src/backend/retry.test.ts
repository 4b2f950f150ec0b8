/**
 * Retries on the memory backend through the fault-injecting wrapper: transient faults (throttling
 * bursts, 5xx, resets, timeouts, truncated reads) are retried with growing, jittered waits;
 * permanent ones never; nothing starts after an abort; bodies go again from their start.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { code } from '../testing/backend-suite.js';
import { faulty, type FaultRule } from './faulty.js';
import { limited } from './limit.js';
import { MemoryBackend } from './memory.js';
import { retrying, type RetryEvent } from './retry.js';

const pack = { type: 'pack' as const, name: 'abcd' };
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 256));

function setup(rules: FaultRule[], opts: { retries?: number; random?: () => number } = {}) {
  const mem = new MemoryBackend();
  const f = faulty(mem, rules);
  const events: RetryEvent[] = [];
  const b = retrying(f, { baseMs: 2, capMs: 40, random: opts.random ?? (() => 0.5), retries: opts.retries ?? 6, onRetry: (e) => events.push(e) });
  return { mem, f, b, events };
}

describe('retrying', () => {
  it('rides out a throttling burst with exponential, capped backoff and stores the whole body', async () => {
    const { mem, f, b, events } = setup([{ op: 'save', error: 'SLOWDOWN', times: 5 }]);
    const data = bytes(10_000);
    await b.save(pack, data);
    expect(f.injected).toBe(5);
    expect(events.map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => e.delayMs)).toEqual([1, 2, 4, 8, 16]); // 0.5 * min(40, 2 * 2^n)
    expect(Buffer.from(mem.files.get('data/ab/abcd')!).equals(data)).toBe(true);
  });

  it('jitters the waits (full jitter in [0, ceiling))', async () => {
    let i = 0;
    const randoms = [0.1, 0.9, 0.3];
    const { b, events } = setup([{ op: 'stat', error: 'HTTP500', times: 3 }], { random: () => randoms[i++]! });
    await b.save(pack, bytes(3));
    await b.stat(pack);
    expect(events.map((e) => e.delayMs)).toEqual([0, 3, 2]); // floor(r * 2), floor(r * 4), floor(r * 8)
  });

  it.each(['SLOWDOWN', 'HTTP500', 'RESET', 'TIMEOUT', 'EIO'] as const)('retries %s', async (error) => {
    const { b, f } = setup([{ op: 'load', error, times: error === 'TIMEOUT' ? 1 : 2 }]);
    await b.save(pack, bytes(100));
    expect(Buffer.from(await b.load(pack)).equals(bytes(100))).toBe(true);
    expect(f.injected).toBe(error === 'TIMEOUT' ? 1 : 2);
  });

  it('tries a call that times out twice, not `retries` times: a server that never answers fails the call in two idle timeouts', async () => {
    const { b, f, events } = setup([{ op: 'load', error: 'TIMEOUT', delayMs: 1 }]);
    await b.save(pack, bytes(100));
    const err = await b.load(pack).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND') && err.retryable && err.timedOut).toBe(true);
    expect(f.injected).toBe(2);
    expect(events.length).toBe(1);
    // listings too
    const l = setup([{ op: 'list', error: 'TIMEOUT', delayMs: 1 }]);
    const listed = await (async () => {
      for await (const _ of l.b.list('pack')) void _;
    })().catch((e: unknown) => e);
    expect(isStowageError(listed, 'BACKEND') && listed.timedOut).toBe(true);
    expect(l.f.injected).toBe(2);
  });

  it('timeouts mixed with other transient failures: only the timeouts count against timeoutAttempts', async () => {
    const mem = new MemoryBackend();
    const f = faulty(mem, [
      { op: 'stat', error: 'SLOWDOWN', times: 3 },
      { op: 'stat', error: 'TIMEOUT', delayMs: 1, times: 2 },
    ]);
    const b = retrying(f, { baseMs: 1, capMs: 2, timeoutAttempts: 3 });
    await b.save(pack, bytes(10));
    expect((await b.stat(pack)).size).toBe(10); // 3 throttles + 2 timeouts, then an answer
    expect(f.injected).toBe(5);
  });

  it.each(['FORBIDDEN', 'ENOENT', 'EACCES', 'ENOSPC'] as const)('never retries the permanent %s', async (error) => {
    const { b, f, events } = setup([{ op: 'load', error }]);
    await b.save(pack, bytes(100));
    expect(await code(b.load(pack))).toBe(error === 'ENOENT' ? 'NOT_FOUND' : 'BACKEND');
    expect(f.injected).toBe(1);
    expect(events).toEqual([]);
  });

  it('does not retry ALREADY_EXISTS, NOT_FOUND or CORRUPT from the store', async () => {
    const { b, events } = setup([]);
    await b.save(pack, bytes(10));
    expect(await code(b.save(pack, bytes(10)))).toBe('ALREADY_EXISTS');
    expect(await code(b.load({ type: 'pack', name: 'ffff' }))).toBe('NOT_FOUND');
    expect(await code(b.load(pack, { offset: 5, length: 10 }))).toBe('CORRUPT');
    expect(events).toEqual([]);
  });

  it('gives up after `retries` with the last transient error', async () => {
    const { b, f } = setup([{ op: 'stat', error: 'SLOWDOWN' }], { retries: 3 });
    const err = await b.stat(pack).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND') && err.retryable).toBe(true);
    expect(f.injected).toBe(4);
  });

  it('a truncated ranged read is read again into the caller buffer from its start', async () => {
    const { b, f } = setup([{ op: 'load', error: 'TRUNCATED', times: 2 }]);
    const data = bytes(5000);
    await b.save(pack, data);
    const target = new Uint8Array(new SharedArrayBuffer(2000));
    await b.loadInto!(pack, { offset: 1000, length: 2000 }, target);
    expect(Buffer.from(target).equals(data.subarray(1000, 3000))).toBe(true);
    expect(f.injected).toBe(2);
  });

  it('a save whose answer was lost succeeds on retry (the file is there with the same size)', async () => {
    const { b, mem, events } = setup([{ op: 'save', error: 'RESET', landed: true, nth: 1 }]);
    await b.save(pack, bytes(64));
    expect(events.length).toBe(1);
    expect(mem.files.size).toBe(1);
    // but a first attempt that finds another file of that name is still ALREADY_EXISTS
    expect(await code(b.save(pack, bytes(64)))).toBe('ALREADY_EXISTS');
  });

  it('retries a failed listing without giving a name twice', async () => {
    const { b } = setup([{ op: 'list', error: 'SLOWDOWN', times: 2 }]);
    for (const n of ['aa01', 'bb02', 'cc03']) await b.save({ type: 'pack', name: n }, bytes(1));
    const names: string[] = [];
    for await (const fi of b.list('pack')) names.push(fi.name);
    expect(names.sort()).toEqual(['aa01', 'bb02', 'cc03']);
  });

  it('starts no retry once the signal is aborted: the wait ends with ABORTED', async () => {
    const mem = new MemoryBackend();
    const f = faulty(mem, [{ op: 'save', error: 'SLOWDOWN' }]);
    const b = retrying(f, { baseMs: 10_000, capMs: 10_000, random: () => 0.99 });
    const ac = new AbortController();
    const p = b.save(pack, bytes(8), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    const t0 = Date.now();
    const err = await p.catch((e: unknown) => e);
    expect(isStowageError(err, 'ABORTED')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(f.injected).toBe(1);
    // an already aborted signal: not even a first attempt
    expect(await code(b.save(pack, bytes(8), { signal: ac.signal }))).not.toBe('ok');
    expect(f.injected).toBe(1);
  });

  it("the backend's signal (a command's SIGINT) aborts the calls in flight, with or without a signal of their own; later calls run", async () => {
    const mem = new MemoryBackend();
    const seen: (AbortSignal | undefined)[] = [];
    // a server that accepts and never answers: the call ends only through its signal
    mem.load = (_h, _r, o) => {
      seen.push(o?.signal);
      return new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    };
    mem.isEmpty = (o) => mem.load(pack, undefined, o).then(() => true);
    const life = new AbortController();
    const b = retrying(mem, { signal: life.signal });
    const own = new AbortController();
    const calls = [b.load(pack), b.isEmpty(), b.load(pack, undefined, { signal: own.signal }), b.load(pack, undefined, { signal: life.signal })];
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.every((s) => s instanceof AbortSignal)).toBe(true);
    life.abort(new Error('SIGTERM'));
    const t0 = Date.now();
    const results = await Promise.allSettled(calls);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    // a call made after it fired (the interrupted command's cleanup: its lock's release) runs
    mem.load = MemoryBackend.prototype.load.bind(mem);
    await mem.save(pack, bytes(5));
    expect((await b.stat(pack)).size).toBe(5);
    expect((await b.load(pack)).length).toBe(5);
    // but not one that passes the fired signal as its own
    expect(await code(b.stat(pack, { signal: life.signal }))).toBe('ABORTED');
    // the call's own signal still works alone, and a finished call leaves no listener on the long-lived one
    const life2 = new AbortController();
    const silent = new MemoryBackend();
    silent.load = (_h, _r, o) => new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const b2 = retrying(silent, { signal: life2.signal });
    const own2 = new AbortController();
    const p = b2.load(pack, undefined, { signal: own2.signal });
    await new Promise((r) => setTimeout(r, 10));
    own2.abort();
    expect((await Promise.allSettled([p]))[0]!.status).toBe('rejected');
    expect(life2.signal.aborted).toBe(false);
    expect(getEventListeners(life2.signal, 'abort').length).toBe(0);
  });

  it("many calls at once on the backend's signal (a restore's reads waiting for a connection) raise no listener warning", async () => {
    const g = gated();
    const life = new AbortController();
    const own = () => new AbortController().signal; // a call's own signal, joined to the backend's
    const b = retrying(limited(g.mem, 2), { signal: life.signal });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const saves = Array.from({ length: 24 }, (_, i) => b.save({ type: 'pack', name: `ee${i}` }, bytes(4), i % 2 ? { signal: own() } : undefined));
      await new Promise((r) => setTimeout(r, 20));
      expect(getEventListeners(life.signal, 'abort').length).toBeGreaterThan(10);
      g.release();
      await Promise.all(saves);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(getEventListeners(life.signal, 'abort').length).toBe(0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

/** A memory backend whose pack saves wait for `release()`. */
function gated() {
  const mem = new MemoryBackend();
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let running = 0;
  let peak = 0;
  const save = mem.save.bind(mem);
  mem.save = async (h, d, o) => {
    running++;
    peak = Math.max(peak, running);
    try {
      if (h.type === 'pack') await gate;
      return await save(h, d, o);
    } finally {
      running--;
    }
  };
  return { mem, release: () => open(), peak: () => peak };
}

describe('connection limit', () => {
  it('runs at most `connections` operations at once, the rest in order', async () => {
    const g = gated();
    const b = limited(g.mem, 3);
    const saves = Array.from({ length: 10 }, (_, i) => b.save({ type: 'pack', name: `aa${i}` }, bytes(4)));
    await new Promise((r) => setTimeout(r, 20));
    expect(g.peak()).toBe(3);
    g.release();
    await Promise.all(saves);
    expect(b.slots.peak).toBe(3);
    expect(g.mem.files.size).toBe(10);
  });

  it('never starves lock refreshes: a lock save goes out while every data slot is busy', async () => {
    const g = gated();
    const b = retrying(limited(g.mem, 2));
    const packs = Array.from({ length: 6 }, (_, i) => b.save({ type: 'pack', name: `bb${i}` }, bytes(4)));
    await new Promise((r) => setTimeout(r, 10));
    await b.save({ type: 'lock', name: 'l1' }, bytes(2));
    await b.save({ type: 'lock', name: 'l1' }, bytes(3), { overwrite: true });
    expect(g.mem.files.get('locks/l1')!.length).toBe(3);
    expect(g.mem.files.size).toBe(1); // the packs still wait
    g.release();
    await Promise.all(packs);
  });

  it('a wait for a slot ends with the signal (ABORTED)', async () => {
    const g = gated();
    const b = limited(g.mem, 1);
    const first = b.save({ type: 'pack', name: 'cc0' }, bytes(1));
    const ac = new AbortController();
    const second = b.save({ type: 'pack', name: 'cc1' }, bytes(1), { signal: ac.signal });
    ac.abort();
    expect(await code(second)).toBe('ABORTED');
    g.release();
    await first;
    expect([...g.mem.files.keys()]).toEqual(['data/cc/cc0']);
  });

  it('a listing holds no slot while the caller handles an entry', async () => {
    const mem = new MemoryBackend();
    const b = limited(mem, 1);
    for (const n of ['dd01', 'dd02']) await b.save({ type: 'pack', name: n }, bytes(1));
    const seen: string[] = [];
    for await (const f of b.list('pack')) {
      seen.push(f.name);
      await b.stat({ type: 'pack', name: f.name }); // would deadlock if the listing held the slot
    }
    expect(seen.sort()).toEqual(['dd01', 'dd02']);
  });
});
