/**
 * Argument parsers for commander options. They throw INVALID_ARGUMENT, so bad values get
 * the same one-line error (or JSON error object) and exit code as everything else. Sizes
 * and durations use the core's one grammar (units/size.ts, units/duration.ts), so every
 * option reads `256K`, `1.5GiB`, `200MB`, `30s`, `1h30m` alike.
 */
import { StowageError } from '@stowage/core';
import { parseCalendarDuration, parseDuration, parseSize, type CalendarDuration } from '@stowage/core/internal';

/** A size option's parser: `--pack-size 1T`, `--chunk-avg 256K` (see parseSize). */
export function sizeArg(option: string): (v: string) => number {
  return (v) => parseSize(v, option);
}

/** An elapsed-time option's parser, in milliseconds: `--retry-lock 5m` (see parseDuration). */
export function durationArg(option: string): (v: string) => number {
  return (v) => parseDuration(v, option);
}

/** A calendar-duration option's parser: `--keep-within 2y5mo` (refuses the ambiguous `5m`). */
export function calendarDurationArg(option: string): (v: string) => CalendarDuration {
  return (v) => parseCalendarDuration(v, option);
}

export function parseIntArg(v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new StowageError('INVALID_ARGUMENT', `invalid number "${v}"`);
  return Number(v);
}

/** Collects a repeatable option. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}
