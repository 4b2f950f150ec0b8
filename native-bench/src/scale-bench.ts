#!/usr/bin/env node
/**
 * scale-bench.ts — do bigger inputs and bigger repositories cost more per byte? (issue 13 item 5)
 *
 *   node native-bench/dist/scale-bench.js build   [--blobs 10000000] [--step-mb 512] [--minutes 8]
 *   node native-bench/dist/scale-bench.js measure [--inputs raw,tar] [--raw-mb 64] [--tar-mb 256] [--runs 1]
 *   node native-bench/dist/scale-bench.js big-tar [--tar-gb 10] [--control-gb 1] [--skip-control]
 *   common: [--tmp /work/bench-tmp/scale] [--corpus /work/corpus/deb] [--out native-bench/results/scale-<cmd>.json]
 *
 * build: grows ONE repository, `<tmp>/big` (plaintext, tiny chunks: init --chunk-avg 256
 *   --chunk-min 64 --chunk-max 1024, about 310 bytes a chunk of random data), by snapshots of
 *   seeded random files of --step-mb each (`snapshot --format raw`, each a separate `stowage`
 *   process, like a user), until its index holds --blobs blobs or --minutes have passed (so
 *   it can be built in parts, each under the bench lock); the state (snapshots, blob count)
 *   is in `<tmp>/big/state.json`, and the next call goes on from there.
 * measure: the same input snapshotted into a fresh empty repository of the same settings and
 *   into the big one (each a separate process; wall, CPU, peak RSS by GNU time): `raw` is
 *   --raw-mb of random bytes (tiny chunks: one blob per ~310 bytes), `tar` an image-like
 *   docker-archive of --tar-mb (gen-image.ts; file boundaries, then tiny chunks). Every run
 *   uses a new seed, so its input is new to the big repository too.
 * big-tar: (a) default chunk settings, plaintext, each into a fresh repository: the corpus's
 *   v1.docker.tar, a --control-gb generated image-like tar and a --tar-gb one (gen-image.ts,
 *   30 % of each later layer's files repeated from earlier layers); bytes/s and peak RSS.
 *   The generated tars are kept under <tmp> and reused.
 *
 * Run each call under the bench lock: `flock /work/bench.lock node native-bench/dist/scale-bench.js ...`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeRandom } from './data.js';
import { readPool, writeImage } from './gen-image.js';
import { dirBytes, hasGnuTime, runStep, type StepResult } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PKG_DIR, '..');
const TINY = ['--chunk-avg', '256', '--chunk-min', '64', '--chunk-max', '1024'];
const MB = 1e6;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tmp: { type: 'string', default: '/work/bench-tmp/scale' },
    corpus: { type: 'string', default: '/work/corpus/deb' },
    out: { type: 'string' },
    blobs: { type: 'string', default: '10000000' },
    'step-mb': { type: 'string', default: '512' },
    minutes: { type: 'string', default: '8' },
    inputs: { type: 'string', default: 'raw,tar' },
    'raw-mb': { type: 'string', default: '64' },
    'tar-mb': { type: 'string', default: '256' },
    runs: { type: 'string', default: '1' },
    'tar-gb': { type: 'string', default: '10' },
    'control-gb': { type: 'string', default: '1' },
    'skip-control': { type: 'boolean', default: false },
    'skip-corpus': { type: 'boolean', default: false },
  },
});
const cmd = positionals[0] ?? '';
const tmp = resolve(values.tmp);
const big = join(tmp, 'big');
const st = stowageArgv(REPO_ROOT);
const load = (): number => loadavg()[0] ?? 0;
const log = (s: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

interface Measured {
  what: string;
  bytes: number;
  seconds: number;
  cpuSeconds: number | null;
  rssMB: number | null;
  chunks?: number;
  newChunks?: number;
  bytesNew?: number;
  mbPerSec: number;
  cpuSecPerGB: number | null;
  load: [number, number];
  repoBlobsBefore?: number;
  /** The big repository's index cache before the snapshot: its bytes and LevelDB tables (its CPU per byte depends on them: compaction). */
  cacheBefore?: { bytes: number; tables: number };
}

function envFor(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, STOWAGE_REPOSITORY: join(dir, 'repo'), STOWAGE_CACHE_DIR: join(dir, 'cache') };
}

