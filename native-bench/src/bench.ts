/**
 * bench.ts — `pnpm bench`: MB/s of the native pieces alone (chunker wasm and js,
 * BLAKE3, SHA-256, zstd level 1 and 3 compress and decompress) and of whole
 * snapshot and restore runs, each a separate `stowage` process as a user runs it,
 * on a generated file or on a corpus folder (`--corpus DIR`: every *.docker.tar in
 * version order, snapshotted in order, then the last one restored).
 *
 * Usage: node native-bench/dist/bench.js [--corpus DIR] [--size MiB] [--out FILE] [--skip-micro]
 * Prints a table on stdout and writes all figures as JSON to --out
 * (default native-bench/results/bench.json).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCutter, blake3, compressBound, compressInto, decompressInto, type ChunkerParams } from '@stowage/core/internal';
import { mixedData } from './data.js';
import { dirBytes, runStep, sha256File } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

interface Row {
  readonly what: string;
  readonly mbPerSec: number;
  readonly note?: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Best MB/s of `rounds` runs of fn over `bytes` bytes. */
function best(bytes: number, rounds: number, fn: () => void): number {
  fn(); // warm-up
  let bestSecs = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    bestSecs = Math.min(bestSecs, (performance.now() - t0) / 1000);
  }
  return bytes / 1e6 / bestSecs;
}

function micro(): Row[] {
  const data = mixedData('bench', 64 << 20);
  const rows: Row[] = [];
  for (const avg of [64 << 10, 256 << 10, 1 << 20]) {
    const p: ChunkerParams = { minSize: avg / 4, avgSize: avg, maxSize: avg * 4, level: 1, seed: 0n };
    for (const impl of ['wasm', 'js'] as const) rows.push({ what: `FastCDC ${impl}, avg ${avg >> 10} KiB`, mbPerSec: benchCutter(impl, p, data).mbPerSec });
  }
  const MiB = 1 << 20;
  rows.push({
    what: 'BLAKE3, 1 MiB pieces',
    mbPerSec: best(data.length, 3, () => {
      for (let o = 0; o < data.length; o += MiB) blake3(data.subarray(o, o + MiB));
    }),
  });
  rows.push({
    what: 'BLAKE3, 256 KiB pieces',
    mbPerSec: best(data.length, 3, () => {
      for (let o = 0; o < data.length; o += MiB / 4) blake3(data.subarray(o, o + MiB / 4));
    }),
  });
  rows.push({ what: 'SHA-256 (node:crypto), whole stream', mbPerSec: best(data.length, 3, () => createHash('sha256').update(data).digest()) });
  for (const level of [1, 3]) {
    const piece = 256 * 1024;
    const dst = Buffer.allocUnsafe(compressBound(piece) * (data.length / piece));
    const frames: [number, number][] = [];
    let ratioBytes = 0;
    const c = best(data.length, 2, () => {
      frames.length = 0;
      let pos = 0;
      for (let o = 0; o < data.length; o += piece) {
        const n = compressInto(dst.subarray(pos), data.subarray(o, o + piece), level);
        const len = n < 0 ? piece : n;
        frames.push([pos, n < 0 ? -1 : len]);
        pos += len;
      }
      ratioBytes = pos;
    });
    rows.push({ what: `zstd level ${level} compress, 256 KiB blobs`, mbPerSec: c, note: `ratio ${(data.length / ratioBytes).toFixed(2)}` });
    const out = Buffer.allocUnsafe(piece);
    const d = best(data.length, 3, () => {
      for (const [pos, len] of frames) if (len > 0) decompressInto(out, dst.subarray(pos, pos + len));
    });
    rows.push({ what: `zstd level ${level} decompress, 256 KiB blobs`, mbPerSec: d });
  }
  return rows;
}

