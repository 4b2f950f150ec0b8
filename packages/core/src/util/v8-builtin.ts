/**
 * A V8 built-in that only exists behind a flag (`gc` behind --expose-gc, Node 20's
 * `ArrayBuffer.prototype.transfer` behind --harmony-rab-gsab-transfer), reached without
 * leaving the flag on: the flag is turned on, a new context is made (node:vm; V8 installs
 * such built-ins when a context is created), the built-in is taken from it, and the flag is
 * turned off again, so that V8's flags are the process's own again (V8 checks a code cache
 * against them: cli/src/code-cache.ts).
 *
 * V8's flags are shared by every thread of the process: two threads reaching at once (codec
 * workers start together) could turn the flag off between the other's "on" and its new
 * context, and that thread then went without the built-in for its whole life (a worker
 * without `gc` never collected its dead buffers early: restore peaks 25-30 MB higher, in
 * about one run in three). So a failed attempt is retried.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const ATTEMPTS = 50;

/** The value of `expression` in a new context made with V8 flag `flag` (e.g. '--expose-gc') on; undefined where that cannot be done. */
export function reachFlagged(flag: string, expression: string): unknown {
  const off = flag.replace(/^--/, '--no-');
  for (let i = 0; i < ATTEMPTS; i++) {
    try {
      setFlagsFromString(flag);
      const value: unknown = runInNewContext(expression);
      if (value !== undefined) return value;
    } catch {
      return undefined; // flags cannot be set, or the expression fails, here: nothing to reach
    } finally {
      try {
        setFlagsFromString(off);
      } catch {
        // as above
      }
    }
  }
  return undefined;
}
