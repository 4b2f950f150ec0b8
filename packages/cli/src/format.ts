/**
 * Human rendering helpers: sizes, durations, rates, tables.
 */
import { printable } from './escape.js';

/** Sizes in powers of two ("4.19 MiB"), rates in the same units ("38.2 MiB/s"): never MB/s beside MiB. */
export { formatSize as formatBytes, formatRate } from '@stowage/core/internal';

/** A plain text table with a header row and a rule under it; each cell is one line (names in cells are escaped with `printable`). */
export function table(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((r) => r.map((c) => printable(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Local time without milliseconds, "2026-11-21 14:03:05". */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
