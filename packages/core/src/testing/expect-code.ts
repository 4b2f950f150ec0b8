/**
 * Library tests of error paths (issue 14, item 5): an operation that fails on bad input,
 * damage or the environment must throw a StowageError with a stable code, never a plain
 * Error (which the CLI reports as "this is a bug"). `expectCode` asserts exactly that.
 */
import { expect } from 'vitest';
import { StowageError, type ErrorCode } from '../errors.js';

/**
 * Awaits `p` (a promise, or a function called here, sync or async), which must fail with a
 * StowageError of `code` whose message matches `message` when given; returns the error.
 */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp | string): Promise<StowageError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a StowageError ${code}, but it did not fail`).toBeDefined();
  expect(err, `expected a StowageError ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`).toBeInstanceOf(StowageError);
  const e = err as StowageError;
  expect(e.code, e.message).toBe(code);
  if (message !== undefined) expect(e.message).toMatch(message);
  return e;
}
