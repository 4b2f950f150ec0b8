import type { PerformanceMark, PerformanceMeasure } from 'node:perf_hooks';
import { afterEach, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  performance.clearMarks();
  performance.clearMeasures();
});

it('records nothing without STOWAGE_TIMELINE', async () => {
  vi.stubEnv('STOWAGE_TIMELINE', '');
  vi.resetModules();
  const t = await import('./timeline.js');
  expect(t.timelineOn).toBe(false);
  t.mark('test mark', { a: 1 });
  t.timelineSpan('test span', t.now(), { b: 2 });
  expect(performance.getEntriesByName('test mark')).toEqual([]);
  expect(performance.getEntriesByName('test span')).toEqual([]);
});

it('with STOWAGE_TIMELINE, marks and spans are performance entries with their fields as detail (the launcher prints them at exit)', async () => {
  vi.stubEnv('STOWAGE_TIMELINE', '1');
  vi.resetModules();
  const t = await import('./timeline.js');
  expect(t.timelineOn).toBe(true);
  const start = t.now();
  t.mark('test mark', { queued: 2 });
  t.timelineSpan('test span', start, { what: 'data/ab/ab', bytes: 5 });
  const [m] = performance.getEntriesByName('test mark', 'mark') as PerformanceMark[];
  expect(m!.detail).toEqual({ queued: 2 });
  const [s] = performance.getEntriesByName('test span', 'measure') as PerformanceMeasure[];
  expect(s!.startTime).toBe(start);
  expect(s!.duration).toBeGreaterThanOrEqual(0);
  expect(s!.detail).toEqual({ what: 'data/ab/ab', bytes: 5 });
});
