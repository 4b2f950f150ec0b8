#!/usr/bin/env node
/**
 * peers.ts — side-by-side benchmark of Stowage against restic, borg and casync on a
 * series of five container image tarballs (v1..v5), as shared/docs/peers.md measured them.
 *
 * Per tool and run: a fresh repo in a temp dir, snapshot v1..v5 in order (each step a
 * separate process), repo size after v5, restore v5 to a file and check its sha256,
 * then (stowage, restic) a repeat snapshot of the unchanged v5 path. Medians over runs
 * go to stdout as a markdown table; every raw run goes to the JSON file (--out).
 *
 *   node native-bench/dist/peers.js [--corpus DIR] [--series docker|rootfs] [--runs 3]
 *     [--tools stowage,stowage-nodelta,stowage-raw,stowage-stdout,stowage-enc,stowage-enc-stdout,borg,borg-lz4,casync,restic] [--stowage-avg 65536,262144,1048576]
 *     [--out native-bench/results/peers-<series>.json] [--tmp /work/bench-tmp]
 *     [--max-load 1.5] [--wait-load 600] [--stowage-builds before=/path/to/old/checkout,after=.]
 * Each run first waits (up to --wait-load s) for the 1-minute load average to drop below
 * --max-load; the load at the start and end of every run is recorded and reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Machine, RunResult, ToolRow } from './peers/report.js';
import { machineLine, markdownTable, summarize } from './peers/report.js';
import type { StepResult } from './peers/runner.js';
import { dirBytes, hasGnuTime, runStep, sha256File } from './peers/runner.js';
import type { ToolDef } from './peers/tools.js';
import { PEERS, stowage } from './peers/tools.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PKG_DIR, '..');

interface Options {
  corpus: string;
  series: string;
  runs: number;
  tools: string[];
  stowageAvg: number[];
  /** Stowage checkouts to compare (label, root); empty: this checkout only. Rows alternate run by run. */
  stowageBuilds: { label: string; root: string }[];
  out: string;
  tmp: string;
  maxLoad: number;
  waitLoad: number;
}

interface Input {
  path: string;
  bytes: number;
  sha256: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string', default: '/work/corpus-out' },
      series: { type: 'string', default: 'docker' },
      runs: { type: 'string', default: '3' },
      tools: { type: 'string', default: 'stowage,borg,borg-lz4,casync,restic' },
      'stowage-avg': { type: 'string', default: '65536,262144,1048576' },
      // two (or more) Stowage builds side by side: label=checkout root, e.g. before=/tmp/old,after=.
      'stowage-builds': { type: 'string', default: '' },
      out: { type: 'string' },
      tmp: { type: 'string', default: '/work/bench-tmp' },
      'max-load': { type: 'string', default: '1.5' },
      'wait-load': { type: 'string', default: '600' },
    },
  });
  const list = (s: string): string[] =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const runs = Number(values.runs);
  const stowageAvg = list(values['stowage-avg']).map(Number);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  if (stowageAvg.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`bad --stowage-avg ${values['stowage-avg']}`);
  return {
    corpus: resolve(values.corpus),
    series: values.series,
    runs,
    tools: list(values.tools),
    stowageAvg,
    stowageBuilds: list(values['stowage-builds']).map((b) => {
      const [label, root] = b.split('=');
      if (!label || !root) throw new Error(`bad --stowage-builds entry ${b} (label=path)`);
      return { label, root: resolve(root) };
    }),
    out: resolve(values.out ?? join(PKG_DIR, 'results', `peers-${values.series}.json`)),
    tmp: resolve(values.tmp),
    maxLoad: Number(values['max-load']),
    waitLoad: Number(values['wait-load']),
  };
}

/** The tool rows asked for, in --tools order; "stowage" expands to one row per --stowage-avg. */
function selectTools(opts: Options): ToolDef[] {
  const builds = opts.stowageBuilds.length ? opts.stowageBuilds : [{ label: '', root: REPO_ROOT }];
  const rows = (format: 'auto' | 'raw' | 'nodelta' | 'stdout', encrypted = false): ToolDef[] =>
    opts.stowageAvg.flatMap((avg) =>
      builds.map((b) => {
        const t = stowage(avg, b.root, format, encrypted);
        return b.label ? { ...t, name: `${t.name}@${b.label}`, settings: `${t.settings}; build ${b.label} (${b.root})` } : t;
      }),
    );
  return opts.tools.flatMap((name) => {
    if (name === 'stowage') return rows('auto');
    if (name === 'stowage-raw') return rows('raw');
    if (name === 'stowage-nodelta') return rows('nodelta');
    if (name === 'stowage-stdout') return rows('stdout');
    // encrypted (the default settings of `stowage init`), file and stdout restores
    if (name === 'stowage-enc') return rows('auto', true);
    if (name === 'stowage-enc-stdout') return rows('stdout', true);
    const peer = PEERS.find((t) => t.name === name);
    if (peer === undefined)
      throw new Error(`unknown tool ${name} (known: stowage, stowage-raw, stowage-nodelta, stowage-stdout, stowage-enc, stowage-enc-stdout, ${PEERS.map((t) => t.name).join(', ')})`);
    return [peer];
  });
}

/** v1..v5 of the series, from DIR or DIR/deb; hashing them also warms the page cache. */
async function loadInputs(opts: Options): Promise<Input[]> {
  const dir = existsSync(join(opts.corpus, 'deb')) ? join(opts.corpus, 'deb') : opts.corpus;
  const inputs: Input[] = [];
  for (let v = 1; v <= 5; v++) {
    const path = join(dir, `v${v}.${opts.series}.tar`);
    if (!existsSync(path)) throw new Error(`missing input ${path}`);
    inputs.push({ path, bytes: statSync(path).size, sha256: await sha256File(path) });
  }
  return inputs;
}

