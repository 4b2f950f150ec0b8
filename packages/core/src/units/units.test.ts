import { describe, expect, it } from 'vitest';
import { formatSize, formatRate, isSize, parseSize } from './size.js';
import { formatCalendarDuration, formatDuration, parseCalendarDuration, parseDuration } from './duration.js';

describe('parseSize: one grammar for every size option', () => {
  it('reads binary units (K, M, G, T, KiB, ...) as powers of two', () => {
    expect(parseSize('65536')).toBe(65536);
    expect(parseSize('256K')).toBe(256 * 1024);
    expect(parseSize('256k')).toBe(256 * 1024);
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('1T')).toBe(2 ** 40);
    expect(parseSize('16 MiB')).toBe(16 * 2 ** 20);
    expect(parseSize('100B')).toBe(100);
  });

  it('reads decimal units (KB, MB, GB, TB) as powers of ten', () => {
    expect(parseSize('200MB')).toBe(200_000_000);
    expect(parseSize('1kb')).toBe(1000);
    expect(parseSize('2TB')).toBe(2e12);
  });

  it('rounds fractions down to whole bytes and refuses the rest, naming the option', () => {
    expect(parseSize('1.5K')).toBe(1536);
    expect(parseSize('0.1K')).toBe(102);
    for (const bad of ['', 'lots', '-1M', '1X', '1MBB', '1e6', 'M']) expect(() => parseSize(bad, '--pack-size'), bad).toThrow(/invalid --pack-size/);
    expect(isSize('5%')).toBe(false);
    expect(isSize('2T')).toBe(true);
  });

  it('formats in powers of two, and rates in the same units', () => {
    expect(formatSize(12)).toBe('12 B');
    expect(formatSize(1_000_000)).toBe('977 KiB');
    expect(formatSize(4_393_000)).toBe('4.19 MiB');
    expect(formatRate(10 * 2 ** 20, 2)).toBe('5.00 MiB/s');
    expect(formatRate(1, 0)).toBe('-');
  });
});

describe('parseDuration: elapsed time', () => {
  it('reads s, m (minutes), min, h, d, w, ms and bare seconds', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('5min')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(2 * 86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('90')).toBe(90_000);
  });

  it('refuses unknown units, repeats and empty input', () => {
    for (const bad of ['', 'h', '5x', '5m5m', '5 m', '-5s', '5mo']) expect(() => parseDuration(bad, '--retry-lock'), bad).toThrow(/invalid --retry-lock/);
  });

  it('formats', () => {
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(7_260_000)).toBe('2h01m');
  });
});

describe('parseCalendarDuration: --keep-within', () => {
  it('reads calendar units y, mo, w, d, h, min', () => {
    expect(parseCalendarDuration('2y5mo7d3h')).toEqual({ years: 2, months: 5, days: 7, hours: 3 });
    expect(parseCalendarDuration('1w')).toEqual({ years: 0, months: 0, days: 7, hours: 0 });
    expect(parseCalendarDuration('36h')).toEqual({ years: 0, months: 0, days: 0, hours: 36 });
    expect(parseCalendarDuration('90min')).toEqual({ years: 0, months: 0, days: 0, hours: 0, minutes: 90 });
    expect(formatCalendarDuration(parseCalendarDuration('2y5mo7d3h30min'))).toBe('2y5mo7d3h30min');
  });

  it('refuses "5m" as ambiguous, saying what to write instead', () => {
    expect(() => parseCalendarDuration('5m', '--keep-within')).toThrow(/ambiguous --keep-within "5m".*5mo for months or 5min for minutes/);
    expect(() => parseCalendarDuration('2y5m')).toThrow(/5mo/);
  });

  it('refuses the rest', () => {
    for (const bad of ['', '3x', 'h', '1.5d', '1d1d', '7']) expect(() => parseCalendarDuration(bad, '--keep-within'), bad).toThrow(/invalid --keep-within/);
  });
});
