#!/usr/bin/env node
/**
 * s3-bench.ts — Stowage and restic 0.14 side by side on one Ceph RGW (issue 10 item 4).
 *
 * Starts a throwaway single-node Ceph RGW (scripts/ceph-rgw-start.sh, memstore capped at 4 GiB:
 * both repositories fit), then for both tools, step by step interleaved (stowage v1, restic v1,
 * stowage v2, ...) so both see the same machine load: init, snapshot v1..v5 of the corpus's
 * docker.tar series, restore v5 (stowage restore / restic dump) and check its sha256. Each step
 * is a separate process timed with hrtime, peak RSS from GNU time. Requests are counted the
 * same way for both tools, from radosgw's access log (one line per request; each tool has its
 * own bucket), by kind: PUT, GET, HEAD, LIST, POST, DELETE. The cluster is stopped at the end.
 *
 *   node native-bench/dist/s3-bench.js [--corpus /work/corpus/deb] [--out native-bench/results/s3-bench.json] [--restores N]
 *
 * --restores N restores v5 N times per tool (alternating stowage, restic, stowage, ...) and
 * reports the median: one restore moves by 0.2-0.5 s from run to run on this machine.
 * --stowage <checkout> runs that built checkout's stowage instead of this one's (a before/after
 * pair with the same bench).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runStep, sha256File, type Cmd, type StepResult } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KINDS = ['PUT', 'GET', 'HEAD', 'LIST', 'POST', 'DELETE'] as const;
type Kind = (typeof KINDS)[number];
type Counts = Record<Kind, number>;

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: '/work/corpus/deb' },
    out: { type: 'string', default: join(ROOT, 'native-bench/results/s3-bench.json') },
    // a third row: Stowage with every request through the AWS SDK (STOWAGE_S3_SDK_REQUESTS=true), its own bucket
    'sdk-row': { type: 'boolean', default: false },
    // restores of v5 per tool (alternating), median reported
    restores: { type: 'string', default: '1' },
    // a built checkout whose stowage to run (default: this one)
    stowage: { type: 'string' },
  },
});

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Requests per bucket and kind in the radosgw log from byte `from` on. */
function countRequests(log: string, from: number, bucket: string): Counts {
  const text = readFileSync(log).subarray(from).toString('utf8');
  const c: Counts = { PUT: 0, GET: 0, HEAD: 0, LIST: 0, POST: 0, DELETE: 0 };
  for (const m of text.matchAll(/ beast: \S+ \S+ - \S* \[[^\]]*\] "(\w+) \/([^/ ?]+)([/?][^ ]*)? HTTP\/1\.1"/g)) {
    if (m[2] !== bucket) continue;
    const [, method, , rest = ''] = m;
    const key = rest.replace(/\?.*$/, '').replace(/^\//, '');
    const query = rest.includes('?') ? rest.slice(rest.indexOf('?') + 1) : '';
    let kind: Kind;
    if (method === 'GET' && (key === '' || /(^|&)(list-type|uploads)/.test(query))) kind = 'LIST';
    else kind = (KINDS as readonly string[]).includes(method!) ? (method as Kind) : 'GET';
    c[kind]++;
  }
  return c;
}

/**
 * Answers other than 2xx per bucket in the radosgw log from byte `from` on, as "<method> <status>" -> count
 * (a HEAD 404 of a create-only probe is expected; a 5xx or 408 means RGW failed a request the tool then retried or gave up on).
 */
