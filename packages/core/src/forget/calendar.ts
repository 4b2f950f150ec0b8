/**
 * Calendar arithmetic for retention policies, in an IANA time zone (default: the system's).
 *
 * Buckets are local calendar units: an hour bucket is a local hour *with its UTC offset*, so
 * the hour repeated when clocks go back counts as two hours; a day is a local date (23 or
 * 25 hours long on DST days); weeks are ISO 8601 weeks (Monday first, week-numbering year).
 */
import type { CalendarDuration } from '../units/duration.js';

/** Local calendar fields of an instant. */
export interface LocalTime {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  /** 1..31 */
  readonly day: number;
  /** 0..23 */
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
  /** Minutes east of UTC. */
  readonly offset: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The system time zone. */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local fields of instant `t` (ms since the epoch) in `timeZone`. RangeError for an unknown zone. */
export function localTime(t: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const ms = ((t % 1000) + 1000) % 1000;
  const year = parts.year!;
  const month = parts.month!;
  const day = parts.day!;
  const hour = parts.hour! % 24;
  const minute = parts.minute!;
  const second = parts.second!;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return { year, month, day, hour, minute, second, ms, offset: Math.round((asUtc - t) / 60000) };
}

/**
 * The instant of a local wall time in `timeZone`. A wall time that occurs twice (clocks go
 * back) gives the first instant; one that does not occur (clocks go forward) is shifted by
 * the size of the jump.
 */
export function fromLocal(f: Omit<LocalTime, 'offset'>, timeZone: string): number {
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.ms);
  let t = asUtc - localTime(asUtc, timeZone).offset * 60000;
  const off2 = localTime(t, timeZone).offset;
  t = asUtc - off2 * 60000;
  return t;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO 8601 week-numbering year and week of a calendar date. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const d = new Date(Date.UTC(year, month - 1, day));
  const dow = (d.getUTCDay() + 6) % 7; // Monday = 0
  d.setUTCDate(d.getUTCDate() - dow + 3); // Thursday of this week decides the year
  const wy = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(wy, 0, 1)) / 86400000 + 1) / 7);
  return { year: wy, week };
}

/**
 * `t` minus a calendar duration: years, months and days on the local calendar (the day is
 * clamped to the end of a shorter month: Mar 31 - 1m = Feb 28/29; Feb 29 - 1y = Feb 28),
 * keeping the local wall time, then hours and minutes as elapsed time.
 */
export function subtractDuration(t: number, d: CalendarDuration, timeZone: string): number {
  const l = localTime(t, timeZone);
  const months = l.year * 12 + (l.month - 1) - d.years * 12 - d.months;
  const year = Math.floor(months / 12);
  const month = months - year * 12 + 1;
  const day = Math.min(l.day, daysInMonth(year, month));
  // days: step on the calendar (a UTC date has no DST), then back to local wall time
  const date = new Date(Date.UTC(year, month - 1, day - d.days));
  const back = fromLocal({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: l.hour, minute: l.minute, second: l.second, ms: l.ms }, timeZone);
  return back - d.hours * 3_600_000 - (d.minutes ?? 0) * 60_000;
}
