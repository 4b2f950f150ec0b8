#!/usr/bin/env node
/**
 * encryption.ts — what encryption costs Stowage, side by side in one run: snapshot v1..v5
 * and restore v5 of a corpus series with Stowage plaintext (`init --insecure-no-encryption`),
 * Stowage encrypted (the default: AES-256-GCM, keyed BLAKE3, scrypt N=2^16 key file), and
 * restic (always encrypted) on the same inputs.
 *
 * Every step is its own process, as a user runs it (peers/runner.ts: wall time around the
 * spawn, CPU and peak RSS from GNU time). Runs are interleaved (run 1 of every tool, then
 * run 2, ...) with the tool order rotated, so a drift in machine load hits every row alike.
 * Each run also times opening the repository alone (`stowage snapshots` / `restic snapshots`),
 * which for the encrypted rows is mostly the password's scrypt.
 *
 *   node native-bench/dist/encryption.js [--corpus /work/corpus-out] [--series docker] [--runs 3]
 *     [--tmp /work/bench-tmp] [--out native-bench/results/encryption-<series>.json]
 *     [--max-load 1.5] [--wait-load 600] [--tools plaintext,encrypted,agent,restic]
 *
 * `agent` is the encrypted row with the opt-in key agent (`stowage agent start` before init,
 * untimed, its socket in STOWAGE_AGENT_SOCK): every command after init skips scrypt.
 *
 * Before starting it waits (up to --wait-load seconds) for the 1-minute load average to drop
 * below --max-load, and records the load at the start and end of every run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './peers/report.js';
import type { Cmd, StepResult } from './peers/runner.js';
import { dirBytes, hasGnuTime, runStep, sha256File, which } from './peers/runner.js';
import { PEERS, stowageArgv } from './peers/tools.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PKG_DIR, '..');
const PASSWORD = 'benchmark password';

interface Tool {
  name: string;
  settings: string;
  env(work: string): Record<string, string>;
  init(repo: string): Cmd;
  snapshot(repo: string, file: string): Cmd;
  /** Opening the repository and listing snapshots: start-up plus (encrypted) key derivation. */
  open(repo: string): Cmd;
  restore(repo: string, out: string, file: string): Cmd;
  /** Plaintext bytes read and in-process seconds of a snapshot step, when the tool reports them. */
  inProcess?(step: StepResult): { bytes: number; seconds: number } | undefined;
  /** Untimed set-up before init (e.g. starting the key agent): extra environment for the run's steps. */
  before?(work: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>>;
  /** Untimed clean-up after the run. */
  after?(env: NodeJS.ProcessEnv): Promise<void>;
}

interface Input {
  path: string;
  bytes: number;
  sha256: string;
}

interface Run {
  run: number;
  load: [number, number];
  snapshots: StepResult[];
  open?: StepResult;
  restore?: StepResult;
  repoBytes?: number;
  error?: string;
}

function stowageTool(encrypted: boolean, agent = false): Tool {
  const bin = stowageArgv(REPO_ROOT);
  return {
    name: agent ? 'stowage, encrypted, key agent' : encrypted ? 'stowage, encrypted' : 'stowage, plaintext',
    settings: agent
      ? "as encrypted, with the opt-in key agent (`stowage agent start`, started before init, untimed): init hands it the key file's KEK, so the five snapshots, the open and the restore skip scrypt"
      : encrypted
        ? 'stowage init (default: AES-256-GCM, keyed BLAKE3 ids, seeded FastCDC, scrypt N=2^16 r=8 p=1), 256 KiB avg chunks, zstd 3'
        : 'stowage init --insecure-no-encryption, 256 KiB avg chunks, zstd 3',
    ...(agent && {
      before: async (work: string, env: NodeJS.ProcessEnv) => {
        const socket = join(work, 'agent.sock');
        const s = await runStep({ argv: [...bin, 'agent', 'start', '--ttl', '30m', '--socket', socket] }, env);
        if (s.code !== 0) throw new Error(`agent start: ${s.stderrTail.trim()}`);
        return { STOWAGE_AGENT_SOCK: socket };
      },
      after: async (env: NodeJS.ProcessEnv) => void (await runStep({ argv: [...bin, 'agent', 'stop'] }, env)),
    }),
    // no STOWAGE_TEST_KDF: the real key derivation cost
    env: (work) => ({ STOWAGE_CACHE_DIR: join(work, 'cache'), STOWAGE_PASSWORD: PASSWORD, STOWAGE_TEST_KDF: '', STOWAGE_INSECURE_PLAINTEXT: '1' }),
    init: (repo) => ({ argv: [...bin, '-r', repo, 'init', ...(encrypted ? [] : ['--insecure-no-encryption'])] }),
    snapshot: (repo, file) => ({ argv: [...bin, '-r', repo, 'snapshot', file, '--json', '--name', basename(file)] }),
    open: (repo) => ({ argv: [...bin, '-r', repo, 'snapshots', '--json'] }),
    restore: (repo, out) => ({ argv: [...bin, '-r', repo, 'restore', 'latest', out] }),
    inProcess: (step) => {
      const j = step.json as { bytesRead?: number; seconds?: number } | undefined;
      return j?.bytesRead !== undefined && j.seconds !== undefined ? { bytes: j.bytesRead, seconds: j.seconds } : undefined;
    },
  };
}

