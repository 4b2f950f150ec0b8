#!/usr/bin/env node
/**
 * profile.ts — where the CPU-seconds of Stowage's five snapshots and of the restore go, per
 * stage, as users run it: a fresh repository, snapshot v1..v5 of a corpus series and restore
 * v5 to a file, each step its own `stowage` process run under `node --cpu-prof` (every
 * thread: the main one and the codec workers) and GNU time (user + sys CPU-seconds).
 *
 *   node native-bench/dist/profile.js [--corpus /work/corpus] [--series docker]
 *     [--modes plaintext,encrypted,agent] [--tmp /work/bench-tmp] [--out native-bench/results/profile-<series>.json]
 *
 * Modes: `plaintext` (init --insecure-no-encryption), `encrypted` (the default: scrypt
 * N=2^16 key file, the password in STOWAGE_PASSWORD), `agent` (encrypted, with the opt-in key
 * agent started before init).
 *
 * How a step's CPU-seconds are split: V8's sampler charges wall time between samples to the
 * function running, so on a loaded machine the sampled total exceeds the CPU time. Per step,
 * the sampled non-idle time of each stage (functions classified by name, `stageOf`) is scaled
 * so that the stages sum to the step's CPU-seconds minus two parts the sampler cannot see and
 * that are measured apart on the same machine: process start (`stowage --version`, CPU-seconds,
 * median of 5) and, for encrypted steps without an agent, the password's scrypt (libuv's thread
 * pool; CPU-seconds of one derivation, median of 5).
 */
import { spawnSync } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './peers/report.js';
import { runStep, sha256File, type StepResult } from './peers/runner.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PKG_DIR, '..');
const BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'stowage.js');

/** Stages, in report order. */
export const STAGES = [
  'process start (measured apart)',
  'key derivation, scrypt (measured apart)',
  'module loading, worker start-up',
  'reading input, writing output (fs)',
  'tar splitting, file maps',
  'chunking (FastCDC)',
  'BLAKE3 ids and verification',
  'SHA-256 (input digest, layer digests)',
  'index lookups (LevelDB getMany)',
  'LevelDB writes, open, close',
  'compression (zstd)',
  'delta compression (zstd with a base)',
  'delta bases (read, decode)',
  'verification of new blobs (decompress)',
  'decompression',
  'encryption, decryption (AES-GCM)',
  'pack and index writing',
  'memory copies (into and out of shared slots)',
  'worker messaging (postMessage)',
  'garbage collector',
  'restore planning, windows',
  'native, unattributed ((program))',
  'other JavaScript',
] as const;
export type Stage = (typeof STAGES)[number];

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/**
 * The stage of a sampled function (self time), by its name and script. `restore` tells
 * verification from decompression; `source` is the text at the function's line (the keyed
 * BLAKE3 hasher is a closure, the layers' BLAKE3 stream a method named `update`); `caller`
 * the name of the function that called it (a snapshot decompresses in decodeInto to read
 * delta bases, in verifyEncoded to check what it stores).
 */