function countNon2xx(log: string, from: number, bucket: string): Record<string, number> {
  const text = readFileSync(log).subarray(from).toString('utf8');
  const c: Record<string, number> = {};
  for (const m of text.matchAll(/ beast: \S+ \S+ - \S* \[[^\]]*\] "(\w+) \/([^/ ?]+)[^ ]* HTTP\/1\.1" (\d{3}) /g)) {
    if (m[2] !== bucket || m[3]!.startsWith('2')) continue;
    const k = `${m[1]} ${m[3]}`;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

const sum = (c: Counts) => KINDS.reduce((n, k) => n + c[k], 0);
const add = (a: Counts, b: Counts): Counts => Object.fromEntries(KINDS.map((k) => [k, a[k] + b[k]])) as Counts;

interface Tool {
  name: string;
  bucket: string;
  env: Record<string, string>;
  init(): Cmd;
  snapshot(file: string): Cmd;
  restore(out: string, file: string): Cmd;
}

async function main(): Promise<void> {
  const corpus = values.corpus!;
  const files = [1, 2, 3, 4, 5].map((v) => join(corpus, `v${v}.docker.tar`));
  for (const f of files) if (!existsSync(f)) throw new Error(`missing ${f} (is ${corpus}/READY there?)`);
  const work = mkdtempSync(join(tmpdir(), 'stowage-s3-bench-'));
  const state = join(work, 'ceph');
  const start = spawnSync('bash', [join(ROOT, 'scripts/ceph-rgw-start.sh'), state], { env: { ...process.env, MEMSTORE_BYTES: String(4 * 2 ** 30) }, encoding: 'utf8' });
  if (start.status !== 0) throw new Error(`ceph-rgw-start failed: ${start.stdout}${start.stderr}`);
  const url = new URL(
    readFileSync(join(state, 'env'), 'utf8')
      .trim()
      .replace(/^STOWAGE_TEST_S3=/, ''),
  );
  const endpoint = url.origin;
  const log = join(state, 'log', 'client.rgw.a.log');
  const creds = { AWS_ACCESS_KEY_ID: decodeURIComponent(url.username), AWS_SECRET_ACCESS_KEY: decodeURIComponent(url.password), AWS_REGION: 'us-east-1' };
  const stowage = stowageArgv(values.stowage ? resolve(values.stowage) : ROOT);
  const tools: Tool[] = [
    {
      name: 'stowage',
      bucket: 'bench-stowage',
      env: { ...creds, STOWAGE_PASSWORD: 'x', STOWAGE_CACHE_DIR: join(work, 'stowage-cache'), STOWAGE_REPOSITORY: `s3:${endpoint}/bench-stowage` },
      init: () => ({ argv: [...stowage, 'init'] }),
      snapshot: (file) => ({ argv: [...stowage, 'snapshot', file, '--name', 'image'] }),
      restore: (out) => ({ argv: [...stowage, 'restore', 'latest', out] }),
    },
    {
      name: 'restic',
      bucket: 'bench-restic',
      env: { ...creds, RESTIC_PASSWORD: 'x', RESTIC_CACHE_DIR: join(work, 'restic-cache'), RESTIC_REPOSITORY: `s3:${endpoint}/bench-restic` },
      init: () => ({ argv: ['restic', '-o', 's3.bucket-lookup=path', 'init'] }),
      snapshot: (file) => ({ argv: ['restic', '-o', 's3.bucket-lookup=path', 'backup', file] }),
      restore: (out, file) => ({ argv: ['restic', '-o', 's3.bucket-lookup=path', 'dump', 'latest', file], stdoutFile: out }),
    },
  ];
  if (values['sdk-row']) {
    const base = tools[0]!;
    tools.push({
      ...base,
      name: 'stowage-sdk',
      bucket: 'bench-stowage-sdk',
      env: { ...base.env, STOWAGE_S3_SDK_REQUESTS: 'true', STOWAGE_CACHE_DIR: join(work, 'stowage-sdk-cache'), STOWAGE_REPOSITORY: `s3:${endpoint}/bench-stowage-sdk` },
    });
  }
  const env = (t: Tool) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, ...t.env });
  const results: Record<string, { steps: (StepResult & { what: string; requests: Counts; non2xx: Record<string, number>; load: number; cephCpuSeconds: number })[] }> = Object.fromEntries(
    tools.map((t) => [t.name, { steps: [] }]),
  );
  /** CPU seconds (user + system) the Ceph daemons (mon, osd, radosgw) have used so far. */
  const cephCpu = () => {
    let ticks = 0;
    for (const f of readdirSync(join(state, 'run')).filter((n) => n.endsWith('.pid'))) {
      try {
        const stat = readFileSync(`/proc/${readFileSync(join(state, 'run', f), 'utf8').trim()}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        /* gone */
      }
    }
    return ticks / 100;
  };
  const step = async (t: Tool, what: string, cmd: Cmd) => {
    const from = statSync(log).size;
    const ceph0 = cephCpu();
    const load = loadavg()[0]!;
    // A step against one local RGW takes seconds; one still running after 5 minutes is hung: kill it and show its stderr.
    const r = await runStep({ ...cmd, limitSeconds: cmd.limitSeconds ?? 300 }, env(t));
    await new Promise((res) => setTimeout(res, 300)); // the log line follows the response
    const requests = countRequests(log, from, t.bucket);
    const non2xx = countNon2xx(log, from, t.bucket);
    if (r.code !== 0) {
      const why = `${r.timedOut === true ? 'did not exit' : 'failed'} (${r.code}), requests ${JSON.stringify(requests)}, non-2xx ${JSON.stringify(non2xx)}`;
      throw new Error(`${t.name} ${what} ${why}: ${r.stderrTail}`);
    }
    const cephCpuSeconds = cephCpu() - ceph0;
    results[t.name]!.steps.push({ ...r, what, requests, non2xx, load, cephCpuSeconds });
    console.log(
      `${t.name.padEnd(11)} ${what.padEnd(12)} ${r.seconds.toFixed(2).padStart(7)} s  cpu ${(r.cpuSeconds ?? 0).toFixed(2).padStart(6)} s  ceph cpu ${cephCpuSeconds.toFixed(2).padStart(5)} s  rss ${((r.rssKB ?? 0) / 1024).toFixed(0).padStart(4)} MiB  requests ${sum(requests)} ${JSON.stringify(requests)}  load ${load.toFixed(1)}${Object.keys(non2xx).length > 0 ? `  non-2xx ${JSON.stringify(non2xx)}` : ''}`,
    );
  };
  try {
    for (const t of tools) await step(t, 'init', t.init());
    for (const [i, f] of files.entries()) for (const t of tools) await step(t, `snapshot v${i + 1}`, t.snapshot(f));
    const want = await sha256File(files[4]!);
    const restores = Math.max(1, Number(values.restores));
    for (let i = 0; i < restores; i++) {
      for (const t of tools) {
        const out = join(work, `${t.name}-v5.tar`);
        await step(t, 'restore v5', t.restore(out, files[4]!));
        const got = await sha256File(out);
        if (got !== want) throw new Error(`${t.name}: restored v5 differs (${got} != ${want})`);
        rmSync(out);
      }
    }
  } finally {
    spawnSync('bash', [join(ROOT, 'scripts/ceph-rgw-stop.sh'), state]);
  }
  const summary = Object.fromEntries(
    tools.map((t) => {
      const steps = results[t.name]!.steps;
      const snaps = steps.filter((s) => s.what.startsWith('snapshot'));
      const restoreSteps = steps.filter((s) => s.what === 'restore v5');
      // the median run (by wall time) stands for the restore
      const restore = restoreSteps.find((s) => s.seconds === median(restoreSteps.map((x) => x.seconds))) ?? restoreSteps[0]!;
      const snapReq = snaps.reduce((c, s) => add(c, s.requests), { PUT: 0, GET: 0, HEAD: 0, LIST: 0, POST: 0, DELETE: 0 } as Counts);
      return [
        t.name,
        {
          snapshotsSeconds: snaps.reduce((n, s) => n + s.seconds, 0),
          snapshotsCpuSeconds: snaps.reduce((n, s) => n + (s.cpuSeconds ?? 0), 0),
          restoreSeconds: median(restoreSteps.map((x) => x.seconds)),
          restoreRunsSeconds: restoreSteps.map((x) => x.seconds),
          restoreCpuSeconds: median(restoreSteps.map((x) => x.cpuSeconds ?? 0)),
          peakRssMiB: Math.max(...steps.map((s) => (s.rssKB ?? 0) / 1024)),
          snapshotRequests: snapReq,
          restoreRequests: restore.requests,
          totalRequests: sum(snapReq) + sum(restore.requests),
        },
      ];
    }),
  );
  const s = summary.stowage!;
  const r = summary.restic!;
  const ratio = { snapshots: s.snapshotsSeconds / r.snapshotsSeconds, restore: s.restoreSeconds / r.restoreSeconds, requests: s.totalRequests / r.totalRequests };
  const machine = { cpus: availableParallelism(), loadAtEnd: loadavg()[0], restic: spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim() };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify({ date: new Date().toISOString(), corpus, machine, summary, ratio, results }, null, 2) + '\n');
  // columns: stowage, restic, the ratio, then (with --sdk-row) stowage with every request through the SDK
  const k = summary['stowage-sdk'];
  const restoreRuns = s.restoreRunsSeconds.length;
  const row = (label: string, f: (x: typeof s) => string, ratioText = '') => console.log(`| ${label} | ${f(s)} | ${f(r)} | ${ratioText} |${k ? ` ${f(k)} |` : ''}`);
  console.log(`\n| | stowage | restic 0.14 | ratio |${k ? ' stowage, SDK requests |' : ''}\n|---|---|---|---|${k ? '---|' : ''}`);
  row('five snapshots (s)', (x) => x.snapshotsSeconds.toFixed(1), ratio.snapshots.toFixed(2));
  row(restoreRuns > 1 ? `restore v5, median of ${restoreRuns} (s)` : 'restore v5 (s)', (x) => x.restoreSeconds.toFixed(2), ratio.restore.toFixed(2));
  if (restoreRuns > 1) row('restore v5, runs (s)', (x) => x.restoreRunsSeconds.map((v) => v.toFixed(2)).join(', '));
  row('five snapshots, CPU (s)', (x) => x.snapshotsCpuSeconds.toFixed(1));
  row('restore v5, CPU (s)', (x) => x.restoreCpuSeconds.toFixed(1));
  row('peak RSS (MiB)', (x) => x.peakRssMiB.toFixed(0));
  for (const kind of KINDS) row(`${kind} requests (snapshots + restore)`, (x) => String(x.snapshotRequests[kind] + x.restoreRequests[kind]));
  row('all requests', (x) => String(x.totalRequests), ratio.requests.toFixed(2));
  console.log(`\nraw figures: ${values.out}; load average at the end ${machine.loadAtEnd?.toFixed(1)} on ${machine.cpus} CPUs`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
