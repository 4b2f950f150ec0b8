/**
 * registry-bench.ts — images back into the ecosystem, side by side with a real registry
 * (issue 12 item 7), one run on the same machine:
 *
 * 1. pull: `skopeo copy docker://<server>/corpus/deb:v5 dir:<tmp>` from `stowage serve`
 *    (the repository holding the v5 snapshot) and from `docker-registry` holding the same
 *    image (same digests: pushed by skopeo from the same archive), for the gzip series
 *    (v5.oci.tar) and the uncompressed one (v5.docker.tar: stowage serves its generated
 *    manifest; the registry gets it by `stowage restore ... docker://`, same digests);
 * 2. peak RSS (VmHWM) of each server process during four such pulls at once;
 * 3. snapshot of v1..v5 from the registry (`stowage snapshot docker://...`) against
 *    `skopeo copy docker://... oci:<dir>:vN` plus `stowage snapshot oci:<dir>:vN`.
 *
 * With `--runs N` (default 1) parts 1 and 2 run N times (a fresh `stowage serve` process each
 * time, so each run's peak RSS is its own) and the medians are reported; `--no-series` skips
 * part 3.
 *
 * Usage: node native-bench/dist/registry-bench.js [--corpus /work/corpus/deb] [--runs N] [--no-series] [--tmp DIR] [--out FILE]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'packages/cli/bin/stowage.js');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const corpus = arg('--corpus') ?? '/work/corpus/deb';
const work = mkdtempSync(join(arg('--tmp') ?? tmpdir(), 'registry-bench-'));
const out = arg('--out');
const runs = Math.max(1, Number(arg('--runs') ?? 1));
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? res(0) : rej(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
  });
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function du(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) t += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return t;
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

const procs: ChildProcess[] = [];
async function startRegistry(): Promise<{ addr: string; proc: ChildProcess }> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, 'registry-'));
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  procs.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/v2/`);
  return { addr: `127.0.0.1:${port}`, proc };
}

async function startServe(env: NodeJS.ProcessEnv): Promise<{ addr: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve', '--listen', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
  procs.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/v2/`);
  return { addr: `127.0.0.1:${port}`, proc };
}

const pull = (addr: string, ref: string, dest: string) => runAsync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${addr}/${ref}`, `dir:${dest}`]);

async function main(): Promise<void> {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const result: Record<string, unknown> = { when: new Date().toISOString(), loadavgAtStart: load, corpus };
  const repo = join(work, 'repo');
  const env = { ...process.env, STOWAGE_REPOSITORY: repo, STOWAGE_CACHE_DIR: join(work, 'cache') };
  run(process.execPath, [BIN, 'init', '--insecure-no-encryption'], env);
  const reg = await startRegistry();
  // the same image in both: v5.oci.tar (gzip layers) and v5.docker.tar (uncompressed, generated manifest)
  run(process.execPath, [BIN, 'snapshot', join(corpus, 'v5.oci.tar'), '--name', 'deb-oci'], env);
  run(process.execPath, [BIN, 'snapshot', join(corpus, 'v5.docker.tar'), '--name', 'deb-docker'], env);
  const names = JSON.parse(run(process.execPath, [BIN, '--json', 'snapshots'], env)) as { id: string; name: string }[];
  const idOf = (n: string) => names.find((s) => s.name === n)!.id;
  run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci-archive:${join(corpus, 'v5.oci.tar')}`, `docker://${reg.addr}/gz/deb:v5`]);
  run(process.execPath, [BIN, 'restore', idOf('deb-docker'), `docker://${reg.addr}/raw/deb:v5`], env);
  const series = [
    ['gzip (v5.oci.tar, 149 MB)', 'deb-oci', 'gz/deb:v5'],
    ['uncompressed (v5.docker.tar, 398 MB)', 'deb-docker', 'raw/deb:v5'],
  ] as const;
  const times = new Map<string, { registry: number[]; serve: number[]; same: boolean }>(series.map(([name]) => [name, { registry: [], serve: [], same: true }]));
  const four = { serve: [] as number[], registry: [] as number[], serveRss: [] as number[], registryRss: [] as number[], loads: [] as string[] };
  for (let run = 0; run < runs; run++) {
    const serve = await startServe(env);
    // stowage serve names the images by the archives' names; pull them by snapshot id prefix tags
    const serveCatalog = (await (await fetch(`http://${serve.addr}/v2/_catalog`)).json()) as { repositories: string[] };
    const serveRef = async (id: string) => {
      for (const r of serveCatalog.repositories) {
        const tags = (await (await fetch(`http://${serve.addr}/v2/${r}/tags/list`)).json()) as { tags: string[] };
        if (tags.tags.includes(id.slice(0, 12))) return `${r}:${id.slice(0, 12)}`;
      }
      throw new Error(`no served tag for ${id}`);
    };
    for (const [name, snapName, regRef] of series) {
      const sref = await serveRef(idOf(snapName));
      // warm both once (page cache, connection setup), then time one pull each, registry first
      await pull(reg.addr, regRef, join(work, `warm-r-${snapName}`));
      await pull(serve.addr, sref, join(work, `warm-s-${snapName}`));
      const registrySeconds = await timedAsync(() => pull(reg.addr, regRef, join(work, `r-${snapName}`)));
      const serveSeconds = await timedAsync(() => pull(serve.addr, sref, join(work, `s-${snapName}`)));
      const same = readFileSync(join(work, `r-${snapName}`, 'manifest.json')).equals(readFileSync(join(work, `s-${snapName}`, 'manifest.json')));
      const t = times.get(name)!;
      t.registry.push(registrySeconds);
      t.serve.push(serveSeconds);
      t.same &&= same;
      console.log(
        `run ${run + 1}: pull ${name}: docker-registry ${registrySeconds.toFixed(2)} s, stowage serve ${serveSeconds.toFixed(2)} s (${(serveSeconds / registrySeconds).toFixed(2)}x); manifests identical: ${same}`,
      );
      for (const p of ['warm-r', 'warm-s', 'r', 's']) rmSync(join(work, `${p}-${snapName}`), { recursive: true, force: true });
    }
    // four pulls at once (the uncompressed series: the most bytes), peak RSS of each server
    const sref = await serveRef(idOf('deb-docker'));
    const fourServe = await timedAsync(() => Promise.all([0, 1, 2, 3].map((i) => pull(serve.addr, sref, join(work, `p4s-${i}`)))));
    const fourReg = await timedAsync(() => Promise.all([0, 1, 2, 3].map((i) => pull(reg.addr, 'raw/deb:v5', join(work, `p4r-${i}`)))));
    four.serve.push(fourServe);
    four.registry.push(fourReg);
    four.serveRss.push(peakRssMB(serve.proc.pid!));
    four.registryRss.push(peakRssMB(reg.proc.pid!));
    four.loads.push(loadavg()[0]!.toFixed(2));
    console.log(
      `run ${run + 1}: four pulls at once (uncompressed v5): stowage serve ${fourServe.toFixed(2)} s, peak RSS ${peakRssMB(serve.proc.pid!).toFixed(0)} MB; docker-registry ${fourReg.toFixed(2)} s, peak RSS ${peakRssMB(reg.proc.pid!).toFixed(0)} MB; load ${four.loads[run]}`,
    );
    for (const i of [0, 1, 2, 3]) for (const p of ['p4s', 'p4r']) rmSync(join(work, `${p}-${i}`), { recursive: true, force: true });
    serve.proc.kill('SIGTERM');
    await new Promise((r) => serve.proc.once('exit', r));
  }
  const rows: Record<string, unknown>[] = [];
  for (const [name] of series) {
    const t = times.get(name)!;
    const registrySeconds = median(t.registry);
    const serveSeconds = median(t.serve);
    rows.push({ series: name, registrySeconds, serveSeconds, ratio: serveSeconds / registrySeconds, sameManifest: t.same, runs: t });
    console.log(`median of ${runs}: pull ${name}: docker-registry ${registrySeconds.toFixed(2)} s, stowage serve ${serveSeconds.toFixed(2)} s (${(serveSeconds / registrySeconds).toFixed(2)}x)`);
  }
  result.pulls = rows;
  result.fourPulls = { serveSeconds: median(four.serve), registrySeconds: median(four.registry), servePeakRssMB: median(four.serveRss), registryPeakRssMB: median(four.registryRss), runs: four };
  console.log(
    `median of ${runs}: four pulls at once: stowage serve ${median(four.serve).toFixed(2)} s, peak RSS ${median(four.serveRss).toFixed(0)} MB (runs: ${four.serveRss.map((x) => x.toFixed(0)).join(', ')}); docker-registry ${median(four.registry).toFixed(2)} s, peak RSS ${median(four.registryRss).toFixed(0)} MB`,
  );
  if (process.argv.includes('--no-series')) {
    result.loadavgAtEnd = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    console.log(`load average at start ${load}, at end ${String(result.loadavgAtEnd)}`);
    if (out) writeFileSync(out, JSON.stringify(result, null, 2));
    return;
  }
  // snapshot v1..v5 from the registry, against skopeo copy to an OCI dir + snapshot of it
  for (let v = 1; v <= 5; v++) run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci-archive:${join(corpus, `v${v}.oci.tar`)}`, `docker://${reg.addr}/series/deb:v${v}`]);
  const a = { ...env, STOWAGE_REPOSITORY: join(work, 'repo-a'), STOWAGE_CACHE_DIR: join(work, 'cache-a') };
  const b = { ...env, STOWAGE_REPOSITORY: join(work, 'repo-b'), STOWAGE_CACHE_DIR: join(work, 'cache-b') };
  run(process.execPath, [BIN, 'init', '--insecure-no-encryption'], a);
  run(process.execPath, [BIN, 'init', '--insecure-no-encryption'], b);
  let direct = 0;
  let viaSkopeo = 0;
  let skopeoPart = 0;
  for (let v = 1; v <= 5; v++) {
    direct += timed(() => run(process.execPath, [BIN, 'snapshot', `docker://${reg.addr}/series/deb:v${v}`], a));
    const layout = join(work, 'layout');
    viaSkopeo += timed(() => {
      skopeoPart += timed(() => run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${reg.addr}/series/deb:v${v}`, `oci:${layout}:v${v}`]));
      run(process.execPath, [BIN, 'snapshot', `oci:${layout}:v${v}`, '--name', 'series/deb'], b);
    });
  }
  result.snapshotSeries = {
    directSeconds: direct,
    skopeoPlusSnapshotSeconds: viaSkopeo,
    skopeoSeconds: skopeoPart,
    repoBytesDirect: du(join(work, 'repo-a')),
    repoBytesViaSkopeo: du(join(work, 'repo-b')),
    layoutBytes: du(join(work, 'layout')),
  };
  console.log(
    `snapshot v1..v5 from docker-registry: stowage snapshot docker:// ${direct.toFixed(1)} s; skopeo copy to oci:<dir> + stowage snapshot oci:<dir> ${viaSkopeo.toFixed(1)} s (skopeo ${skopeoPart.toFixed(1)} s); repositories ${(du(join(work, 'repo-a')) / 1e6).toFixed(1)} MB / ${(du(join(work, 'repo-b')) / 1e6).toFixed(1)} MB; the OCI dir ${(du(join(work, 'layout')) / 1e6).toFixed(1)} MB`,
  );
  result.loadavgAtEnd = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log(`load average at start ${load}, at end ${String(result.loadavgAtEnd)}`);
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
}

try {
  await main();
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
