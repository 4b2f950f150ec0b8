import { describe, expect, it } from 'vitest';
import { isoWeek, localTime, subtractDuration } from './calendar.js';
import { parseCalendarDuration } from '../units/duration.js';
import { applyPolicy, bucketKey, policyIsEmpty, type PolicySnapshot, type RetentionPolicy } from './policy.js';

let seq = 0;
function snap(time: string, extra: Partial<PolicySnapshot> = {}): PolicySnapshot {
  seq++;
  return { id: extra.id ?? seq.toString(16).padStart(64, '0'), time, name: 'app', hostname: 'h', tags: [], ...extra };
}

/** Ids kept, in newest-first order, for a single group. */
function kept(snaps: PolicySnapshot[], policy: RetentionPolicy, timeZone = 'UTC'): string[] {
  const groups = applyPolicy(snaps, policy, { timeZone });
  expect(groups).toHaveLength(1);
  return groups[0]!.decisions.filter((d) => d.keep).map((d) => d.snapshot.time);
}

function reasonsOf(snaps: PolicySnapshot[], policy: RetentionPolicy, timeZone = 'UTC'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of applyPolicy(snaps, policy, { timeZone })[0]!.decisions) out[d.snapshot.time] = d.reasons;
  return out;
}

describe('calendar', () => {
  it('ISO weeks: year boundaries', () => {
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 }); // Sunday
    expect(isoWeek(2021, 1, 4)).toEqual({ year: 2021, week: 1 }); // Monday
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2026, 12, 31)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 1)).toEqual({ year: 2026, week: 53 });
  });

  it('month arithmetic clamps to month ends; leap days', () => {
    const t = (s: string) => Date.parse(s);
    expect(new Date(subtractDuration(t('2026-03-31T12:00:00Z'), { years: 0, months: 1, days: 0, hours: 0 }, 'UTC')).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    expect(new Date(subtractDuration(t('2024-03-31T12:00:00Z'), { years: 0, months: 1, days: 0, hours: 0 }, 'UTC')).toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(new Date(subtractDuration(t('2024-02-29T08:00:00Z'), { years: 1, months: 0, days: 0, hours: 0 }, 'UTC')).toISOString()).toBe('2023-02-28T08:00:00.000Z');
    expect(new Date(subtractDuration(t('2026-01-15T00:00:00Z'), { years: 0, months: 2, days: 0, hours: 0 }, 'UTC')).toISOString()).toBe('2025-11-15T00:00:00.000Z');
    expect(new Date(subtractDuration(t('2026-03-01T00:00:00Z'), { years: 0, months: 0, days: 1, hours: 0 }, 'UTC')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });

  it('days are calendar days across DST (23- and 25-hour days)', () => {
    // Europe/Berlin: clocks go forward 2026-03-29 02:00 -> 03:00
    const after = Date.parse('2026-03-29T12:00:00+02:00');
    const back = subtractDuration(after, { years: 0, months: 0, days: 1, hours: 0 }, 'Europe/Berlin');
    expect(new Date(back).toISOString()).toBe('2026-03-28T11:00:00.000Z'); // 12:00 +01:00, 23 hours earlier
    // hours are elapsed time
    expect(subtractDuration(after, { years: 0, months: 0, days: 0, hours: 24 }, 'Europe/Berlin')).toBe(after - 24 * 3600e3);
  });

  it('local time and offset', () => {
    const l = localTime(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin'); // 02:30 CEST
    expect([l.year, l.month, l.day, l.hour, l.offset]).toEqual([2026, 10, 25, 2, 120]);
    const l2 = localTime(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin'); // 02:30 CET (repeated hour)
    expect([l2.hour, l2.offset]).toEqual([2, 60]);
  });
});

describe('applyPolicy', () => {
  it('keep-last, with equal times ordered by id', () => {
    const a = snap('2026-01-01T10:00:00Z', { id: 'a'.repeat(64) });
    const b = snap('2026-01-01T10:00:00Z', { id: 'b'.repeat(64) });
    const c = snap('2026-01-01T09:00:00Z', { id: 'c'.repeat(64) });
    const d = applyPolicy([a, c, b], { last: 2 }, { timeZone: 'UTC' })[0]!.decisions;
    expect(d.map((x) => [x.snapshot.id[0], x.keep])).toEqual([
      ['b', true],
      ['a', true],
      ['c', false],
    ]);
    expect(d[0]!.reasons).toEqual(['last']);
    // one slot: exactly one of the two equal-time snapshots, deterministically the larger id
    const one = applyPolicy([a, b, c], { last: 1 }, { timeZone: 'UTC' })[0]!.decisions.filter((x) => x.keep);
    expect(one.map((x) => x.snapshot.id[0])).toEqual(['b']);
  });

  it('daily keeps the newest of each of the last n days that have snapshots', () => {
    const s = ['2026-05-01T08:00:00Z', '2026-05-01T20:00:00Z', '2026-05-02T09:00:00Z', '2026-05-05T07:00:00Z', '2026-05-05T23:59:59Z'].map((t) => snap(t));
    expect(kept(s, { daily: 2 })).toEqual(['2026-05-05T23:59:59Z', '2026-05-02T09:00:00Z']);
    expect(kept(s, { daily: -1 })).toEqual(['2026-05-05T23:59:59Z', '2026-05-02T09:00:00Z', '2026-05-01T20:00:00Z']);
    expect(reasonsOf(s, { daily: 1 })['2026-05-05T23:59:59Z']).toEqual(['daily 2026-05-05']);
  });

  it('days are local days', () => {
    // 23:30 UTC on May 1st is May 2nd in Tokyo
    const s = [snap('2026-05-01T23:30:00Z'), snap('2026-05-01T10:00:00Z')];
    expect(kept(s, { daily: 5 }, 'UTC')).toEqual(['2026-05-01T23:30:00Z']);
    expect(kept(s, { daily: 5 }, 'Asia/Tokyo')).toEqual(['2026-05-01T23:30:00Z', '2026-05-01T10:00:00Z']);
  });

  it('hourly across DST: the repeated hour counts twice, the skipped hour never exists', () => {
    const tz = 'America/New_York';
    // fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:xx happens twice
    const s = [snap('2026-11-01T05:40:00Z'), snap('2026-11-01T05:10:00Z'), snap('2026-11-01T06:20:00Z'), snap('2026-11-01T04:50:00Z')];
    // local: 05:10Z = 01:10 EDT, 05:40Z = 01:40 EDT, 06:20Z = 01:20 EST, 04:50Z = 00:50 EDT
    expect(kept(s, { hourly: 10 }, tz)).toEqual(['2026-11-01T06:20:00Z', '2026-11-01T05:40:00Z', '2026-11-01T04:50:00Z']);
    expect(bucketKey('hourly', Date.parse('2026-11-01T06:20:00Z'), tz)).toBe('2026-11-01 01h-05:00');
    expect(bucketKey('hourly', Date.parse('2026-11-01T05:40:00Z'), tz)).toBe('2026-11-01 01h-04:00');
    // spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 01:59 EST and 03:01 EDT are consecutive hours
    const f = [snap('2026-03-08T06:59:00Z'), snap('2026-03-08T07:01:00Z')];
    expect(kept(f, { hourly: 1 }, tz)).toEqual(['2026-03-08T07:01:00Z']);
    expect(kept(f, { hourly: 2 }, tz)).toEqual(['2026-03-08T07:01:00Z', '2026-03-08T06:59:00Z']);
    // the DST day is one day of 23 hours
    const d = [snap('2026-03-08T04:59:00Z'), snap('2026-03-09T03:59:00Z')]; // 23:59 EST Mar 7, 23:59 EDT Mar 8
    expect(bucketKey('daily', Date.parse('2026-03-09T03:59:00Z'), tz)).toBe('2026-03-08');
    expect(kept(d, { daily: 2 }, tz)).toHaveLength(2);
  });

  it('weekly uses ISO weeks (Monday first, week-numbering year)', () => {
    const s = [snap('2026-12-31T12:00:00Z'), snap('2027-01-03T12:00:00Z'), snap('2027-01-04T12:00:00Z'), snap('2026-12-27T12:00:00Z')];
    // Dec 31 2026 and Jan 3 2027 are both in 2026-W53; Jan 4 is 2027-W01; Dec 27 2026 is 2026-W52
    const r = reasonsOf(s, { weekly: 3 });
    expect(r['2027-01-04T12:00:00Z']).toEqual(['weekly 2027-W01']);
    expect(r['2027-01-03T12:00:00Z']).toEqual(['weekly 2026-W53']);
    expect(r['2026-12-31T12:00:00Z']).toEqual([]);
    expect(r['2026-12-27T12:00:00Z']).toEqual(['weekly 2026-W52']);
  });

  it('monthly and yearly at month ends and leap days', () => {
    const s = ['2024-01-31T23:00:00Z', '2024-02-29T10:00:00Z', '2024-03-01T00:00:00Z', '2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z'].map((t) => snap(t));
    expect(kept(s, { monthly: 3 })).toEqual(['2025-01-01T00:00:00Z', '2024-12-31T23:59:59Z', '2024-03-01T00:00:00Z']);
    expect(kept(s, { monthly: 5 })).toContain('2024-02-29T10:00:00Z');
    expect(kept(s, { yearly: 5 })).toEqual(['2025-01-01T00:00:00Z', '2024-12-31T23:59:59Z']);
    // in UTC+1, 2024-12-31T23:59:59Z is already January 2025
    expect(kept(s, { yearly: 5 }, 'Europe/Paris')).toEqual(['2025-01-01T00:00:00Z', '2024-03-01T00:00:00Z']);
  });

  it('within is relative to the newest snapshot of the group, strictly newer than the cutoff', () => {
    const s = ['2026-03-31T12:00:00Z', '2026-03-01T12:00:00Z', '2026-02-28T12:00:00Z', '2026-02-28T11:59:59Z'].map((t) => snap(t));
    // 2026-03-31 - 1 month = 2026-02-28 12:00 (clamped); equal to the cutoff is not within
    expect(kept(s, { within: parseCalendarDuration('1mo') })).toEqual(['2026-03-31T12:00:00Z', '2026-03-01T12:00:00Z']);
    expect(reasonsOf(s, { within: parseCalendarDuration('30d') })['2026-03-01T12:00:00Z']).toEqual([]); // exactly 30 days older
    expect(reasonsOf(s, { within: parseCalendarDuration('31d') })['2026-03-01T12:00:00Z']).toEqual(['within 31d']);
  });

  it('tags, combined rules, reasons listed', () => {
    const s = [snap('2026-01-03T00:00:00Z'), snap('2026-01-02T00:00:00Z', { tags: ['release'] }), snap('2026-01-01T00:00:00Z')];
    const r = reasonsOf(s, { last: 1, daily: 1, tags: ['release'] });
    expect(r['2026-01-03T00:00:00Z']).toEqual(['last', 'daily 2026-01-03']);
    expect(r['2026-01-02T00:00:00Z']).toEqual(['tag release']);
    expect(r['2026-01-01T00:00:00Z']).toEqual([]);
  });

  it('groups by name (default), host, or not at all; unreadable times are kept', () => {
    const s = [snap('2026-01-02T00:00:00Z', { name: 'a' }), snap('2026-01-01T00:00:00Z', { name: 'a' }), snap('2026-01-01T00:00:00Z', { name: 'b' }), snap('not a time', { name: 'b' })];
    const g = applyPolicy(s, { last: 1 }, { timeZone: 'UTC' });
    expect(g.map((x) => [x.key.name, x.decisions.filter((d) => d.keep).length])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(g[1]!.decisions.find((d) => d.snapshot.time === 'not a time')!.reasons).toEqual(['time unreadable']);
    expect(applyPolicy(s, { last: 1 }, { timeZone: 'UTC', groupBy: [] })).toHaveLength(1);
    expect(applyPolicy(s, { last: 1 }, { timeZone: 'UTC', groupBy: ['host'] })[0]!.key).toEqual({ host: 'h' });
  });

  it('empty policies are recognised', () => {
    expect(policyIsEmpty({})).toBe(true);
    expect(policyIsEmpty({ last: 0, tags: [] })).toBe(true);
    expect(policyIsEmpty({ last: 1 })).toBe(false);
    expect(policyIsEmpty({ within: { years: 0, months: 0, days: 1, hours: 0 } })).toBe(false);
  });
});
