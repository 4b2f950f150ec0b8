/**
 * The two duration grammars, one for each kind of time an option can mean:
 *
 * - **Elapsed time** (`--retry-lock`, timeouts): `parseDuration` reads `30s`, `5m`, `1h30m`,
 *   `2d`, `500ms`, `1.5h`, `90` (seconds). Units: `ms`, `s`, `m`/`min` (minutes), `h`, `d`
 *   (24 hours), `w` (7 days). Parts may repeat a unit only once, in any order.
 * - **Calendar time** (`--keep-within`): `parseCalendarDuration` reads `2y5mo7d3h`, `1w`, `36h`,
 *   `90min`. Units: `y` (years), `mo` (months), `w` (weeks), `d` (calendar days), `h` (hours),
 *   `min` (minutes). A bare `m` is refused as ambiguous (restic reads it as months, most
 *   other tools as minutes): the error says to write `mo` or `min`.
 *
 * Both throw INVALID_ARGUMENT, naming the option when `what` is given.
 */
import { StowageError } from '../errors.js';

const ELAPSED_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Splits "1h30m" into [["1", "h"], ["30", "m"]]; undefined when it is not number-unit pairs. */
function parts(s: string): [number, string][] | undefined {
  const t = s.trim().toLowerCase();
  if (t === '' || !/^(?:\d+(?:\.\d+)?[a-z]+)+$/.test(t)) return undefined;
  return [...t.matchAll(/(\d+(?:\.\d+)?)([a-z]+)/g)].map((m) => [Number(m[1]), m[2]!]);
}

/** Elapsed time in milliseconds: "30s" -> 30000, "1h30m" -> 5400000, "90" -> 90000. */
export function parseDuration(s: string, what = 'duration'): number {
  const bad = () => new StowageError('INVALID_ARGUMENT', `invalid ${what} "${s}": expected e.g. 30s, 5m, 1h30m, 2d, 500ms (units ms, s, m or min, h, d, w)`);
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const ps = parts(t);
  if (!ps) throw bad();
  const seen = new Set<number>();
  let ms = 0;
  for (const [n, unit] of ps) {
    const mult = ELAPSED_MS[unit];
    if (mult === undefined || seen.has(mult)) throw bad();
    seen.add(mult);
    ms += n * mult;
  }
  return Math.round(ms);
}

/** A calendar duration as `--keep-within` takes it: years and months on the calendar, then days, hours, minutes. */
export interface CalendarDuration {
  readonly years: number;
  readonly months: number;
  /** Calendar days (a week is 7). */
  readonly days: number;
  readonly hours: number;
  /** Minutes (elapsed); absent means 0. */
  readonly minutes?: number;
}

const CALENDAR_UNITS = ['y', 'mo', 'w', 'd', 'h', 'min'] as const;

/** "2y5mo7d3h" -> { years: 2, months: 5, days: 7, hours: 3 }; "5m" is refused as ambiguous. */
export function parseCalendarDuration(s: string, what = 'duration'): CalendarDuration {
  const ps = parts(s);
  const t = s.trim();
  if (ps?.some(([, u]) => u === 'm')) {
    const n = /(\d+)m(?![a-z])/i.exec(t)?.[1] ?? '5';
    throw new StowageError('INVALID_ARGUMENT', `ambiguous ${what} "${s}": "m" could be months or minutes; write ${n}mo for months or ${n}min for minutes`);
  }
  const bad = () => new StowageError('INVALID_ARGUMENT', `invalid ${what} "${s}": expected whole numbers with calendar units, e.g. 7d, 2y5mo7d3h, 36h, 1w, 90min (units y, mo, w, d, h, min)`);
  if (!ps) throw bad();
  const v: Record<string, number> = {};
  for (const [n, unit] of ps) {
    if (!(CALENDAR_UNITS as readonly string[]).includes(unit) || unit in v || !Number.isInteger(n)) throw bad();
    v[unit] = n;
  }
  const g = (u: string) => v[u] ?? 0;
  return { years: g('y'), months: g('mo'), days: g('w') * 7 + g('d'), hours: g('h'), ...(g('min') && { minutes: g('min') }) };
}

/** "2y5mo7d3h" (the canonical spelling parseCalendarDuration reads back). */
export function formatCalendarDuration(d: CalendarDuration): string {
  const s = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}mo` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}${d.minutes ? `${d.minutes}min` : ''}`;
  return s || '0h';
}

/** Elapsed milliseconds for people: "1.2 s", "3m05s", "2h01m". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}