export function stageOf(f: CallFrame, restore: boolean, source = '', caller = ''): Stage | 'idle' {
  const n = f.functionName;
  if ((n === '' || n === 'update' || n === 'digestHex') && /hasher|blake3/i.test(source)) return 'BLAKE3 ids and verification';
  const u = f.url;
  if (n === '(idle)') return 'idle';
  if (n === '(garbage collector)') return 'garbage collector';
  if (n === 'postMessage' || n === 'receiveMessageOnPort') return 'worker messaging (postMessage)';
  if (n === 'compressInto') return 'compression (zstd)';
  if (n === 'compressWithDictInto') return 'delta compression (zstd with a base)';
  if (n === 'decompressInto' || n === 'decompressWithDictInto') {
    if (restore) return 'decompression';
    return caller === 'decodeInto' || caller === 'decodeOne' ? 'delta bases (read, decode)' : 'verification of new blobs (decompress)';
  }
  if (n === 'compare' && caller === 'verifyEncoded') return 'verification of new blobs (decompress)';
  // FrameDecoder.fill: a frame decoded as far as its members needed (streaming zstd)
  if (n === 'fill' && /codec-worker|stowage\.bundle/.test(u)) return restore ? 'decompression' : 'delta bases (read, decode)';
  if (/blake3|idHasher|digestBuffer|textHash/i.test(n)) return 'BLAKE3 ids and verification';
  // typed-array copies run inside the function that asks for them: these copy chunks into encode slots and carried tails out of read slots
  if (/^(queueNew|join|copyBytes|copyViews)$/.test(n) || (n === 'fill' && u === '')) return 'memory copies (into and out of shared slots)';
  // the bundle compiled from (or into) its V8 code cache
  if (/^(Script|createCachedData|readFileUtf8|requireWithCodeCache|writeCache)$/.test(n)) return 'module loading, worker start-up';
  if (/crypto\/hash/.test(u) || n === 'digest') return 'SHA-256 (input digest, layer digests)';
  if (/crypto\/cipher|aead/.test(u) || /^(seal|sealInto|open|setAuthTag|getAuthTag|createCipheriv|createDecipheriv|prepareSecretKey|_copyActual)$/.test(n)) return 'encryption, decryption (AES-GCM)';
  if (/^wasm-function/.test(n) || /^(cuts|cut|cutter|gear|nextCut)$/i.test(n)) return 'chunking (FastCDC)';
  if (/_getMany|getMany|lookup/.test(n)) return 'index lookups (LevelDB getMany)';
  if (/classic-level|abstract-level|level-transcoder|leveldown/.test(u)) return 'LevelDB writes, open, close';
  if (
    /^(compileForInternalLoader|wrapSafe|compileSourceTextModule|parseSource|parseCJS|tryParseRequire|dlopen|internalBinding|startThread|compileFunction|defaultResolve|moduleResolve|finalizeResolution|resolveExports|initializeImportMeta|prepareExecution)$/.test(
      n,
    ) ||
    /(esm|cjs)\/|bootstrap|modules\/|realm/.test(u)
  ) {
    return 'module loading, worker start-up';
  }
  if (
    /^(read|write|writeBuffer|writeBuffers|writev|openFileHandle|fstat|close|unlink|rename|fsync|fdatasync|open|readFile|writeFile|stat|lstat|mkdir|readdir|realpathSync)$/.test(n) ||
    /fs\/|node:fs|promises/.test(u)
  ) {
    return 'reading input, writing output (fs)';
  }
  if (/^(parseHeader|onHeader|step|feed|checksum|endContent|content|file|pathKey|process|slice|concat|writeItems|append|add|loadBasis|toBuffer)$/.test(n)) return 'tar splitting, file maps';
  if (/^(finalize|addEncoded|encodeIndexFile|saveParts|commit|store|flushRun|encode|verifyEncoded|saveChunks|finishPack|writeIndex)$/.test(n)) return 'pack and index writing';
  if (/^(buildWindow|emit|restore|decodeChunkList|planRestore|windows?|readWholeBlobsInto)$/.test(n)) return 'restore planning, windows';
  if (n === 'decodeInto') return restore ? 'decompression' : 'delta bases (read, decode)';
  if (n === 'single' || n === 'record' || n === 'idHex') return 'pack and index writing';
  if (n === '(program)') return 'native, unattributed ((program))';
  return 'other JavaScript';
}

interface Profile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Sampled self-time (µs) per stage, over every profile (thread) in `dir`, and the top unclassified functions. */
export function sampledStages(dir: string, restore: boolean): { stages: Map<Stage, number>; other: Map<string, number> } {
  const stages = new Map<Stage, number>();
  const other = new Map<string, number>();
  const sources = new Map<string, string[]>();
  const lineOf = (cf: CallFrame): string => {
    if ((cf.functionName !== '' && cf.functionName !== 'update' && cf.functionName !== 'digestHex') || !cf.url.startsWith('file://')) return '';
    let lines = sources.get(cf.url);
    if (lines === undefined) {
      try {
        lines = readFileSync(fileURLToPath(cf.url), 'utf8').split('\n');
      } catch {
        lines = [];
      }
      sources.set(cf.url, lines);
    }
    return lines.slice(Math.max(0, cf.lineNumber - 2), cf.lineNumber + 3).join('\n');
  };
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const callerOf = new Map<number, string>();
    for (const n of p.nodes) for (const c of n.children ?? []) callerOf.set(c, n.callFrame.functionName);
    for (let i = 0; i < p.samples.length; i++) {
      const cf = byId.get(p.samples[i]!)!;
      const us = p.timeDeltas[i] ?? 0;
      const s = stageOf(cf, restore, lineOf(cf), callerOf.get(p.samples[i]!));
      if (s === 'idle') continue;
      stages.set(s, (stages.get(s) ?? 0) + us);
      if (s === 'other JavaScript') {
        const k = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').pop()}`;
        other.set(k, (other.get(k) ?? 0) + us);
      }
    }
  }
  return { stages, other };
}

