/**
 * A command's timeline, for diagnostics: with STOWAGE_TIMELINE set, `mark(name)` records a
 * performance mark (milliseconds since the process started; the CLI prints them at exit).
 * Unset, it does nothing. Marks are global to the thread (the prefetch bundle and the main
 * bundle share them).
 */
const ON = typeof process !== 'undefined' && !!process.env['STOWAGE_TIMELINE'];

/** Records the time `name` happened, with `fields` printed beside it (only with STOWAGE_TIMELINE). */
export function mark(name: string, fields?: Record<string, unknown>): void {
  if (ON) performance.mark(name, fields ? { detail: fields } : undefined);
}

/** Records `name` the first time only. */
const once = new Set<string>();
export function markOnce(name: string): void {
  if (!ON || once.has(name)) return;
  once.add(name);
  performance.mark(name);
}

/** Whether a timeline is recorded (STOWAGE_TIMELINE set). */
export const timelineOn = ON;

/** Milliseconds since the process started (performance.now()), the clock of the marks. */
export function now(): number {
  return performance.now();
}

/**
 * Records something that started at `start` (from now()) and ends now, with `fields` (the S3
 * backend: each request's kind, file and bytes; the write session: packs saved, the index
 * file, its absorption), as a performance measure (only with STOWAGE_TIMELINE).
 */
export function timelineSpan(name: string, start: number, fields?: Record<string, unknown>): void {
  if (ON) performance.measure(name, { start, end: performance.now(), ...(fields && { detail: fields }) });
}
