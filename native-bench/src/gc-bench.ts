#!/usr/bin/env node
/**
 * gc-bench.ts — deleting data, measured.
 *
 * 1. corpus: on deb v1..v5 (docker.tar, and rootfs.tar: --series) a fresh repository per tool gets five snapshots, then
 *    "forget all but the last two, then gc" as one command, side by side:
 *      stowage forget --keep-last 2 --prune        (one group: every snapshot is named deb)
 *      restic  forget --keep-last 2 --prune --group-by ''   (restic groups by path otherwise)
 *    Reported: seconds and peak RSS of that command, and bytes freed (repository size before
 *    minus after; du -sb without directory entries). Both keep at most 5% unused (the default
 *    of both). Both repositories are encrypted. Medians over --runs.
 * 2. blobs: a repository of at least --blobs (default 2,000,000) blobs, made with tiny chunks
 *    (init --chunk-avg 256 --chunk-min 64 --chunk-max 1024) from seeded random files; forget
 *    half the snapshots; then the peak RSS (GNU time) and seconds of `stowage gc`, and of
 *    `stowage check` on the result.
 * 3. repack (--mode repack): the same size, but every pack half used after forget, so gc
 *    repacks nearly everything: peak RSS and seconds of gc and of check --read-data.
 *
 *   node native-bench/dist/gc-bench.js [--mode corpus,blobs,repack] [--series docker,rootfs] [--max-unused 0] [--runs 3] [--corpus /work/corpus-out]
 *     [--blobs 2000000] [--tmp /work/bench-tmp] [--out native-bench/results/gc.json]
 * Each step is a separate process (peers/runner.ts: hrtime wall clock, /usr/bin/time RSS).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeRandom } from './data.js';
import { median } from './peers/report.js';
import { dirBytes, hasGnuTime, runStep, which, type Cmd, type StepResult } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PKG_DIR, '..');

interface Options {
  /** --max-unused for both tools ('' = their default, 5%). */
  maxUnused: string;
  modes: string[];
  series: string[];
  runs: number;
  corpus: string;
  blobs: number;
  tmp: string;
  out: string;
  /** Longest wait for a quiet machine before each measured step, seconds (then it runs anyway and says so). */
  waitLoad: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'corpus,blobs' },
      'max-unused': { type: 'string', default: '' },
      series: { type: 'string', default: 'docker,rootfs' },
      runs: { type: 'string', default: '3' },
      corpus: { type: 'string', default: '/work/corpus-out' },
      blobs: { type: 'string', default: '2000000' },
      tmp: { type: 'string', default: '/work/bench-tmp' },
      out: { type: 'string' },
      'wait-load': { type: 'string', default: '1800' },
    },
  });
  return {
    maxUnused: values['max-unused'],
    modes: values.mode.split(',').map((s) => s.trim()),
    series: values.series.split(',').map((s) => s.trim()),
    runs: Number(values.runs),
    corpus: resolve(values.corpus),
    blobs: Number(values.blobs),
    tmp: resolve(values.tmp),
    out: resolve(values.out ?? join(PKG_DIR, 'results', 'gc.json')),
    waitLoad: Number(values['wait-load']),
  };
}

const load = (): number => loadavg()[0] ?? 0;
const mb = (b: number): string => (b / 1e6).toFixed(1);