function resticTool(): Tool | undefined {
  const r = PEERS.find((t) => t.name === 'restic');
  if (r === undefined || which('restic') === undefined) return undefined;
  return {
    name: 'restic',
    settings: `${r.settings} (${r.version()})`,
    env: (work) => ({ ...r.env(work), RESTIC_PASSWORD: PASSWORD }),
    init: (repo) => r.init(repo),
    snapshot: (repo, file) => r.snapshot(repo, file, ''),
    open: (repo) => ({ argv: ['restic', '-r', repo, 'snapshots', '--json'] }),
    restore: (repo, out, file) => r.restore(repo, '', out, file),
  };
}

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string', default: '/work/corpus-out' },
      series: { type: 'string', default: 'docker' },
      runs: { type: 'string', default: '3' },
      tmp: { type: 'string', default: '/work/bench-tmp' },
      out: { type: 'string' },
      'max-load': { type: 'string', default: '1.5' },
      'wait-load': { type: 'string', default: '600' },
      tools: { type: 'string', default: 'plaintext,encrypted,agent,restic' },
    },
  });
  return {
    corpus: resolve(values.corpus),
    series: values.series,
    runs: Number(values.runs),
    tmp: resolve(values.tmp),
    out: resolve(values.out ?? join(PKG_DIR, 'results', `encryption-${values.series}.json`)),
    maxLoad: Number(values['max-load']),
    waitLoad: Number(values['wait-load']),
    tools: values.tools.split(','),
  };
}

async function loadInputs(corpus: string, series: string): Promise<Input[]> {
  const dir = existsSync(join(corpus, 'deb')) ? join(corpus, 'deb') : corpus;
  const inputs: Input[] = [];
  for (let v = 1; v <= 5; v++) {
    const path = join(dir, `v${v}.${series}.tar`);
    if (!existsSync(path)) throw new Error(`missing input ${path}`);
    inputs.push({ path, bytes: statSync(path).size, sha256: await sha256File(path) });
  }
  return inputs;
}

