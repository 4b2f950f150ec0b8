/**
 * Progress on stderr, as restic and borg show it: only when stderr is a terminal and neither
 * -q nor --json was given; nothing at all otherwise (no stray carriage returns in logs).
 *
 * The core reports progress through callbacks (core/src/progress.ts); this turns them into one
 * bar per operation pass, drawn by cli-progress (maintained, 25M downloads a month, no
 * dependencies of its own but string-width; it does the terminal part: redraw throttling,
 * cursor hiding, clearing the line when done, terminal width). Stowage gives it the line:
 *
 *   snapshot  [########------------]  41.3%  112 MiB / 271 MiB  38.2 MiB/s  ETA 4s
 *   check read-data  [###---------]  27.0%  ...
 *   restore   183 MiB  52.1 MiB/s                       (size unknown: no bar, no ETA)
 *
 * The ETA is cli-progress's (a moving average over the last updates); rates are in the same
 * units as sizes (MiB/s beside MiB).
 */
import cliProgress from 'cli-progress';
import { type ProgressEvent, type ProgressFn } from '@stowage/core';
import { formatDuration, formatRate, formatSize } from '@stowage/core/internal';
import type { Context } from './context.js';
import { oneLine } from './escape.js';

export interface Progress {
  /** The callback to hand the core (undefined: no progress is shown, do not ask for events). */
  readonly fn: ProgressFn | undefined;
  /** Clears the bar (call in a finally). */
  done(): void;
}

const NONE: Progress = { fn: undefined, done: () => undefined };

interface Payload {
  label: string;
  unit: NonNullable<ProgressEvent['unit']>;
  known: boolean;
}

/** The line for one state of a bar (exported for tests). */
export function progressLine(p: Payload, value: number, total: number, elapsedMs: number, etaSeconds: number, bar: string): string {
  const amount = (n: number) => (p.unit === 'bytes' ? formatSize(n) : `${n}`);
  const rate = p.unit === 'bytes' && elapsedMs > 500 ? `  ${formatRate(value, elapsedMs / 1000)}` : '';
  if (!p.known) return `${p.label}  ${amount(value)}${p.unit === 'bytes' ? '' : ` ${p.unit}`}${rate}`;
  const pct = total > 0 ? Math.min(100, (100 * value) / total) : 100;
  const eta = value > 0 && value < total && Number.isFinite(etaSeconds) ? `  ETA ${formatDuration(etaSeconds * 1000).replace(/\.\d+ s$/, ' s')}` : '';
  return `${p.label}  [${bar}] ${pct.toFixed(1).padStart(5)}%  ${amount(value)} / ${amount(total)}${p.unit === 'bytes' ? '' : ` ${p.unit}`}${rate}${eta}`;
}

/**
 * A progress renderer for one command; `label` names the operation ("snapshot", "restore",
 * "copy"). Events with a new phase or unit start a new bar ("check snapshots", then
 * "check read-data").
 */
export function progressFor(ctx: Context, label?: string): Progress {
  if (!ctx.stderr.isTTY || ctx.opts.quiet || ctx.opts.json) return NONE;
  let bar: cliProgress.SingleBar | undefined;
  let key = '';
  let total = -1;
  const fn: ProgressFn = (e) => {
    const unit = e.unit ?? 'bytes';
    const k = `${e.op}/${e.phase ?? ''}/${unit}`;
    if (k !== key || !bar) {
      bar?.stop();
      key = k;
      const payload: Payload = { label: oneLine(`${label ?? e.op}${e.phase ? ` ${e.phase}` : ''}`), unit, known: e.total !== undefined };
      bar = new cliProgress.SingleBar({
        stream: ctx.stderr as NodeJS.WriteStream,
        format: (options, params, pl: Payload) => progressLine(pl, params.value, params.total, Date.now() - params.startTime, params.eta, cliProgress.Format.BarFormat(params.progress, options)),
        barsize: 20,
        barCompleteChar: '#',
        barIncompleteChar: '-',
        hideCursor: true,
        clearOnComplete: true,
        linewrap: false,
        gracefulExit: false, // SIGINT is main.ts's: it aborts the operation, which clears the bar
        fps: 10,
        etaBuffer: 50,
      });
      total = e.total ?? 0;
      bar.start(total, e.done, payload);
      return;
    }
    if (e.total !== undefined && e.total !== total) {
      total = e.total;
      bar.setTotal(total);
    }
    bar.update(e.done);
  };
  return {
    fn,
    done: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}
