/**
 * The process around the CLI: the exit code comes from `main` once it settles, and no
 * other way. A `main` that never settles (the event loop emptied while it still waited:
 * a lost wake-up, a worker that never answered) would otherwise end the process with
 * exit 0 as if the command had completed; here it is an error exit with a message.
 */
import { writeSync } from 'node:fs';
import { EXIT_ERROR } from './exit-codes.js';
import { recordInternalError } from './internal-log.js';
import { jsonText, oneLine } from './escape.js';

/** The message printed when the process is about to end while the command is unfinished. */
export const UNFINISHED_MESSAGE = 'the command stopped before it finished (it was left waiting for work that never completed); its result is unknown';

/**
 * Runs `command` as the process's one job: process.exitCode is its result; a rejection
 * (which main never does on purpose) and a promise still pending when the process is
 * about to exit both become exit 1 with a line on stderr (a JSON object with `json`).
 *
 * Once the command settled and the event loop has emptied (node's 'beforeExit': nothing is
 * left in flight, so nothing can be cut short), the process exits at once: the 'exit'
 * listeners run as always (the code cache, the timeline), but node's own teardown (freeing the
 * heap, disposing the isolate and its platform threads), 3 ms of every command's wall time
 * here (native-bench/README.md, "Repeat snapshots and the key derivation: session of
 * 2026-11-30 (hrep)"), is left to the operating system.
 */
export function runToExit(command: () => Promise<number>, opts: { json?: boolean } = {}): void {
  let settled = false;
  const fail = (message: string, err?: unknown): void => {
    recordInternalError(message, err);
    const line = opts.json ? jsonText({ error: { code: 'INTERNAL', message } }) : `stowage: ${oneLine(message)} [INTERNAL]\nstowage: this is a bug; run with --debug for details`;
    try {
      writeSync(2, line + '\n'); // synchronous: this may run in the 'exit' event
    } catch {
      // stderr closed: the exit code still says it
    }
    process.exitCode = EXIT_ERROR;
  };
  process.once('exit', () => {
    if (!settled) fail(UNFINISHED_MESSAGE);
  });
  const exitWhenIdle = (): void => {
    process.once('beforeExit', () => process.exit());
  };
  command().then(
    (code) => {
      settled = true;
      process.exitCode = code;
      exitWhenIdle();
    },
    (err: unknown) => {
      settled = true;
      fail(`unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, err);
      exitWhenIdle();
    },
  );
}