async function pipeline(inputs: string[]): Promise<{ rows: Row[]; detail: unknown[] }> {
  const tmp = mkdtempSync(join(tmpdir(), 'stowage-bench-'));
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(tmp, 'cache'), STOWAGE_PASSWORD: process.env.STOWAGE_PASSWORD ?? 'bench', STOWAGE_INSECURE_PLAINTEXT: '1' };
  const repo = join(tmp, 'repo');
  const bin = stowageArgv(ROOT);
  const detail: unknown[] = [];
  try {
    const init = await runStep({ argv: [...bin, '-r', repo, 'init', '--insecure-no-encryption'] }, env);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderrTail}`);
    const rows: Row[] = [];
    let total = 0;
    let secs = 0;
    for (const f of inputs) {
      const r = await runStep({ argv: [...bin, '-r', repo, 'snapshot', f, '--json'] }, env);
      if (r.code !== 0) throw new Error(`snapshot ${f} failed: ${r.stderrTail}`);
      const size = statSync(f).size;
      total += size;
      secs += r.seconds;
      detail.push({ step: 'snapshot', input: f, bytes: size, seconds: r.seconds, rssKB: r.rssKB, cpuSeconds: r.cpuSeconds, result: r.json });
      rows.push({ what: `snapshot ${f.split('/').pop()} (process)`, mbPerSec: size / 1e6 / r.seconds, note: `${r.seconds.toFixed(2)} s, RSS ${r.rssKB ? (r.rssKB / 1024).toFixed(0) : '?'} MB` });
    }
    if (inputs.length > 1)
      rows.push({ what: `snapshot series, ${inputs.length} processes`, mbPerSec: total / 1e6 / secs, note: `${secs.toFixed(2)} s total, repo ${((await dirBytes(repo)) / 1e6).toFixed(1)} MB` });
    const last = inputs[inputs.length - 1]!;
    const out = join(tmp, 'restored');
    const r = await runStep({ argv: [...bin, '-r', repo, 'restore', 'latest', out] }, env);
    if (r.code !== 0) throw new Error(`restore failed: ${r.stderrTail}`);
    const ok = (await sha256File(out)) === (await sha256File(last));
    if (!ok) throw new Error('restored bytes differ from the input');
    const size = statSync(last).size;
    detail.push({ step: 'restore', bytes: size, seconds: r.seconds, rssKB: r.rssKB, cpuSeconds: r.cpuSeconds });
    rows.push({
      what: `restore ${last.split('/').pop()} (process)`,
      mbPerSec: size / 1e6 / r.seconds,
      note: `${r.seconds.toFixed(2)} s, RSS ${r.rssKB ? (r.rssKB / 1024).toFixed(0) : '?'} MB, verified`,
    });
    return { rows, detail };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function table(rows: readonly Row[]): string {
  const w = Math.max(...rows.map((r) => r.what.length));
  return [`| ${'what'.padEnd(w)} | MB/s | note |`, `|${'-'.repeat(w + 2)}|-----:|------|`, ...rows.map((r) => `| ${r.what.padEnd(w)} | ${r.mbPerSec.toFixed(0)} | ${r.note ?? ''} |`)].join('\n');
}

async function main(): Promise<void> {
  const out = arg('--out') ?? join(ROOT, 'native-bench/results/bench.json');
  const corpus = arg('--corpus');
  const rows: Row[] = [];
  if (!process.argv.includes('--skip-micro')) rows.push(...micro());
  let inputs: string[];
  let genDir: string | undefined;
  if (corpus) {
    inputs = readdirSync(corpus)
      .filter((f) => f.endsWith('.docker.tar'))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((f) => join(corpus, f));
    if (inputs.length === 0) throw new Error(`no *.docker.tar in ${corpus}`);
  } else {
    genDir = mkdtempSync(join(tmpdir(), 'stowage-bench-in-'));
    const size = Number(arg('--size') ?? '256') << 20;
    const f = join(genDir, 'generated.bin');
    writeFileSync(f, mixedData('pipeline', size));
    inputs = [f];
  }
  try {
    const p = await pipeline(inputs);
    rows.push(...p.rows);
    const machine = { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, date: new Date().toISOString() };
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ machine, rows, pipeline: p.detail }, null, 2) + '\n');
    process.stdout.write(`${machine.cpus} cores, ${machine.model}, node ${machine.node}\n\n${table(rows)}\n\nJSON: ${out}\n`);
  } finally {
    if (genDir) rmSync(genDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