async function step(what: string, argv: string[], env: NodeJS.ProcessEnv): Promise<StepResult> {
  const s = await runStep({ argv: [...st, ...argv] }, env);
  if (s.code !== 0) throw new Error(`${what}: exit ${s.code ?? s.signal}: ${s.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
  return s;
}

/** Snapshots `file` into the repository of `dir`, measured. */
async function snapshot(what: string, dir: string, file: string, format: 'raw' | 'auto'): Promise<Measured> {
  const bytes = (await stat(file)).size;
  const l0 = load();
  const s = await step(what, ['snapshot', file, '--json', '--format', format, '--name', what.split(' ')[0]!], envFor(dir));
  const j = s.json as { chunks?: number; newChunks?: number; bytesNew?: number; summary?: { chunks: number; newChunks: number; bytesNew: number } };
  const sum = j.summary ?? j;
  const m: Measured = {
    what,
    bytes,
    seconds: s.seconds,
    cpuSeconds: s.cpuSeconds,
    rssMB: s.rssKB === null ? null : s.rssKB / 1024,
    ...(sum.chunks !== undefined && { chunks: sum.chunks }),
    ...(sum.newChunks !== undefined && { newChunks: sum.newChunks }),
    ...(sum.bytesNew !== undefined && { bytesNew: sum.bytesNew }),
    mbPerSec: bytes / MB / s.seconds,
    cpuSecPerGB: s.cpuSeconds === null ? null : s.cpuSeconds / (bytes / 1e9),
    load: [l0, load()],
  };
  log(
    `${what}: ${(bytes / MB).toFixed(0)} MB in ${s.seconds.toFixed(1)} s (${m.mbPerSec.toFixed(1)} MB/s), CPU ${s.cpuSeconds?.toFixed(1)} s, RSS ${m.rssMB?.toFixed(0)} MiB, ${m.newChunks ?? '?'} new of ${m.chunks ?? '?'} chunks, load ${m.load.map((x) => x.toFixed(1)).join('-')}`,
  );
  return m;
}

interface BuildState {
  blobs: number;
  inputBytes: number;
  snapshots: (Measured & { seed: string })[];
}

async function readState(): Promise<BuildState> {
  const f = join(big, 'state.json');
  return existsSync(f) ? (JSON.parse(await readFile(f, 'utf8')) as BuildState) : { blobs: 0, inputBytes: 0, snapshots: [] };
}

async function build(): Promise<BuildState> {
  const target = Number(values.blobs);
  const stepBytes = Number(values['step-mb']) * MB;
  const until = Date.now() + Number(values.minutes) * 60_000;
  await mkdir(big, { recursive: true });
  if (!existsSync(join(big, 'repo'))) await step('init', ['init', '--insecure-no-encryption', ...TINY], envFor(big));
  const state = await readState();
  while (state.blobs < target && Date.now() < until) {
    const seed = `scale-big-${state.snapshots.length}`;
    const file = join(big, 'input.bin');
    await writeRandom(file, seed, stepBytes);
    const blobsBefore = state.blobs;
    const m = await snapshot(`build ${state.snapshots.length} (repository of ${blobsBefore} blobs)`, big, file, 'raw');
    await rm(file);
    state.blobs += m.newChunks ?? 0;
    state.inputBytes += stepBytes;
    state.snapshots.push({ ...m, seed, repoBlobsBefore: blobsBefore });
    await writeFile(join(big, 'state.json'), JSON.stringify(state, null, 1));
  }
  log(`big repository: ${state.blobs} blobs from ${state.snapshots.length} snapshots of ${(state.inputBytes / MB).toFixed(0)} MB`);
  return state;
}

/** An image-like docker-archive of `bytes` (generated once per seed and size, then reused). */
async function genTar(bytes: number, seed: number, name: string): Promise<string> {
  const file = join(tmp, `gen-${seed}-${Math.round(bytes / MB)}mb.tar`);
  if (existsSync(file) && existsSync(`${file}.json`)) return file;
  const pool = readPool(join(values.corpus, 'v1.rootfs.tar'));
  const t0 = performance.now();
  const r = writeImage(file, pool, { bytes, layers: Math.max(2, Math.min(20, Math.round(bytes / (256 * MB)))), repeat: 0.3, seed, name });
  await writeFile(`${file}.json`, JSON.stringify(r));
  log(
    `generated ${file}: ${(r.bytes / MB).toFixed(0)} MB, ${r.files} files, ${r.repeatedFiles} repeated (${((100 * r.repeatedBytes) / r.bytes).toFixed(1)} % of the bytes), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  return file;
}

async function fresh(prefix: string, init: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmp, prefix));
  await step('init', ['init', '--insecure-no-encryption', ...init], envFor(dir));
  return dir;
}

