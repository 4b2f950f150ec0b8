/**
 * Output conventions of every command (one place, so they stay the same everywhere):
 *
 * - stdout carries what was asked for: tables, listings, restored bytes, and with --json
 *   one JSON document (or JSON lines, one object per line, where a command streams:
 *   `ls --files --json`). JSON keys are camelCase everywhere (`shortId`, `bytesRead`).
 * - summaries ("snapshot ... saved", "restored ...", gc's plan) go to stdout too, but not
 *   with -q; notes go to stderr, not with -q; -v adds detail lines on stderr.
 * - warnings ("stowage: warning: ..."; with --json `{"warning":{"message":...}}`) and errors
 *   (`stowage: <message> [CODE]`; with --json `{"error":{"code":...,"message":...}}`) go to
 *   stderr, always: -q hides neither.
 * - a closed stdout (`stowage snapshots | head -2`) stops the command quietly: the
 *   operation is aborted, its locks released, and the exit code is 141 (128 + SIGPIPE, as
 *   restic and the shell report it).
 */
import type { Writable } from 'node:stream';
import { jsonText } from './escape.js';

export const EXIT_CLOSED_PIPE = 141;

/** True when `argv` asks for JSON output (also before commander has parsed it: argument errors). */
export function argvWantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Watches stdout for a closed pipe: on EPIPE (or any write error) `onClosed` runs once and
 * further writes are dropped. Without a listener Node would crash with "Unhandled 'error'
 * event", leaving lock files behind.
 */
export class StdoutGuard {
  closed = false;
  /** The error of a failed stdout that is not a closed pipe (a full disk). */
  failure: NodeJS.ErrnoException | undefined;

  constructor(
    private readonly stream: Writable,
    private readonly onClosed: (err: NodeJS.ErrnoException) => void,
  ) {
    stream.on('error', this.listener);
  }

  private readonly listener = (err: NodeJS.ErrnoException): void => {
    if (this.closed) return;
    this.closed = true;
    if (err.code !== 'EPIPE') this.failure = err;
    this.onClosed(err);
  };

  write(s: string): void {
    if (!this.closed) this.stream.write(s);
  }

  /** Waits until what was written has been handed to the OS (a closed pipe shows up by then). */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.write('', () => setImmediate(resolve));
    });
  }

  dispose(): void {
    // keep a listener: a late EPIPE (after the command ended) must not crash the process either
    this.stream.off('error', this.listener);
    this.stream.on('error', () => undefined);
  }
}

/** One JSON line for stderr: a warning object. */
export function jsonWarning(message: string): string {
  return jsonText({ warning: { message } });
}