interface StepProfile {
  what: string;
  seconds: number;
  cpuSeconds: number;
  rssKB: number | null;
  /** CPU-seconds per stage (scaled, see the header). */
  stages: Record<string, number>;
  /** Sampled (wall) seconds per stage, unscaled. */
  sampled: Record<string, number>;
  otherTop: [string, number][];
}

function cpuOf(argv: string[], env: NodeJS.ProcessEnv, n: number): Promise<number> {
  return (async () => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) xs.push((await runStep({ argv }, env)).cpuSeconds ?? Number.NaN);
    return median(xs);
  })();
}

/** CPU-seconds of one scrypt N=2^16 r=8 p=1 derivation (the default key file), median of `n`. */
function scryptCpu(n: number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const u0 = process.cpuUsage();
    scryptSync('password', 'salt'.repeat(8), 32, { N: 1 << 16, r: 8, p: 1, maxmem: 256 << 20 });
    const u = process.cpuUsage(u0);
    xs.push((u.user + u.system) / 1e6);
  }
  return median(xs);
}

async function profileStep(what: string, argv: string[], env: NodeJS.ProcessEnv, profDir: string, restore: boolean, fixed: { start: number; kdf: number }): Promise<StepProfile> {
  await mkdir(profDir, { recursive: true });
  const s: StepResult = await runStep({ argv: [process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, ...argv] }, env);
  if (s.code !== 0) throw new Error(`${what}: exit ${s.code}: ${s.stderrTail.trim()}`);
  const cpu = s.cpuSeconds ?? Number.NaN;
  const { stages, other } = sampledStages(profDir, restore);
  const sampledTotal = [...stages.values()].reduce((a, b) => a + b, 0);
  const rest = Math.max(0, cpu - fixed.start - fixed.kdf);
  const out: Record<string, number> = { 'process start (measured apart)': Math.min(cpu, fixed.start), 'key derivation, scrypt (measured apart)': fixed.kdf };
  for (const [k, v] of stages) out[k] = (v / sampledTotal) * rest;
  return {
    what,
    seconds: s.seconds,
    cpuSeconds: cpu,
    rssKB: s.rssKB,
    stages: out,
    sampled: Object.fromEntries([...stages].map(([k, v]) => [k, v / 1e6])),
    otherTop: [...other]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, v / 1e6]),
  };
}

async function profileMode(mode: string, inputs: string[], tmp: string, fixed: { start: number; kdf: number }): Promise<StepProfile[]> {
  const work = await mkdtemp(join(tmp, `profile-${mode}-`));
  const repo = join(work, 'repo');
  const env: NodeJS.ProcessEnv = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), STOWAGE_PASSWORD: 'benchmark password', STOWAGE_TEST_KDF: '', STOWAGE_INSECURE_PLAINTEXT: '1' };
  delete env.STOWAGE_AGENT_SOCK;
  try {
    if (mode === 'agent') {
      const socket = join(work, 'agent.sock');
      const a = await runStep({ argv: [process.execPath, BIN, 'agent', 'start', '--ttl', '30m', '--socket', socket] }, env);
      if (a.code !== 0) throw new Error(`agent start: ${a.stderrTail}`);
      env.STOWAGE_AGENT_SOCK = socket;
    }
    spawnSync('sync');
    const init = await runStep({ argv: [process.execPath, BIN, '-r', repo, 'init', ...(mode === 'plaintext' ? ['--insecure-no-encryption'] : [])] }, env);
    if (init.code !== 0) throw new Error(`init: ${init.stderrTail}`);
    const kdf = mode === 'encrypted' ? fixed.kdf : 0;
    const steps: StepProfile[] = [];
    for (const [i, f] of inputs.entries()) {
      steps.push(await profileStep(`snapshot v${i + 1}`, ['-r', repo, 'snapshot', f, '--json'], env, join(work, `prof-v${i + 1}`), false, { start: fixed.start, kdf }));
      process.stderr.write(`  ${mode} v${i + 1}: ${steps.at(-1)!.seconds.toFixed(2)} s, ${steps.at(-1)!.cpuSeconds.toFixed(2)} CPU-s\n`);
    }
    const out = join(work, 'restored');
    steps.push(await profileStep('restore v5', ['-r', repo, 'restore', 'latest', out], env, join(work, 'prof-restore'), true, { start: fixed.start, kdf }));
    const want = await sha256File(inputs.at(-1)!);
    if ((await sha256File(out)) !== want) throw new Error('VERIFY FAILED: restored file differs from v5');
    return steps;
  } finally {
    if (env.STOWAGE_AGENT_SOCK) await runStep({ argv: [process.execPath, BIN, 'agent', 'stop'] }, env);
    await rm(work, { recursive: true, force: true });
  }
}

