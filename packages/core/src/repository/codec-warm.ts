/**
 * Codec worker threads started before their codec is known: a command that will decode or
 * encode starts them while the password's key derivation runs (scrypt, about 0.2 s on one
 * core, with the other core idle once the program is loaded), and the codec pool takes them
 * once the repository is open, sending the codec spec (keys included) as their first message.
 * A worker's start (an isolate, its script, zstd and BLAKE3) costs about 45 ms of CPU, and a
 * restore used to start its two only after the key was known.
 *
 * The started workers are kept on globalThis, so a separately bundled entry (the CLI loads a
 * small prefetch bundle before its main one) and the pool share them. They are unref'd: an
 * unused one never keeps the process alive.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

interface WarmWorker {
  readonly worker: Worker;
  failed: boolean;
}

const WARM = Symbol.for('@stowage/core/warm-codec-workers');
const warm: WarmWorker[] = ((globalThis as Record<symbol, unknown>)[WARM] ??= []) as WarmWorker[];

/**
 * Starts codec workers without a codec, until `count` are waiting (those started earlier
 * and not yet taken count). Best effort: a worker that fails to start is dropped, and the
 * pool then starts its own.
 */
export function prestartCodecWorkers(count: number): void {
  for (let i = warm.filter((w) => !w.failed).length; i < count; i++) {
    try {
      const worker = new Worker(workerUrl());
      const w: WarmWorker = { worker, failed: false };
      // until a pool takes it (and listens itself), a failure only marks it
      worker.once('error', () => (w.failed = true));
      worker.once('exit', () => (w.failed = true));
      worker.unref();
      warm.push(w);
    } catch {
      return;
    }
  }
}

/** Codec workers started and not yet taken (diagnostics, tests). */
export function warmCodecWorkers(): number {
  return warm.filter((w) => !w.failed).length;
}

/**
 * A started worker waiting for its codec, or undefined: the taker posts `{ op: 'init', spec }`
 * first and listens for its errors from then on.
 */
export function takeWarmWorker(): Worker | undefined {
  for (let w = warm.shift(); w; w = warm.shift()) {
    if (!w.failed) {
      w.worker.removeAllListeners('error');
      w.worker.removeAllListeners('exit');
      return w.worker;
    }
    void w.worker.terminate();
  }
  return undefined;
}

/** Stops the workers still waiting (a library user that started them and will not use them). */
export async function stopWarmWorkers(): Promise<void> {
  const all = warm.splice(0);
  await Promise.all(all.map((w) => w.worker.terminate()));
}

/**
 * The compiled worker script: the CLI bundle's CommonJS worker beside it (scripts/bundle.mjs:
 * it starts faster), else the module beside this one (tests run sources, so fall back to dist).
 */
export function workerUrl(): URL {
  const bundled = new URL('./codec-worker.cjs', import.meta.url);
  if (existsSync(bundled)) return bundled;
  const here = new URL('./codec-worker.js', import.meta.url);
  if (existsSync(here)) return here;
  return new URL('../../dist/repository/codec-worker.js', import.meta.url);
}
