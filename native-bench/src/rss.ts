/**
 * rss.ts — memory is bounded by settings, not input size: peak RSS of
 * `stowage snapshot -` fed a generated stream of 100 MB and of 4 GB (and of the
 * restore of each to a file), each a separate process measured by GNU time.
 * The stream is half incompressible, half text (mixedData), made by a generator
 * process piped into stowage's stdin.
 *
 * Usage: node native-bench/dist/rss.js [--sizes 100,4000] (MB) [--out FILE]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasGnuTime, runStep } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = dirname(fileURLToPath(import.meta.url));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs `gen | /usr/bin/time stowage snapshot -`; resolves with wall seconds and peak RSS (KB) of stowage. */
function snapshotStream(bytes: number, repo: string, env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssKB: number; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const gen = spawn(process.execPath, [join(HERE, 'gen-stream.js'), String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const st = spawn('/usr/bin/time', ['-f', 'peak_rss_kb=%M', ...stowageArgv(ROOT), '-r', repo, 'snapshot', '-', '--json', '--name', `gen-${bytes}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    gen.stdout.pipe(st.stdin);
    let out = '';
    let err = '';
    st.stdout.on('data', (d: Buffer) => (out += d.toString()));
    st.stderr.on('data', (d: Buffer) => (err += d.toString()));
    st.on('error', reject);
    st.on('close', (code) => {
      const m = /peak_rss_kb=(\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`snapshot of ${bytes} bytes failed (${code}): ${err.slice(-2000)}`));
      resolvePromise({ seconds: (performance.now() - t0) / 1000, rssKB: Number(m[1]), stdout: out });
    });
  });
}

async function main(): Promise<void> {
  if (!hasGnuTime()) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install time');
  const sizes = (arg('--sizes') ?? '100,4000').split(',').map((s) => Number(s) * 1e6);
  const out = arg('--out') ?? join(ROOT, 'native-bench/results/rss.json');
  const tmp = mkdtempSync(join(tmpdir(), 'stowage-rss-'));
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(tmp, 'cache'), STOWAGE_PASSWORD: process.env.STOWAGE_PASSWORD ?? 'bench', STOWAGE_INSECURE_PLAINTEXT: '1' };
  const results: { bytes: number; snapshot: { seconds: number; rssKB: number }; restore: { seconds: number; rssKB: number | null } }[] = [];
  try {
    for (const bytes of sizes) {
      const repo = join(tmp, `repo-${bytes}`);
      const init = await runStep({ argv: [...stowageArgv(ROOT), '-r', repo, 'init', '--insecure-no-encryption'] }, env);
      if (init.code !== 0) throw new Error(`init: ${init.stderrTail}`);
      const s = await snapshotStream(bytes, repo, env);
      const id = (JSON.parse(s.stdout) as { id: string }).id;
      const target = join(tmp, 'restored');
      const r = await runStep({ argv: [...stowageArgv(ROOT), '-r', repo, 'restore', id, target] }, env);
      if (r.code !== 0) throw new Error(`restore: ${r.stderrTail}`);
      rmSync(target, { force: true });
      rmSync(repo, { recursive: true, force: true });
      results.push({ bytes, snapshot: { seconds: s.seconds, rssKB: s.rssKB }, restore: { seconds: r.seconds, rssKB: r.rssKB } });
      process.stderr.write(
        `${(bytes / 1e6).toFixed(0)} MB: snapshot peak RSS ${(s.rssKB / 1024).toFixed(0)} MB (${s.seconds.toFixed(1)} s), restore peak RSS ${((r.rssKB ?? 0) / 1024).toFixed(0)} MB (${r.seconds.toFixed(1)} s)\n`,
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const lines = ['| input (stdin stream) | snapshot peak RSS | snapshot s | restore peak RSS | restore s |', '|---:|---:|---:|---:|---:|'];
  for (const r of results)
    lines.push(
      `| ${(r.bytes / 1e6).toFixed(0)} MB | ${(r.snapshot.rssKB / 1024).toFixed(0)} MiB | ${r.snapshot.seconds.toFixed(1)} | ${((r.restore.rssKB ?? 0) / 1024).toFixed(0)} MiB | ${r.restore.seconds.toFixed(1)} |`,
    );
  if (results.length >= 2) {
    const d = (results[results.length - 1]!.snapshot.rssKB - results[0]!.snapshot.rssKB) / 1024;
    lines.push('', `snapshot peak RSS difference, largest minus smallest input: ${d.toFixed(0)} MiB (target: within 64 MB)`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`rss: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
