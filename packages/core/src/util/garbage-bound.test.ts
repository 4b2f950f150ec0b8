import { describe, expect, it } from 'vitest';
import { GarbageBound, exposedGc, type Gc } from './garbage-bound.js';

const MiB = 1024 * 1024;

/** A collector that records what it was asked to run. */
function recorder(): { gc: Gc; runs: string[] } {
  const runs: string[] = [];
  return { gc: (o) => runs.push(o?.type ?? 'major'), runs };
}

describe('GarbageBound', () => {
  it('scavenges after every `minor` bytes and runs a full collection after every `major` bytes instead', () => {
    const { gc, runs } = recorder();
    const bound = new GarbageBound(4 * MiB, 16 * MiB, gc);
    bound.add(3 * MiB);
    expect(runs).toEqual([]);
    bound.add(MiB); // 4 MiB
    expect(runs).toEqual(['minor']);
    bound.add(8 * MiB); // 12 MiB: one scavenge for the 8 MiB since the last
    expect(runs).toEqual(['minor', 'minor']);
    bound.add(4 * MiB); // 16 MiB: the full collection, not a scavenge
    expect(runs).toEqual(['minor', 'minor', 'major']);
    bound.add(3 * MiB); // both counts start over after a full collection
    expect(runs).toEqual(['minor', 'minor', 'major']);
    bound.add(MiB);
    expect(runs).toEqual(['minor', 'minor', 'major', 'minor']);
  });

  it('with one limit, runs full collections only', () => {
    const { gc, runs } = recorder();
    const bound = new GarbageBound(16 * MiB, undefined, gc);
    for (let i = 0; i < 8; i++) bound.add(4 * MiB);
    expect(runs).toEqual(['major', 'major']);
  });

  it("reaches V8's collector, which frees dead buffers (after its background sweep)", async () => {
    const gc = exposedGc();
    expect(gc).toBeTypeOf('function');
    let dead: Buffer[] | undefined = Array.from({ length: 16 }, (_, i) => Buffer.allocUnsafeSlow(MiB).fill(i));
    expect(dead).toHaveLength(16);
    dead = undefined;
    new GarbageBound(16 * MiB, 16 * MiB, gc).add(16 * MiB);
    await new Promise((r) => setTimeout(r, 50));
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(8 * MiB);
    expect(() => gc!({ type: 'minor' })).not.toThrow();
  });

  it('looks the collector up once per thread (one context for every bound)', () => {
    expect(exposedGc()).toBe(exposedGc());
  });
});