function table(modes: Record<string, StepProfile[]>): string {
  const names = Object.keys(modes);
  const head = names.flatMap((m) => [`${m}: 5 snapshots`, `${m}: restore v5`]);
  const lines = [`| stage (CPU-seconds) | ${head.join(' | ')} |`, `|---|${head.map(() => '---:').join('|')}|`];
  const cell = (steps: StepProfile[], st: string): [number, number] => [
    steps.filter((s) => s.what.startsWith('snapshot')).reduce((a, s) => a + (s.stages[st] ?? 0), 0),
    steps.find((s) => s.what.startsWith('restore'))?.stages[st] ?? 0,
  ];
  for (const st of STAGES) {
    const vals = names.flatMap((m) => cell(modes[m]!, st));
    if (vals.every((v) => v < 0.005)) continue;
    lines.push(`| ${st} | ${vals.map((v) => v.toFixed(2)).join(' | ')} |`);
  }
  const tot = names.flatMap((m) => {
    const st = modes[m]!;
    return [st.filter((s) => s.what.startsWith('snapshot')).reduce((a, s) => a + s.cpuSeconds, 0), st.find((s) => s.what.startsWith('restore'))!.cpuSeconds];
  });
  const wall = names.flatMap((m) => {
    const st = modes[m]!;
    return [st.filter((s) => s.what.startsWith('snapshot')).reduce((a, s) => a + s.seconds, 0), st.find((s) => s.what.startsWith('restore'))!.seconds];
  });
  const rss = names.flatMap((m) => {
    const st = modes[m]!;
    return [Math.max(...st.filter((s) => s.what.startsWith('snapshot')).map((s) => s.rssKB ?? 0)), st.find((s) => s.what.startsWith('restore'))!.rssKB ?? 0];
  });
  lines.push(`| **total CPU-seconds (GNU time)** | ${tot.map((v) => `**${v.toFixed(2)}**`).join(' | ')} |`);
  lines.push(`| wall seconds (under --cpu-prof) | ${wall.map((v) => v.toFixed(2)).join(' | ')} |`);
  lines.push(`| peak RSS, MB | ${rss.map((v) => ((v * 1024) / 1e6).toFixed(0)).join(' | ')} |`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string', default: '/work/corpus' },
      series: { type: 'string', default: 'docker' },
      modes: { type: 'string', default: 'plaintext,encrypted' },
      tmp: { type: 'string', default: '/work/bench-tmp' },
      out: { type: 'string' },
    },
  });
  const corpus = resolve(values.corpus);
  const dir = existsSync(join(corpus, 'deb')) ? join(corpus, 'deb') : corpus;
  const inputs = [1, 2, 3, 4, 5].map((v) => join(dir, `v${v}.${values.series}.tar`));
  for (const f of inputs) if (!existsSync(f)) throw new Error(`missing input ${f}`);
  const tmp = resolve(values.tmp);
  await mkdir(tmp, { recursive: true });
  const out = resolve(values.out ?? join(PKG_DIR, 'results', `profile-${values.series}.json`));
  const load0 = loadavg()[0] ?? 0;
  const start = await cpuOf([process.execPath, BIN, '--version'], process.env, 5);
  const kdf = scryptCpu(5);
  process.stderr.write(`process start ${start.toFixed(3)} CPU-s, scrypt ${kdf.toFixed(3)} CPU-s\n`);
  const modes: Record<string, StepProfile[]> = {};
  for (const m of values.modes.split(',')) modes[m] = await profileMode(m, inputs, tmp, { start, kdf });
  const load1 = loadavg()[0] ?? 0;
  const header =
    `${new Date().toISOString()}, ${cpus()[0]?.model ?? 'cpu'}, nproc ${availableParallelism()}, node ${process.version}; series ${values.series}; ` +
    `1-min load ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end; process start ${start.toFixed(3)} CPU-s, one scrypt ${kdf.toFixed(3)} CPU-s`;
  const md = `${header}\n\n${table(modes)}\n`;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ header, start, kdf, load: [load0, load1], modes }, null, 2) + '\n');
  await writeFile(out.replace(/\.json$/, '') + '.md', md);
  process.stdout.write(md);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`profile: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
