/**
 * Progress on stderr, only when stderr is a TTY and not --quiet/--json (as restic and borg do).
 */
import type { ProgressEvent, ProgressFn } from '@stowage/core';
import type { Context } from './context.js';
import { formatBytes } from './format.js';

export function progressFor(ctx: Context): { fn: ProgressFn | undefined; done(): void } {
  if (!ctx.stderr.isTTY || ctx.opts.quiet || ctx.opts.json) return { fn: undefined, done: () => undefined };
  let last = 0;
  const t0 = performance.now();
  let shown = false;
  const fn = (e: ProgressEvent) => {
    const now = performance.now();
    if (now - last < 100) return;
    last = now;
    const secs = (now - t0) / 1000;
    const rate = secs > 0 ? `${(e.done / 1e6 / secs).toFixed(0)} MB/s` : '';
    const pct = e.total ? ` ${((100 * e.done) / e.total).toFixed(1)}%` : '';
    ctx.stderr.write(`\r\x1b[K${e.op}: ${formatBytes(e.done)}${e.total ? ` / ${formatBytes(e.total)}` : ''}${pct} ${rate}`);
    shown = true;
  };
  return { fn, done: () => (shown ? void ctx.stderr.write('\r\x1b[K') : undefined) };
}