async function waitForQuiet(maxLoad: number, waitSeconds: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const l = loadavg()[0] ?? 0;
    if (l < maxLoad) return l;
    if ((Date.now() - t0) / 1000 > waitSeconds) {
      process.stderr.write(`load ${l.toFixed(2)} still >= ${maxLoad} after ${waitSeconds} s; running anyway (noted in the report)\n`);
      return l;
    }
    process.stderr.write(`waiting for a quiet machine: load ${l.toFixed(2)} >= ${maxLoad}\n`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

async function runOnce(tool: Tool, inputs: readonly Input[], tmp: string, run: number): Promise<Run> {
  const result: Run = { run, load: [loadavg()[0] ?? 0, 0], snapshots: [] };
  const work = await mkdtemp(join(tmp, `enc-${tool.name.replace(/\W+/g, '-')}-`));
  const repo = join(work, 'repo');
  const env: NodeJS.ProcessEnv = { ...process.env, ...tool.env(work) };
  delete env.STOWAGE_AGENT_SOCK;
  const step = async (what: string, cmd: Cmd): Promise<StepResult> => {
    const s = await runStep(cmd, env);
    if (s.code !== 0) throw new Error(`${what}: exit ${s.code ?? s.signal}: ${s.stderrTail.trim().split('\n').slice(-2).join(' | ')}`);
    return s;
  };
  try {
    spawnSync('sync');
    if (tool.before) Object.assign(env, await tool.before(work, env));
    await step('init', tool.init(repo));
    for (const [i, input] of inputs.entries()) {
      const s = await step(`snapshot v${i + 1}`, tool.snapshot(repo, input.path));
      result.snapshots.push(s);
      process.stderr.write(`  ${tool.name} run ${run} v${i + 1}: ${s.seconds.toFixed(2)} s\n`);
    }
    result.repoBytes = await dirBytes(repo);
    result.open = await step('open', tool.open(repo));
    const last = inputs[inputs.length - 1]!;
    const out = join(work, 'restored');
    result.restore = await step('restore', tool.restore(repo, out, last.path));
    const got = await sha256File(out);
    if (got !== last.sha256) throw new Error(`VERIFY FAILED: restored sha256 ${got} != ${last.sha256}`);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`!!! ${tool.name} run ${run} FAILED: ${result.error}\n`);
  } finally {
    result.load[1] = loadavg()[0] ?? 0;
    await tool.after?.(env).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
  return result;
}

interface Summary {
  tool: string;
  runs: number;
  totalS: number;
  perStepS: number[];
  wallMBs: number;
  inProcessMBs: number | null;
  cpuS: number | null;
  openS: number;
  restoreS: number;
  restoreMBs: number;
  repoMB: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function summarize(tool: Tool, runs: readonly Run[], inputBytes: number, lastBytes: number): Summary | undefined {
  const ok = runs.filter((r) => r.error === undefined);
  if (ok.length === 0) return undefined;
  const totals = ok.map((r) => sum(r.snapshots.map((s) => s.seconds)));
  const inProc = ok.map((r) => {
    const xs = r.snapshots.map((s) => tool.inProcess?.(s));
    return xs.every((x) => x !== undefined) ? sum(xs.map((x) => x!.bytes)) / 1e6 / sum(xs.map((x) => x!.seconds)) : Number.NaN;
  });
  const cpu = ok.map((r) => (r.snapshots.every((s) => s.cpuSeconds !== null) ? sum(r.snapshots.map((s) => s.cpuSeconds!)) : Number.NaN));
  const restore = median(ok.map((r) => r.restore!.seconds));
  return {
    tool: tool.name,
    runs: ok.length,
    totalS: median(totals),
    perStepS: Array.from({ length: ok[0]!.snapshots.length }, (_, i) => median(ok.map((r) => r.snapshots[i]!.seconds))),
    wallMBs: inputBytes / 1e6 / median(totals),
    inProcessMBs: inProc.some(Number.isNaN) ? null : median(inProc),
    cpuS: cpu.some(Number.isNaN) ? null : median(cpu),
    openS: median(ok.map((r) => r.open!.seconds)),
    restoreS: restore,
    restoreMBs: lastBytes / 1e6 / restore,
    repoMB: median(ok.map((r) => r.repoBytes!)) / 1e6,
  };
}

function table(rows: readonly Summary[]): string {
  const f2 = (x: number): string => x.toFixed(2);
  const out = [
    '| tool | 5 snapshots, s | v1 / v2 / v3 / v4 / v5, s | snapshot MB/s (wall, 5 processes) | snapshot MB/s (in-process) | snapshot CPU s | open repo, s | restore v5, s (MB/s) | repo MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.tool} | ${f2(r.totalS)} | ${r.perStepS.map(f2).join(' / ')} | ${r.wallMBs.toFixed(0)} | ${r.inProcessMBs === null ? 'n/a' : r.inProcessMBs.toFixed(0)} | ${r.cpuS === null ? 'n/a' : f2(r.cpuS)} | ${f2(r.openS)} | ${f2(r.restoreS)} (${r.restoreMBs.toFixed(0)}) | ${r.repoMB.toFixed(1)} |`,
    );
  }
  const plain = rows.find((r) => r.tool === 'stowage, plaintext');
  for (const enc of rows.filter((r) => r.tool.startsWith('stowage, encrypted'))) {
    if (!plain) break;
    const pct = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
    out.push(
      '',
      `Encryption cost (${enc.tool} vs plaintext): five snapshots' wall time ${pct(plain.totalS, enc.totalS)}, snapshot throughput ${pct(plain.wallMBs, enc.wallMBs)} wall over the five processes` +
        (plain.inProcessMBs !== null && enc.inProcessMBs !== null ? `, ${pct(plain.inProcessMBs, enc.inProcessMBs)} in-process` : '') +
        (plain.cpuS !== null && enc.cpuS !== null ? `; snapshot CPU ${pct(plain.cpuS, enc.cpuS)}` : '') +
        `; opening the repository +${((enc.openS - plain.openS) * 1000).toFixed(0)} ms per command; restore time ${pct(plain.restoreS, enc.restoreS)}.`,
    );
  }
  return out.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  const all: Record<string, () => Tool | undefined> = {
    plaintext: () => stowageTool(false),
    encrypted: () => stowageTool(true),
    agent: () => stowageTool(true, true),
    restic: resticTool,
  };
  const unknown = opts.tools.filter((t) => !(t in all));
  if (unknown.length) throw new Error(`unknown --tools ${unknown.join(',')} (known: ${Object.keys(all).join(',')})`);
  const tools = opts.tools.map((t) => all[t]!()).filter((t): t is Tool => t !== undefined);
  if (opts.tools.includes('restic') && !tools.some((t) => t.name === 'restic')) process.stderr.write('skipped restic: not installed\n');
  const inputs = await loadInputs(opts.corpus, opts.series);
  await mkdir(opts.tmp, { recursive: true });
  const startLoad = await waitForQuiet(opts.maxLoad, opts.waitLoad);
  const runs = new Map<string, Run[]>(tools.map((t) => [t.name, []]));
  for (let run = 1; run <= opts.runs; run++) {
    const order = tools.map((_, i) => tools[(i + run - 1) % tools.length]!);
    for (const tool of order) runs.get(tool.name)!.push(await runOnce(tool, inputs, opts.tmp, run));
  }
  const inputBytes = sum(inputs.map((i) => i.bytes));
  const rows = tools.map((t) => summarize(t, runs.get(t.name)!, inputBytes, inputs[inputs.length - 1]!.bytes)).filter((r): r is Summary => r !== undefined);
  const allLoads = [...runs.values()].flat().flatMap((r) => r.load);
  const machine = {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    memGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    gnuTime: hasGnuTime(),
    loadAtStart: startLoad,
    loadMin: Math.min(...allLoads),
    loadMax: Math.max(...allLoads),
  };
  const header =
    `${machine.date}, ${machine.cpu}, nproc ${machine.nproc}, ${machine.memGB} GB RAM, Linux ${machine.kernel}, node ${machine.node}; ` +
    `series ${opts.series}, ${(inputBytes / 1e6).toFixed(0)} MB in (v1..v5), restore v5 = ${(inputs[4]!.bytes / 1e6).toFixed(0)} MB; ` +
    `medians of ${opts.runs} interleaved run(s); 1-min load ${machine.loadAtStart.toFixed(2)} at start, ${machine.loadMin.toFixed(2)}..${machine.loadMax.toFixed(2)} during the runs`;
  const failures = [...runs.entries()].flatMap(([name, rs]) => rs.filter((r) => r.error !== undefined).map((r) => `- ${name} run ${r.run}: ${r.error}`));
  const settings = tools.map((t) => `- ${t.name}: ${t.settings}`);
  const md = [header, '', table(rows), '', ...settings, ...(failures.length ? ['', ...failures] : [])].join('\n');
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify({ machine, options: opts, inputs, runs: Object.fromEntries(runs), rows }, null, 2)}\n`);
  await writeFile(opts.out.replace(/\.json$/, '') + '.md', md + '\n');
  process.stdout.write(md + '\n');
  return failures.length ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`encryption: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