async function measure(): Promise<Measured[]> {
  const state = await readState();
  if (state.blobs === 0) throw new Error(`no big repository in ${big}: run "build" first`);
  const out: Measured[] = [];
  const runs = Number(values.runs);
  for (let run = 0; run < runs; run++) {
    const seed = Date.now() % 1_000_000_000;
    for (const kind of values.inputs.split(',')) {
      const file = kind === 'raw' ? join(tmp, `raw-${seed}.bin`) : await genTar(Number(values['tar-mb']) * MB, seed, `scale/tar:${seed}`);
      if (kind === 'raw') await writeRandom(file, `scale-raw-${seed}`, Number(values['raw-mb']) * MB);
      const format = kind === 'raw' ? 'raw' : 'auto';
      const empty = await fresh('empty-', TINY);
      try {
        out.push(await snapshot(`${kind} into an empty repository`, empty, file, format));
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
      const before = (await readState()).blobs;
      const cacheBefore = await cacheState(join(big, 'cache'));
      log(`big repository's index cache: ${(cacheBefore.bytes / MB).toFixed(0)} MB in ${cacheBefore.tables} LevelDB tables`);
      const m = await snapshot(`${kind} into the big repository (${before} blobs)`, big, file, format);
      m.repoBlobsBefore = before;
      m.cacheBefore = cacheBefore;
      out.push(m);
      const s = await readState();
      s.blobs += m.newChunks ?? 0;
      await writeFile(join(big, 'state.json'), JSON.stringify(s, null, 1));
      await rm(file);
      await rm(`${file}.json`, { force: true });
    }
  }
  return out;
}

/** Bytes and LevelDB tables (.ldb files) of an index cache directory (all slots). */
async function cacheState(dir: string): Promise<{ bytes: number; tables: number }> {
  let bytes = 0;
  let tables = 0;
  for (const ent of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!ent.isFile()) continue;
    bytes += (await stat(join(ent.parentPath, ent.name))).size;
    if (ent.name.endsWith('.ldb')) tables++;
  }
  return { bytes, tables };
}

async function bigTar(): Promise<Measured[]> {
  const out: Measured[] = [];
  const inputs: { what: string; file: string }[] = [];
  if (!values['skip-corpus']) inputs.push({ what: 'corpus v1.docker.tar', file: join(values.corpus, 'v1.docker.tar') });
  if (!values['skip-control']) inputs.push({ what: `generated ${values['control-gb']} GB tar`, file: await genTar(Number(values['control-gb']) * 1e9, 1, 'scale/gen:control') });
  inputs.push({ what: `generated ${values['tar-gb']} GB tar`, file: await genTar(Number(values['tar-gb']) * 1e9, 2, 'scale/gen:big') });
  for (const { what, file } of inputs) {
    const dir = await fresh('tar-', []);
    try {
      const m = await snapshot(what, dir, file, 'auto');
      log(`  repository ${(await dirBytes(join(dir, 'repo'))) / MB} MB`);
      out.push(m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return out;
}

async function main(): Promise<void> {
  if (!hasGnuTime()) log('no GNU time (/usr/bin/time): no CPU or RSS figures');
  await mkdir(tmp, { recursive: true });
  const t0 = load();
  let result: unknown;
  if (cmd === 'build') result = await build();
  else if (cmd === 'measure') result = await measure();
  else if (cmd === 'big-tar') result = await bigTar();
  else throw new Error('usage: scale-bench.js build|measure|big-tar [options] (see the head of native-bench/src/scale-bench.ts)');
  const outFile = resolve(values.out ?? join(PKG_DIR, 'results', `scale-${cmd}.json`));
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, JSON.stringify({ when: new Date().toISOString(), load: [t0, load()], result }, null, 1));
  log(`wrote ${outFile}`);
}

await main();
