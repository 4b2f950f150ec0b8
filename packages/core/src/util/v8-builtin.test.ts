import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { reachFlagged } from './v8-builtin.js';

/** The built module (workers cannot load TypeScript): `pnpm run -s build` first. */
const dist = pathToFileURL(fileURLToPath(new URL('../../dist/util/v8-builtin.js', import.meta.url))).href;

describe('reachFlagged', () => {
  it('gives a built-in from behind its flag, and leaves the flag off', () => {
    const gc = reachFlagged('--expose-gc', 'typeof gc === "function" ? gc : undefined');
    expect(typeof gc).toBe('function');
    (gc as () => void)();
    expect(getHeapStatistics().total_heap_size).toBeGreaterThan(0);
    expect(() => new Function('return gc')()).toThrow(ReferenceError); // this context never got it
    expect(reachFlagged('--expose-gc', 'undefined')).toBeUndefined();
  });

  it('every thread gets it when many reach at once (V8 flags are process-wide: one thread turning a flag off must not leave another without)', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData).then(({ reachFlagged }) => {
        let got = 0;
        for (let i = 0; i < 200; i++) {
          const gc = reachFlagged('--expose-gc', 'typeof gc === "function" ? gc : undefined');
          const t = reachFlagged('--harmony-rab-gsab-transfer', 'ArrayBuffer.prototype.transfer');
          if (typeof gc === 'function' && typeof t === 'function') got++;
        }
        parentPort.postMessage(got);
      });`;
    const runs = Array.from({ length: 6 }, () => {
      const w = new Worker(code, { eval: true, workerData: dist });
      return new Promise<number>((resolve, reject) => {
        w.once('message', (n: number) => void w.terminate().then(() => resolve(n)));
        w.once('error', reject);
      });
    });
    expect(await Promise.all(runs)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
