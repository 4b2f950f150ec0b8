/**
 * The fault injector's faults that are not plain errors: a seeded `chance` (the same calls
 * fail on every run of a seed), DELAY (a late answer, then the bytes), HANG (no answer until
 * the call's signal fires, or its idle timeout runs out).
 */
import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { prng } from '../testing/prng.js';
import { faulty } from './faulty.js';
import { MemoryBackend } from './memory.js';

const h = { type: 'pack' as const, name: 'a'.repeat(64) };

async function withFile(): Promise<MemoryBackend> {
  const mem = new MemoryBackend();
  await mem.save(h, Buffer.from('0123456789'));
  return mem;
}

/** Which of `n` loads fail (1) or not (0). */
async function failures(b: ReturnType<typeof faulty>, n: number): Promise<string> {
  let out = '';
  for (let i = 0; i < n; i++)
    out += await b.load(h).then(
      () => '0',
      () => '1',
    );
  return out;
}

describe('faulty', () => {
  it('a rule with a chance fires on about that share of its calls, the same ones for the same seed', async () => {
    const mem = await withFile();
    const run = (seed: number) => failures(faulty(mem, [{ op: 'load', error: 'HTTP500', chance: 0.25 }], { random: prng(seed) }), 200);
    const a = await run(1);
    expect(a).toBe(await run(1));
    expect(a).not.toBe(await run(2));
    const fired = a.split('').filter((c) => c === '1').length;
    expect(fired).toBeGreaterThan(25);
    expect(fired).toBeLessThan(75);
  });

  it('DELAY answers late, with the bytes', async () => {
    const b = faulty(await withFile(), [{ op: 'load', error: 'DELAY', delayMs: 40 }]);
    const t0 = performance.now();
    expect(Buffer.from(await b.load(h, { offset: 2, length: 3 })).toString()).toBe('234');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    const into = Buffer.alloc(3);
    await b.loadInto!(h, { offset: 5, length: 3 }, into);
    expect(into.toString()).toBe('567');
    expect(b.injected).toBe(2);
  });

  it("HANG never answers: the call ends with its signal (ABORTED, the signal's reason when typed), or with its idle timeout (a retryable TIMEOUT)", async () => {
    const mem = await withFile();
    const hang = faulty(mem, [{ op: 'load', error: 'HANG' }]);
    const ac = new AbortController();
    const p = hang.load(h, undefined, { signal: ac.signal });
    let settled = false;
    void p.catch(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    const idle = faulty(mem, [{ op: 'load', error: 'HANG', delayMs: 30 }]);
    const err = await idle.load(h).catch((e: unknown) => e);
    expect(isStowageError(err, 'BACKEND') && err.retryable && err.timedOut).toBe(true);
  });
});
