/**
 * A record of every "this is a bug" the CLI prints. When STOWAGE_INTERNAL_ERROR_LOG names a
 * file, each error without a code (reported as INTERNAL) is appended to it as one JSON line
 * {pid, argv, message, stack}, whatever the output mode (human, --json, --debug). The test
 * suite sets it for every CLI process it starts and fails when the file is not empty at the
 * end (test/helpers/global-setup.ts), so no error path of the suite can end in "this is a
 * bug" unnoticed. Unset (the normal case) it does nothing.
 */
import { appendFileSync } from 'node:fs';

export const INTERNAL_ERROR_LOG_ENV = 'STOWAGE_INTERNAL_ERROR_LOG';

/** Appends one record of an internal error to the log named by STOWAGE_INTERNAL_ERROR_LOG, if any. */
export function recordInternalError(message: string, err?: unknown): void {
  const file = process.env[INTERNAL_ERROR_LOG_ENV];
  if (!file) return;
  const stack = err instanceof Error ? err.stack : undefined;
  try {
    appendFileSync(file, JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), message, stack }) + '\n'); // synchronous: may run in 'exit'
  } catch {
    // the log is a diagnostic aid: never a reason for another failure
  }
}
