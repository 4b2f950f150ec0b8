/**
 * A command's timeline, for diagnostics: with STOWAGE_TIMELINE set, `mark(name)` records a
 * performance mark (milliseconds since the process started; the CLI prints them at exit).
 * Unset, it does nothing. Marks are global to the thread (the prefetch bundle and the main
 * bundle share them).
 */
const ON = typeof process !== 'undefined' && !!process.env['STOWAGE_TIMELINE'];

/** Records the time `name` happened (only with STOWAGE_TIMELINE). */
export function mark(name: string): void {
  if (ON) performance.mark(name);
}

/** Records `name` the first time only. */
const once = new Set<string>();
export function markOnce(name: string): void {
  if (!ON || once.has(name)) return;
  once.add(name);
  performance.mark(name);
}