async function step(what: string, cmd: Cmd, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const s = await runStep(cmd, env);
  if (s.code !== 0) throw new Error(`${what}: exit ${s.code ?? s.signal}: ${s.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
  return s;
}

/** Another benchmark of this package running (its numbers and ours would both suffer)? */
function otherBenchmark(): string | undefined {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
  for (const line of ps.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || Number(m[1]) === process.pid) continue;
    if (/native-bench\/dist\/(?!gc-bench)[\w-]+\.js/.test(m[2]!)) return m[2]!.slice(0, 80);
  }
  return undefined;
}

/** Waits (at most `seconds`) until the 1-minute load is below `max` and no other benchmark runs. */
let waitLoadSeconds = 1800;

async function waitForQuiet(max = 1.5, seconds = waitLoadSeconds): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const other = otherBenchmark();
    if (load() < max && !other) return;
    if (Date.now() - t0 > seconds * 1000) {
      process.stderr.write(`still busy after ${seconds} s (load ${load().toFixed(2)}${other ? `, ${other}` : ''}); running anyway\n`);
      return;
    }
    process.stderr.write(`waiting for a quiet machine: load ${load().toFixed(2)}${other ? `; running: ${other}` : ''}\n`);
    await new Promise((r) => setTimeout(r, 20_000));
  }
}

interface CorpusRun {
  series: string;
  tool: string;
  run: number;
  snapshotsS: number;
  bytesBefore: number;
  bytesAfter: number;
  forgetGc: StepResult;
  /** Unused bytes left in the repository after forget + gc (a dry run of each tool's prune), when known. */
  unusedAfter: number | null;
  load: [number, number];
}

/** deb v1..v5 into a fresh repo, then forget all but the last two + gc, for one tool. */
async function corpusRun(series: string, tool: 'stowage' | 'restic', inputs: string[], tmp: string, run: number, maxUnused: string): Promise<CorpusRun> {
  const mu = maxUnused ? ['--max-unused', maxUnused] : [];
  const work = await mkdtemp(join(tmp, `gc-${tool}-`));
  const repo = join(work, 'repo');
  const l0 = load();
  const st = stowageArgv(REPO_ROOT);
  const env =
    tool === 'stowage'
      ? { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), STOWAGE_PASSWORD: 'x', STOWAGE_INSECURE_PLAINTEXT: '1', STOWAGE_REPOSITORY: repo }
      : { ...process.env, RESTIC_PASSWORD: 'x', RESTIC_CACHE_DIR: join(work, 'restic-cache') };
  try {
    spawnSync('sync');
    await step('init', tool === 'stowage' ? { argv: [...st, 'init'] } : { argv: ['restic', 'init', '-r', repo] }, env);
    let snapshotsS = 0;
    for (const f of inputs) {
      const s = await step(`snapshot ${f}`, tool === 'stowage' ? { argv: [...st, 'snapshot', f, '--name', 'deb', '-q'] } : { argv: ['restic', '-r', repo, 'backup', '-q', f] }, env);
      snapshotsS += s.seconds;
    }
    spawnSync('sync');
    const bytesBefore = await dirBytes(repo);
    const forgetGc = await step(
      'forget + gc',
      tool === 'stowage' ? { argv: [...st, 'forget', '--keep-last', '2', '--prune', ...mu] } : { argv: ['restic', '-r', repo, 'forget', '--keep-last', '2', '--prune', '--group-by', '', ...mu] },
      env,
    );
    const bytesAfter = await dirBytes(repo);
    // what is left unused (within --max-unused): each tool's own dry run
    let unusedAfter: number | null = null;
    if (tool === 'stowage') {
      const d = await step('gc --dry-run', { argv: [...st, 'gc', '--dry-run', '--json', ...mu] }, env);
      unusedAfter = (d.json as { plan: { stats: { unusedBytes: number } } }).plan.stats.unusedBytes;
    } else {
      const d = await step('prune --dry-run', { argv: ['restic', '-r', repo, 'prune', '--dry-run', ...mu] }, env);
      const m = /unused size after prune:\s+([\d.]+)\s*(B|KiB|MiB|GiB)/.exec(d.stdout);
      if (m) unusedAfter = Number(m[1]) * ({ B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as Record<string, number>)[m[2]!]!;
    }
    // the result must still be sound
    await step('check', tool === 'stowage' ? { argv: [...st, 'check', '--read-data'] } : { argv: ['restic', '-r', repo, 'check', '--read-data'] }, env);
    process.stderr.write(`  ${series} ${tool} run ${run}: forget+gc ${forgetGc.seconds.toFixed(2)} s, freed ${mb(bytesBefore - bytesAfter)} MB\n`);
    return { series, tool, run, snapshotsS, bytesBefore, bytesAfter, forgetGc, unusedAfter, load: [l0, load()] };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface BlobsResult {
  inputBytes: number;
  blobs: number;
  snapshotsS: number;
  /** Every snapshot step: what, chunks, seconds, CPU-seconds, peak RSS (the memory bound of a tiny-chunk snapshot, issue 13 item 5). */
  snapshots: { what: string; chunks: number; seconds: number; cpuSeconds: number | null; rssKB: number | null }[];
  repoBytes: number;
  gcDry: StepResult;
  gc: StepResult;
  check: StepResult;
  plan: unknown;
  result: unknown;
  load: [number, number];
}

/**
 * A repository of tiny chunks (init --chunk-avg 256 --chunk-min 64 --chunk-max 1024) in a
 * temp dir: `fill` snapshots into it and returns the ids to forget and the input bytes; then
 * forget, and gc --dry-run, gc and `check` (with `checkArgs`) are measured. The dir is removed.
 */
async function tinyChunkRun(
  opts: Options,
  prefix: string,
  checkArgs: readonly string[],
  fill: (ctx: {
    work: string;
    snapshot: (file: string, what: string) => Promise<{ id: string; chunks: number; seconds: number; rssKB: number | null }>;
  }) => Promise<{ forget: string[]; inputBytes: number }>,
): Promise<BlobsResult> {
  const work = await mkdtemp(join(opts.tmp, prefix));
  const repo = join(work, 'repo');
  const st = stowageArgv(REPO_ROOT);
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), STOWAGE_REPOSITORY: repo };
  try {
    await step('init', { argv: [...st, 'init', '--insecure-no-encryption', '--chunk-avg', '256', '--chunk-min', '64', '--chunk-max', '1024'] }, env);
    let snapshotsS = 0;
    const snapshots: BlobsResult['snapshots'] = [];
    const snapshot = async (file: string, what: string) => {
      const s = await step(what, { argv: [...st, 'snapshot', file, '--json', '--format', 'raw'] }, env);
      snapshotsS += s.seconds;
      const j = s.json as { id: string; chunks: number };
      snapshots.push({ what, chunks: j.chunks, seconds: s.seconds, cpuSeconds: s.cpuSeconds, rssKB: s.rssKB });
      return { id: j.id, chunks: j.chunks, seconds: s.seconds, rssKB: s.rssKB };
    };
    const { forget, inputBytes } = await fill({ work, snapshot });
    const repoBytes = await dirBytes(repo);
    await step('forget', { argv: [...st, 'forget', ...forget] }, env);
    await waitForQuiet();
    const l0 = load();
    const gcDry = await step('gc --dry-run', { argv: [...st, 'gc', '--dry-run', '--json'] }, env);
    const gc = await step('gc', { argv: [...st, 'gc', '--json'] }, env);
    const check = await step('check', { argv: [...st, 'check', ...checkArgs, '--json'] }, env);
    const doc = gc.json as { plan: { stats: { blobs: number } }; result: unknown };
    return { inputBytes, blobs: doc.plan.stats.blobs, snapshotsS, snapshots, repoBytes, gcDry, gc, check, plan: doc.plan, result: doc.result, load: [l0, load()] };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function blobsRun(opts: Options): Promise<BlobsResult> {
  // measured average chunk: about 310 bytes; four files, so forgetting two frees half
  const perFile = Math.ceil((opts.blobs * 330) / 4);
  return tinyChunkRun(opts, 'gc-blobs-', [], async ({ work, snapshot }) => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = join(work, `in-${i}`);
      await writeRandom(f, `gc-blobs-${i}`, perFile);
      const s = await snapshot(f, `snapshot ${i}`);
      ids.push(s.id);
      process.stderr.write(`  blobs: snapshot ${i} of ${mb(perFile)} MB: ${s.seconds.toFixed(1)} s, ${s.chunks} chunks, RSS ${((s.rssKB ?? 0) / 1024).toFixed(0)} MiB\n`);
      await rm(f);
    }
    return { forget: [ids[0]!, ids[2]!], inputBytes: perFile * 4 };
  });
}

/**
 * The repack case: snapshots F0..F3 of random files, then G0..G3 each holding every other
 * 64 KiB block of Fi (so G shares about half of F's chunks); forgetting F0..F3 leaves every
 * pack about half used, and gc (default --max-unused 5%) repacks nearly all of them.
 */
async function repackRun(opts: Options): Promise<BlobsResult> {
  const perFile = Math.ceil((opts.blobs * 330) / 4);
  return tinyChunkRun(opts, 'gc-repack-', ['--read-data'], async ({ work, snapshot }) => {
    const forget: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = join(work, `f-${i}`);
      const g = join(work, `g-${i}`);
      await writeRandom(f, `gc-repack-${i}`, perFile);
      const data = await readFile(f);
      const half: Buffer[] = [];
      for (let off = 0; off < data.length; off += 128 << 10) half.push(data.subarray(off, Math.min(data.length, off + (64 << 10))));
      await writeFile(g, Buffer.concat(half));
      for (const [file, keep] of [
        [f, false],
        [g, true],
      ] as const) {
        const s = await snapshot(file, `snapshot ${file}`);
        if (!keep) forget.push(s.id);
        process.stderr.write(`  repack: snapshot ${file}: ${s.seconds.toFixed(1)} s, ${s.chunks} chunks\n`);
      }
      await rm(f);
      await rm(g);
    }
    return { forget, inputBytes: perFile * 6 };
  });
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  waitLoadSeconds = opts.waitLoad;
  await mkdir(opts.tmp, { recursive: true });
  if (!hasGnuTime()) process.stderr.write('no GNU time (/usr/bin/time): no RSS figures\n');
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { nproc: availableParallelism(), cpu: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30), node: process.version },
    restic: which('restic') ? spawnSync('restic', ['version']).stdout.toString().trim() : 'not installed',
  };
  const md: string[] = [];

  if (opts.modes.includes('corpus')) {
    const dir = existsSync(join(opts.corpus, 'deb')) ? join(opts.corpus, 'deb') : opts.corpus;
    const runs: CorpusRun[] = [];
    const tools = (['stowage', 'restic'] as const).filter((t) => t === 'stowage' || which('restic'));
    md.push(
      '| series | tool, command | forget + gc, s | peak RSS, MB | repo before, MB | repo after, MB | freed, MB | unused left, MB | load (start/end of each run) |',
      '|---|---|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const series of opts.series) {
      const inputs = [1, 2, 3, 4, 5].map((v) => join(dir, `v${v}.${series}.tar`));
      for (const f of inputs) {
        if (!existsSync(f)) throw new Error(`missing ${f}`);
        spawnSync('cat', [f], { stdio: ['ignore', 'ignore', 'ignore'] }); // page cache
      }
      for (let run = 1; run <= opts.runs; run++) {
        for (const tool of tools) {
          await waitForQuiet();
          runs.push(await corpusRun(series, tool, inputs, opts.tmp, run, opts.maxUnused));
        }
      }
      for (const tool of tools) {
        const rs = runs.filter((r) => r.tool === tool && r.series === series);
        const mu = opts.maxUnused ? ` --max-unused ${opts.maxUnused}` : '';
        const cmd = tool === 'stowage' ? `\`stowage forget --keep-last 2 --prune${mu}\`` : `\`restic forget --keep-last 2 --prune --group-by ''${mu}\``;
        const left = rs.every((r) => r.unusedAfter !== null) ? mb(median(rs.map((r) => r.unusedAfter!))) : 'n/a';
        const rss = rs.every((r) => r.forgetGc.rssKB !== null) ? mb(median(rs.map((r) => r.forgetGc.rssKB! * 1024))) : 'n/a';
        md.push(
          `| ${series} | ${tool}: ${cmd} | ${median(rs.map((r) => r.forgetGc.seconds)).toFixed(2)} | ${rss} | ${mb(median(rs.map((r) => r.bytesBefore)))} | ${mb(median(rs.map((r) => r.bytesAfter)))} | ${mb(median(rs.map((r) => r.bytesBefore - r.bytesAfter)))} | ${left} | ${rs.map((r) => r.load.map((x) => x.toFixed(2)).join('/')).join(', ')} |`,
        );
      }
    }
    report.corpus = runs;
    md.push('');
  }

  if (opts.modes.includes('blobs')) {
    await waitForQuiet();
    const b = await blobsRun(opts);
    report.blobs = b;
    const rss = (s: StepResult) => (s.rssKB === null ? 'n/a' : mb(s.rssKB * 1024));
    md.push(
      `Repository of ${b.blobs.toLocaleString('en')} blobs (${mb(b.inputBytes)} MB of random input in 4 snapshots with --chunk-avg 256 --chunk-min 64 --chunk-max 1024; ${mb(b.repoBytes)} MB repository), two snapshots forgotten:`,
      '',
      '| command | seconds | peak RSS, MB |',
      '|---|---:|---:|',
      ...b.snapshots.map(
        (s) =>
          `| \`stowage snapshot --format raw\` (${s.what}: ${s.chunks.toLocaleString('en')} chunks, ${s.cpuSeconds === null ? 'n/a' : s.cpuSeconds.toFixed(1)} CPU-s) | ${s.seconds.toFixed(2)} | ${s.rssKB === null ? 'n/a' : mb(s.rssKB * 1024)} |`,
      ),
      `| \`stowage gc --dry-run\` | ${b.gcDry.seconds.toFixed(2)} | ${rss(b.gcDry)} |`,
      `| \`stowage gc\` | ${b.gc.seconds.toFixed(2)} | ${rss(b.gc)} |`,
      `| \`stowage check\` (after gc) | ${b.check.seconds.toFixed(2)} | ${rss(b.check)} |`,
      '',
      `Load average at the start / end of the gc steps: ${b.load.map((x) => x.toFixed(2)).join(' / ')}.`,
    );
  }

  if (opts.modes.includes('repack')) {
    await waitForQuiet();
    const b = await repackRun(opts);
    report.repack = b;
    const rss = (s: StepResult) => (s.rssKB === null ? 'n/a' : mb(s.rssKB * 1024));
    const st = (b.plan as { stats: { repackBytes: number; repackUsedBytes: number } }).stats;
    md.push(
      `Repack case: ${b.blobs.toLocaleString('en')} blobs (${mb(b.repoBytes)} MB repository: 4 random files and 4 files of every other 64 KiB block of them; the 4 full ones forgotten, so gc repacks ${mb(st.repackBytes)} MB of packs, copying ${mb(st.repackUsedBytes)} MB):`,
      '',
      '| command | seconds | peak RSS, MB |',
      '|---|---:|---:|',
      ...b.snapshots.map(
        (s) =>
          `| \`stowage snapshot --format raw\` (${s.what}: ${s.chunks.toLocaleString('en')} chunks, ${s.cpuSeconds === null ? 'n/a' : s.cpuSeconds.toFixed(1)} CPU-s) | ${s.seconds.toFixed(2)} | ${s.rssKB === null ? 'n/a' : mb(s.rssKB * 1024)} |`,
      ),
      `| \`stowage gc --dry-run\` | ${b.gcDry.seconds.toFixed(2)} | ${rss(b.gcDry)} |`,
      `| \`stowage gc\` | ${b.gc.seconds.toFixed(2)} | ${rss(b.gc)} |`,
      `| \`stowage check --read-data\` (after gc) | ${b.check.seconds.toFixed(2)} | ${rss(b.check)} |`,
      '',
      `Load average at the start / end of the gc steps: ${b.load.map((x) => x.toFixed(2)).join(' / ')}.`,
    );
  }

  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, JSON.stringify(report, null, 2) + '\n');
  await writeFile(opts.out.replace(/\.json$/, '.md'), md.join('\n') + '\n');
  process.stdout.write(md.join('\n') + '\n');
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`gc-bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
