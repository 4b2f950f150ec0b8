/**
 * copy-bench.ts — `stowage copy` side by side with `restic copy` (0.14) in one run, on the
 * corpus (deb/v1..v5.docker.tar): both sources hold the five snapshots (made untimed), then
 * each copy is its own process, measured by GNU time (wall, CPU, peak RSS), with the
 * target's size after it and a repeat copy (which must transfer nothing).
 *
 * Rows:
 *   stowage blobs    plaintext -> plaintext, same chunker: blobs copied as they are (auto)
 *   stowage rechunk  the same pair, --mode rechunk: restore -> snapshot through the target's chunker
 *   stowage enc      plaintext -> encrypted (another key: re-chunked, auto)
 *   restic           restic copy into a repository made with --copy-chunker-params (blobs as they are)
 * Each target's v5 is restored and its sha256 checked against the input.
 *
 * Usage: node native-bench/dist/copy-bench.js [--corpus /work/corpus/deb] [--versions 1,2,3,4,5]
 *        [--rows blobs,restic,rechunk,enc] [--tmp DIR] [--out native-bench/results/copy.json]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirBytes, hasGnuTime, runStep, sha256File, which, type StepResult } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Row {
  row: string;
  seconds: number;
  cpuSeconds: number | null;
  rssMiB: number | null;
  targetBytes: number;
  repeatSeconds: number;
  repeatAddedBytes: number;
  restoreVerified: boolean;
}

async function must(label: string, p: Promise<StepResult>): Promise<StepResult> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${label} failed (${r.code}): ${r.stderrTail.slice(-2000)}`);
  return r;
}

async function main(): Promise<void> {
  if (!hasGnuTime()) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install time');
  const corpus = arg('--corpus') ?? '/work/corpus/deb';
  const versions = (arg('--versions') ?? '1,2,3,4,5').split(',');
  const inputs = versions.map((v) => join(corpus, `v${v}.docker.tar`));
  const last = inputs[inputs.length - 1]!;
  const want = await sha256File(last);
  const tmp = mkdtempSync(join(arg('--tmp') ?? tmpdir(), 'stowage-copy-bench-'));
  const out = arg('--out') ?? join(ROOT, 'native-bench/results/copy.json');
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(tmp, 'cache'), RESTIC_CACHE_DIR: join(tmp, 'restic-cache'), RESTIC_PASSWORD: 'bench', STOWAGE_FROM_PASSWORD: '', STOWAGE_PASSWORD: 'bench' };
  const st = stowageArgv(ROOT);
  const rows: Row[] = [];
  const load0 = loadavg()[0]!;
  let srcBytes = 0;
  try {
    // sources (untimed)
    const src = join(tmp, 'src');
    await must('init', runStep({ argv: [...st, '-r', src, 'init', '--insecure-no-encryption'] }, env));
    for (const f of inputs) await must(`snapshot ${f}`, runStep({ argv: [...st, '-r', src, 'snapshot', f, '-q'] }, env));
    srcBytes = await dirBytes(src);
    const restic = which('restic');
    const rsrc = join(tmp, 'restic-src');
    if (restic) {
      await must('restic init', runStep({ argv: [restic, '-r', rsrc, 'init'] }, env));
      for (const f of inputs) await must(`restic backup ${f}`, runStep({ argv: [restic, '-r', rsrc, 'backup', f, '-q'] }, env));
    }

    /** One row: the copy's figures, what a repeat added to the target, and whether the restore matches. */
    const rowOf = async (row: string, r: StepResult, again: StepResult, size: number, dst: string, restored: string): Promise<Row> => ({
      row,
      seconds: r.seconds,
      cpuSeconds: r.cpuSeconds,
      rssMiB: r.rssKB && r.rssKB / 1024,
      targetBytes: size,
      repeatSeconds: again.seconds,
      repeatAddedBytes: (await dirBytes(dst)) - size,
      restoreVerified: (await sha256File(restored)) === want,
    });
    const stowageRow = async (row: string, initArgs: string[], copyArgs: string[]): Promise<void> => {
      const dst = join(tmp, row.replace(/\W+/g, '-'));
      await must(`${row} init`, runStep({ argv: [...st, '-r', dst, 'init', ...initArgs] }, env));
      const r = await must(`${row} copy`, runStep({ argv: [...st, '-r', dst, 'copy', '--from-repo', src, '-q', ...copyArgs] }, env));
      const size = await dirBytes(dst);
      const again = await must(`${row} repeat`, runStep({ argv: [...st, '-r', dst, 'copy', '--from-repo', src, '-q', ...copyArgs] }, env));
      const restored = join(tmp, 'restored.tar');
      await must(`${row} restore`, runStep({ argv: [...st, '-r', dst, 'restore', 'latest', restored, '--overwrite'] }, env));
      rows.push(await rowOf(row, r, again, size, dst, restored));
      rmSync(restored, { force: true });
      rmSync(dst, { recursive: true, force: true });
    };
    const resticRow = async (): Promise<void> => {
      if (!restic) return;
      const dst = join(tmp, 'restic-dst');
      const fromEnv = { ...env, RESTIC_FROM_PASSWORD: 'bench' };
      await must('restic init dst', runStep({ argv: [restic, '-r', dst, 'init', '--from-repo', rsrc, '--copy-chunker-params'] }, fromEnv));
      const r = await must('restic copy', runStep({ argv: [restic, '-r', dst, 'copy', '--from-repo', rsrc, '-q'] }, fromEnv));
      const size = await dirBytes(dst);
      const again = await must('restic copy repeat', runStep({ argv: [restic, '-r', dst, 'copy', '--from-repo', rsrc, '-q'] }, fromEnv));
      const restored = join(tmp, 'restored.tar');
      await must('restic dump', runStep({ argv: [restic, '-r', dst, 'dump', 'latest', last], stdoutFile: restored }, env));
      rows.push(await rowOf('restic 0.14 copy', r, again, size, dst, restored));
      rmSync(restored, { force: true });
      rmSync(dst, { recursive: true, force: true });
    };
    // interleaved, one run: stowage blobs, restic, stowage rechunk, stowage enc (--rows picks some)
    const wanted = (arg('--rows') ?? 'blobs,restic,rechunk,enc').split(',');
    if (wanted.includes('blobs')) await stowageRow('stowage blobs (auto)', ['--insecure-no-encryption'], []);
    if (wanted.includes('restic')) await resticRow();
    if (wanted.includes('rechunk')) await stowageRow('stowage rechunk', ['--insecure-no-encryption'], ['--mode', 'rechunk']);
    if (wanted.includes('enc')) await stowageRow('stowage -> encrypted (auto: rechunk)', [], []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const load1 = loadavg()[0]!;
  const doc = { when: new Date().toISOString(), inputs, sourceBytes: srcBytes, loadavg1: [load0, load1], rows };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`| row | copy, s | CPU, s | peak RSS, MiB | target, MB | repeat copy, s | repeat adds, B | v5 restored |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---|`);
  for (const r of rows)
    console.log(
      `| ${r.row} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds?.toFixed(1) ?? '-'} | ${r.rssMiB?.toFixed(0) ?? '-'} | ${(r.targetBytes / 1e6).toFixed(1)} | ${r.repeatSeconds.toFixed(2)} | ${r.repeatAddedBytes} | ${r.restoreVerified ? 'sha256 ok' : 'MISMATCH'} |`,
    );
  console.log(`stowage source repository: ${(srcBytes / 1e6).toFixed(1)} MB; load average (1 min) ${load0.toFixed(1)} before, ${load1.toFixed(1)} after`);
  if (rows.some((r) => !r.restoreVerified)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
