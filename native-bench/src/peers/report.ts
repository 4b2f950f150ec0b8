/**
 * peers/report.ts — result types of the peer benchmark, medians over runs, and the
 * markdown table (one row per tool). Units: seconds; MB = 10^6 bytes (RSS: KiB * 1024 / 10^6).
 */
import type { StepResult } from './runner.js';

export interface RunResult {
  run: number;
  init?: StepResult;
  snapshots: StepResult[];
  repoBytes?: number;
  /** Repo size after each snapshot (v1..v5), so what each version added. */
  repoBytesAfter?: number[];
  restore?: StepResult;
  repeat?: StepResult;
  /** 1-minute load average at the start and end of the run (other work on the machine skews times). */
  load: [number, number];
  /** Set when the run failed; the row stops at its first failed run. */
  error?: string;
}

export interface ToolRow {
  tool: string;
  settings: string;
  version?: string;
  skipped?: string;
  runs: RunResult[];
  median?: Summary;
}

export interface Summary {
  runs: number;
  snapshotsTotalS: number;
  snapshotS: number[];
  /** CPU seconds (user + sys) of the five snapshots; less sensitive than wall time to a busy machine. */
  snapshotsCpuS: number | null;
  repoBytes: number;
  /** Bytes the repo grew by with the last snapshot (v5 alone); null when not measured. */
  lastAddsBytes: number | null;
  restoreS: number;
  /** CPU seconds (user + sys) of the restore; null without GNU time. */
  restoreCpuS: number | null;
  peakRssKB: number | null;
  repeatS: number | null;
}

export interface Machine {
  date: string;
  host: string;
  nproc: number;
  cpu: string;
  memGB: number;
  kernel: string;
  node: string;
  gnuTime: boolean;
  tools: Record<string, string>;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Medians over the successful runs of a row (each metric separately), or undefined if none. */
export function summarize(runs: readonly RunResult[]): Summary | undefined {
  const ok = runs.filter((r) => r.error === undefined && r.restore !== undefined && r.repoBytes !== undefined);
  if (ok.length === 0) return undefined;
  const steps = ok[0]?.snapshots.length ?? 0;
  const rss = ok.map((r) => [...r.snapshots, r.restore].map((s) => s?.rssKB ?? null));
  const haveRss = rss.every((xs) => xs.every((x) => x !== null));
  const repeats = ok.map((r) => r.repeat?.seconds).filter((x): x is number => x !== undefined);
  return {
    runs: ok.length,
    snapshotsTotalS: median(ok.map((r) => sum(r.snapshots.map((s) => s.seconds)))),
    snapshotS: Array.from({ length: steps }, (_, i) => median(ok.map((r) => r.snapshots[i]?.seconds ?? Number.NaN))),
    snapshotsCpuS: haveRss ? median(ok.map((r) => sum(r.snapshots.map((s) => s.cpuSeconds ?? 0)))) : null,
    repoBytes: median(ok.map((r) => r.repoBytes ?? Number.NaN)),
    lastAddsBytes: ok.every((r) => (r.repoBytesAfter?.length ?? 0) >= 2) ? median(ok.map((r) => r.repoBytesAfter!.at(-1)! - r.repoBytesAfter!.at(-2)!)) : null,
    restoreS: median(ok.map((r) => r.restore?.seconds ?? Number.NaN)),
    restoreCpuS: haveRss ? median(ok.map((r) => r.restore?.cpuSeconds ?? 0)) : null,
    peakRssKB: haveRss ? median(rss.map((xs) => Math.max(...(xs as number[])))) : null,
    repeatS: repeats.length === ok.length ? median(repeats) : null,
  };
}

const s2 = (x: number): string => x.toFixed(2);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const cpu = (x: number | null): string => (x === null ? 'n/a' : s2(x));

/** Markdown table of the rows' medians; failed and skipped rows are listed below it. */
export function markdownTable(rows: readonly ToolRow[]): string {
  const out = [
    '| tool | 5 snapshots total, s | 5 snapshots, CPU-s | each snapshot, s (v1 / v2 / v3 / v4 / v5) | repo MB after v5 | v5 adds MB | restore v5, s | restore v5, CPU-s | peak RSS MB | repeat snapshot v5, s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const notes: string[] = [];
  for (const row of rows) {
    if (row.skipped !== undefined) {
      notes.push(`- skipped ${row.tool}: ${row.skipped}`);
      continue;
    }
    const m = row.median;
    const failed = row.runs.find((r) => r.error !== undefined);
    if (failed !== undefined) notes.push(`- ${row.tool}: run ${failed.run} failed: ${failed.error ?? ''}`);
    if (m === undefined) {
      out.push(`| ${row.tool} | error | | | | | | | | |`);
      continue;
    }
    const rss = m.peakRssKB === null ? 'n/a' : mb(m.peakRssKB * 1024);
    const repeat = m.repeatS === null ? '' : s2(m.repeatS);
    out.push(
      `| ${row.tool} | ${s2(m.snapshotsTotalS)} | ${cpu(m.snapshotsCpuS)} | ${m.snapshotS.map(s2).join(' / ')} | ${mb(m.repoBytes)} | ${m.lastAddsBytes === null ? '' : mb(m.lastAddsBytes)} | ${s2(m.restoreS)} | ${cpu(m.restoreCpuS)} | ${rss} | ${repeat} |`,
    );
  }
  const settings = rows.filter((r) => r.skipped === undefined).map((r) => `- ${r.tool}: ${r.settings}${r.version ? ` (${r.version})` : ''}`);
  return [...out, '', ...settings, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

export function machineLine(m: Machine, runs: number, inputBytes: number, series: string, rows: readonly ToolRow[]): string {
  const loads = rows.flatMap((r) => r.runs.flatMap((x) => x.load));
  const load = loads.length === 0 ? '' : `; 1-min load during runs ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`;
  return (
    `${m.date}, ${m.cpu}, nproc ${m.nproc}, ${m.memGB} GB RAM, Linux ${m.kernel}, node ${m.node}; ` +
    `series ${series}, ${(inputBytes / 1e6).toFixed(0)} MB in (v1..v5), medians of ${runs} run(s), inputs from page cache` +
    load +
    (m.gnuTime ? '' : '; no GNU time, so no RSS')
  );
}