function describeMachine(tools: readonly ToolDef[]): Machine {
  const versions: Record<string, string> = {};
  for (const t of tools) if (t.available()) versions[t.name] = t.version();
  return {
    date: new Date().toISOString(),
    host: hostname(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    gnuTime: hasGnuTime(),
    tools: versions,
  };
}

/** Wait until the 1-minute load average is below maxLoad (at most waitSeconds). */
async function waitForQuiet(maxLoad: number, waitSeconds: number): Promise<void> {
  const t0 = Date.now();
  for (let l = loadavg()[0] ?? 0; l >= maxLoad; l = loadavg()[0] ?? 0) {
    if ((Date.now() - t0) / 1000 > waitSeconds) {
      process.stderr.write(`load ${l.toFixed(2)} still >= ${maxLoad} after ${waitSeconds} s; running anyway\n`);
      return;
    }
    process.stderr.write(`waiting for a quiet machine: load ${l.toFixed(2)} >= ${maxLoad}\n`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

function failure(what: string, step: StepResult): Error {
  // The most telling stderr line: the first that names an error, else the last (GNU time's own line dropped).
  const lines = step.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 1 && !l.startsWith('Command exited with non-zero status'));
  const why = lines.find((l) => /error|fatal|invalid|unknown|denied/i.test(l)) ?? lines.at(-1) ?? '';
  return new Error(`${what}: exit ${step.code ?? step.signal}: ${why}`);
}

/** One full run of one tool in a fresh temp dir; errors are recorded, not thrown. */
async function runOnce(tool: ToolDef, inputs: readonly Input[], tmp: string, run: number): Promise<RunResult> {
  const result: RunResult = { run, load: [loadavg()[0] ?? 0, 0], snapshots: [] };
  const work = await mkdtemp(join(tmp, `${tool.name}-`));
  const repo = join(work, 'repo');
  const env = { ...process.env, ...tool.env(work) };
  const step = async (what: string, cmd: ReturnType<ToolDef['init']>): Promise<StepResult> => {
    const s = await runStep(cmd, env);
    if (s.code !== 0) throw failure(what, s);
    return s;
  };
  try {
    spawnSync('sync'); // start each run without the previous run's dirty pages
    result.init = await step('init', tool.init(repo));
    for (const [i, input] of inputs.entries()) {
      const tag = `v${i + 1}`;
      const s = await runStep(tool.snapshot(repo, input.path, tag), env);
      result.snapshots.push(s);
      if (s.code !== 0) throw failure(`snapshot ${tag}`, s);
      (result.repoBytesAfter ??= []).push(await dirBytes(repo)); // outside the timed step
      process.stderr.write(`  ${tool.name} run ${run} ${tag}: ${s.seconds.toFixed(2)} s\n`);
    }
    result.repoBytes = await dirBytes(repo);
    const last = inputs[inputs.length - 1];
    if (last === undefined) throw new Error('no inputs');
    const tag = `v${inputs.length}`;
    const out = join(work, 'restored');
    result.restore = await step(`restore ${tag}`, tool.restore(repo, tag, out, last.path));
    const got = await sha256File(out);
    if (got !== last.sha256) throw new Error(`VERIFY FAILED: restored ${tag} sha256 ${got} != input ${last.sha256}`);
    await rm(out);
    if (tool.repeat) result.repeat = await step(`repeat ${tag}`, tool.snapshot(repo, last.path, `${tag}-repeat`));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\n!!! ${tool.name} run ${run} FAILED: ${result.error}\n\n`);
  } finally {
    result.load[1] = loadavg()[0] ?? 0;
    await rm(work, { recursive: true, force: true });
  }
  return result;
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const tools = selectTools(opts);
  const inputs = await loadInputs(opts);
  const machine = describeMachine(tools);
  await mkdir(opts.tmp, { recursive: true });

  const rows: ToolRow[] = [];
  const live: { tool: ToolDef; row: ToolRow }[] = [];
  for (const tool of tools) {
    const row: ToolRow = { tool: tool.name, settings: tool.settings, runs: [] };
    rows.push(row);
    if (!tool.available()) {
      row.skipped = 'not installed';
      process.stderr.write(`skipped ${tool.name}: not installed\n`);
      continue;
    }
    row.version = machine.tools[tool.name];
    live.push({ tool, row });
  }
  // run by run, every tool in turn (with --stowage-builds the builds alternate, so load
  // changes on the machine hit them alike)
  for (let run = 1; run <= opts.runs; run++) {
    for (const { tool, row } of live) {
      if (row.runs.some((r) => r.error !== undefined)) continue; // later runs would fail the same way
      await waitForQuiet(opts.maxLoad, opts.waitLoad);
      row.runs.push(await runOnce(tool, inputs, opts.tmp, run));
    }
  }
  for (const { row } of live) row.median = summarize(row.runs);

  const inputBytes = inputs.reduce((a, i) => a + i.bytes, 0);
  const header = machineLine(machine, opts.runs, inputBytes, opts.series, rows);
  const table = markdownTable(rows);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify({ machine, options: opts, inputs, rows }, null, 2)}\n`);
  await writeFile(opts.out.replace(/\.json$/, '') + '.md', `${header}\n\n${table}\n`);
  process.stdout.write(`${header}\n\n${table}\n`);
  process.stderr.write(`raw runs: ${opts.out}\n`);
  return rows.some((r) => r.runs.some((x) => x.error !== undefined)) ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`peers: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
