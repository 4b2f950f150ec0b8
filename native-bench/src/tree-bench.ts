#!/usr/bin/env node
/**
 * tree-bench.ts — snapshots of directories, side by side in one run: Stowage (`snapshot <dir>`),
 * restic 0.14 (`backup <dir>`) and borg 1.2 (`create --compression zstd,3`), issue 11 item 8.
 *
 * Part 1, the corpus's five root filesystems (deb v1..v5.rootfs.tar) unpacked by the benchmark:
 * one volume directory that goes through v1..v5 in place (rsync -aHAX --delete from the unpacked
 * version, untimed, so unchanged files keep their inode and times as on a real volume); per tool
 * a fresh repository, then timed: the snapshot of each version, a repeat with nothing changed,
 * the restore of the last version (checked with rsync -naHAXc --numeric-ids against the volume;
 * each tool restores to a fresh journaled ext4 of its own, see restoreTarget), repository size,
 * peak RSS.
 * Part 2, generated trees of small files (default 10,000 and 1,000,000; 1,000 files a directory,
 * 50..2,000 bytes each): first snapshot and repeat, peak RSS (the memory bound of item 2).
 * Part "restore" (not in the default parts): the restore of v5 alone, again and again, from the
 * repositories an earlier rootfs run left in --tmp: an untimed round first (caches: V8's code
 * cache of a fresh build, the page cache), then --restores rounds in which every tool (and
 * every Stowage build of --builds, all on the one Stowage repository) restores in turn, each
 * into a fresh ext4 of its own; the first timed round is checked with rsync. Medians per tool
 * and their ratio to restic's.
 *
 * Each step is its own process, timed around the spawn; peak RSS and CPU from GNU time. The
 * machine's load average is recorded at every step: other engineers share the machine.
 *
 *   node native-bench/dist/tree-bench.js [--corpus /work/corpus/deb] [--tools stowage,restic,borg]
 *     [--files 10000,1000000] [--files-tools stowage,restic,borg] [--parts rootfs,files]
 *     [--tmp /work/bench-tmp/tree] [--out native-bench/results/tree.json]
 *     [--restores 5] [--builds before=/tmp/before,after=.]   (part "restore"; part rootfs too)
 *     [--snapshots-only]
 *
 * --snapshots-only: the rootfs part times the five versions only (no repeat, restore, rsync).
 * --builds with part rootfs: the stowage tool becomes one tool per named checkout
 * (`stowage-<name>`, its node_modules/.bin/stowage, each with a repository of its own), in the
 * order given, where `stowage` stands in --tools (e.g. --tools stowage,restic).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dirBytes, hasGnuTime, runStep, type StepResult } from './peers/runner.js';
import { stowageArgv } from './peers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: '/work/corpus/deb' },
    tools: { type: 'string', default: 'stowage,restic,borg' },
    files: { type: 'string', default: '10000,1000000' },
    'files-tools': { type: 'string', default: 'stowage,restic,borg' },
    parts: { type: 'string', default: 'rootfs,files' },
    tmp: { type: 'string', default: '/work/bench-tmp/tree' },
    restores: { type: 'string', default: '5' },
    builds: { type: 'string', default: '' },
    out: { type: 'string', default: join(ROOT, 'native-bench/results/tree.json') },
    'snapshots-only': { type: 'boolean', default: false },
  },
});
const list = (s: string) => s.split(',').filter(Boolean);
/** --builds name=root,...: Stowage checkouts (as tools `stowage-<name>`), in order. */
const BUILDS = list(values.builds!).map((b) => {
  const [name, root] = b.split('=');
  if (!name || !root) throw new Error(`--builds: name=root, not ${b}`);
  return { name: `stowage-${name}`, root: resolve(root) };
});
const TMP = resolve(values.tmp!);
const OUT = resolve(values.out!);

interface Tool {
  name: string;
  init(repo: string): string[];
  snapshot(repo: string, dir: string, label: string): string[];
  /** Restores the latest snapshot into `out`; the tree lands at `out` + `landing(dir)`. */
  restore(repo: string, out: string, label: string): string[];
  landing(dir: string): string;
}

/** Stowage of the checkout at `root` (its node_modules/.bin/stowage, or its bin/stowage.js). */
function stowageTool(name: string, root: string): Tool {
  return {
    name,
    init: (r) => [...stowageArgv(root), '-r', r, 'init'],
    snapshot: (r, d) => [...stowageArgv(root), '-r', r, 'snapshot', d, '--json'],
    restore: (r, o) => [...stowageArgv(root), '-r', r, 'restore', 'latest', o],
    landing: () => '',
  };
}

const TOOLS: Record<string, Tool> = {
  stowage: stowageTool('stowage', ROOT),
  restic: {
    name: 'restic',
    init: (r) => ['restic', 'init', '-q', '-r', r],
    snapshot: (r, d) => ['restic', '-r', r, 'backup', '-q', d],
    restore: (r, o) => ['restic', '-r', r, 'restore', 'latest', '--target', o, '-q'],
    landing: (d) => d,
  },
  borg: {
    name: 'borg',
    init: (r) => ['borg', 'init', '-e', 'none', r],
    snapshot: (r, d, label) => ['borg', 'create', '--compression', 'zstd,3', `${r}::${label}`, d],
    restore: (r, o, label) => ['sh', '-c', `mkdir -p "$2" && cd "$2" && exec borg extract "$1::$3"`, 'sh', r, o, label],
    landing: (d) => d,
  },
};

for (const b of BUILDS) TOOLS[b.name] = stowageTool(b.name, b.root);

const env: NodeJS.ProcessEnv = { ...process.env, STOWAGE_PASSWORD: 'bench', RESTIC_PASSWORD: 'bench', BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' };

interface Step {
  tool: string;
  what: string;
  seconds: number;
  rssMB: number | null;
  cpuSeconds: number | null;
  load1: number;
  code: number | null;
  note?: string;
}

const steps: Step[] = [];
const summary: Record<string, Record<string, number | string | null | number[]>> = {};

function sh(cmd: string): void {
  const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr.toString()}`);
}

async function step(tool: string, what: string, argv: string[]): Promise<StepResult> {
  const load1 = loadavg()[0]!;
  const r = await runStep({ argv }, env);
  const s: Step = { tool, what, seconds: r.seconds, rssMB: r.rssKB === null ? null : r.rssKB / 1024, cpuSeconds: r.cpuSeconds, load1, code: r.code };
  if (r.code !== 0) s.note = r.stderrTail.slice(-500);
  steps.push(s);
  console.log(
    `${tool.padEnd(8)} ${what.padEnd(22)} ${r.seconds.toFixed(2).padStart(8)} s  ${s.rssMB === null ? '-' : s.rssMB.toFixed(0).padStart(5)} MB  cpu ${r.cpuSeconds?.toFixed(2) ?? '-'} s  load ${load1.toFixed(1)}${r.code !== 0 ? `  FAILED ${r.code}: ${s.note}` : ''}`,
  );
  save();
  return r;
}

function save(): void {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify({ machine: { nproc: spawnSync('nproc').stdout.toString().trim(), restic: version('restic', ['version']), borg: version('borg', ['--version']) }, steps, summary }, null, 2),
  );
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args);
  return r.status === 0 ? r.stdout.toString().trim().split('\n')[0]! : 'absent';
}

function installed(t: string): boolean {
  return t === 'stowage' || (t in TOOLS && t.startsWith('stowage-')) || spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
}

async function rootfsPart(tools: string[]): Promise<void> {
  const stage = join(TMP, 'stage');
  for (let v = 1; v <= 5; v++) {
    const dir = join(stage, `v${v}`);
    if (existsSync(join(dir, '.unpacked'))) continue;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    sh(`tar -xpf ${values.corpus}/v${v}.rootfs.tar -C ${dir} --numeric-owner --xattrs --xattrs-include='*' && touch ${dir}/.unpacked`);
  }
  for (const t of tools) {
    const tool = TOOLS[t]!;
    const work = join(TMP, `rootfs-${t}`);
    unmount(work);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const repo = join(work, 'repo');
    const vol = join(work, 'volume');
    mkdirSync(vol);
    env.STOWAGE_CACHE_DIR = join(work, 'cache');
    env.RESTIC_CACHE_DIR = join(work, 'cache');
    env.BORG_BASE_DIR = join(work, 'borg-base');
    await step(t, 'init', tool.init(repo));
    let total = 0;
    const rss: number[] = [];
    for (let v = 1; v <= 5; v++) {
      sh(`rsync -aHAX --delete --exclude=/.unpacked ${stage}/v${v}/ ${vol}/`);
      const r = await step(t, `snapshot v${v}`, tool.snapshot(repo, vol, `v${v}`));
      total += r.seconds;
      rss.push((r.rssKB ?? 0) / 1024);
    }
    if (values['snapshots-only']) {
      summary[`rootfs ${t}`] = { fiveVersionsSeconds: total, repoBytes: await dirBytes(repo), peakRssMB: Math.max(...rss) };
      console.log(`${t}: five versions ${total.toFixed(1)} s, repository ${((await dirBytes(repo)) / 1e6).toFixed(1)} MB, peak RSS ${Math.max(...rss).toFixed(0)} MB`);
      save();
      continue;
    }
    const repeat = await step(t, 'repeat v5 (unchanged)', tool.snapshot(repo, vol, 'v5-again'));
    const target = restoreTarget(work);
    const out = target.dir;
    const restore = await step(t, 'restore v5', tool.restore(repo, out, 'v5-again'));
    const landed = join(out, tool.landing(vol));
    const diff = spawnSync('bash', ['-c', `rsync -naHAXci --numeric-ids "${vol}/" "${landed}/" | wc -l`])
      .stdout.toString()
      .trim();
    const size = await dirBytes(repo);
    const maxRss = Math.max(...rss, (repeat.rssKB ?? 0) / 1024, (restore.rssKB ?? 0) / 1024);
    summary[`rootfs ${t}`] = { fiveVersionsSeconds: total, repeatSeconds: repeat.seconds, restoreSeconds: restore.seconds, repoBytes: size, peakRssMB: maxRss, rsyncDifferences: Number(diff) };
    console.log(
      `${t}: five versions ${total.toFixed(1)} s, repeat ${repeat.seconds.toFixed(2)} s, restore ${restore.seconds.toFixed(2)} s, repository ${(size / 1e6).toFixed(1)} MB, peak RSS ${maxRss.toFixed(0)} MB, rsync -naHAXc differences after restore: ${diff}`,
    );
    save();
    target.release();
  }
}

/**
 * Where a tool restores: a fresh journaled ext4 (mkfs.ext4's defaults) on a loop device of its
 * own, when this runs as root and mkfs.ext4 and mount work; else a plain directory in `work`.
 * Why: this machine's root file system is an ext4 without a journal, whose inode allocator
 * skips, one by one, every inode deleted in the last 60 s (360 s while its inode table block is
 * dirty; fs/ext4/ialloc.c, recently_deleted). After the rsync --delete of the versions and the
 * removal of an earlier run's trees, a restore of v5's 12,000 entries there paid 2-4 s of kernel
 * time depending on what was deleted before it (`tar -x` of v5.rootfs.tar alike: 0.43 s of system
 * time in a quiet place, 3.7-3.9 s where a tree had just been removed), so the order of the tools
 * decided the restore figures. Each tool gets the same empty file system; it is unmounted and
 * dropped afterwards (no mass deletion for the next tool).
 */
function restoreTarget(work: string): { dir: string; release(): void } {
  const mnt = join(work, 'mnt');
  mkdirSync(mnt, { recursive: true });
  const img = join(work, 'mnt.ext4');
  const root = process.getuid?.() === 0;
  const made =
    root &&
    spawnSync('bash', ['-c', `truncate -s 4G "$1" && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1" && mount -o loop "$1" "$2"`, 'sh', img, mnt], { stdio: 'ignore' }).status === 0;
  if (!made) {
    rmSync(img, { force: true });
    console.log(`restore target: a plain directory (${root ? 'mkfs.ext4 or mount -o loop failed' : 'not root'}): figures depend on recent deletions`);
  }
  return {
    // below the mount point: the file system's root holds lost+found
    dir: join(mnt, 'out'),
    release() {
      unmount(work);
      rmSync(img, { force: true });
      rmSync(mnt, { recursive: true, force: true });
    },
  };
}

/** Unmounts a restore target left mounted in `work` (by a run that stopped early). */
function unmount(work: string): void {
  if (existsSync(join(work, 'mnt'))) spawnSync('umount', [join(work, 'mnt')], { stdio: 'ignore' });
}

/**
 * The restore of v5 alone, `--restores` rounds of every tool in turn (see the file comment);
 * `--builds name=root,...` restores with each of those Stowage checkouts instead of this one.
 */
async function restorePart(tools: string[]): Promise<void> {
  const builds = BUILDS;
  const runs: { name: string; tool: Tool; work: string }[] = [];
  for (const t of tools) {
    const work = join(TMP, `rootfs-${t}`);
    if (!existsSync(join(work, 'repo')) || !existsSync(join(work, 'volume'))) throw new Error(`${work}: no repository and volume of an earlier rootfs run (run --parts rootfs first)`);
    if (t === 'stowage' && builds.length > 0) {
      for (const b of builds) runs.push({ name: b.name, work, tool: { ...TOOLS.stowage!, restore: (r, o) => [...stowageArgv(b.root), '-r', r, 'restore', 'latest', o] } });
    } else runs.push({ name: t, tool: TOOLS[t]!, work });
  }
  const times = new Map<string, { s: number[]; cpu: number[] }>();
  const rounds = Number(values.restores);
  for (let round = 0; round <= rounds; round++) {
    for (const { name, tool, work } of runs) {
      env.STOWAGE_CACHE_DIR = join(work, 'cache');
      env.RESTIC_CACHE_DIR = join(work, 'cache');
      env.BORG_BASE_DIR = join(work, 'borg-base');
      unmount(work);
      const target = restoreTarget(work);
      const r = await step(name, round === 0 ? 'restore v5 (untimed)' : `restore v5 #${round}`, tool.restore(join(work, 'repo'), target.dir, 'v5-again'));
      if (round === 1) {
        const diff = spawnSync('bash', ['-c', `rsync -naHAXci --numeric-ids "${work}/volume/" "${join(target.dir, tool.landing(join(work, 'volume')))}/" | wc -l`])
          .stdout.toString()
          .trim();
        console.log(`${name}: rsync -naHAXc differences after restore: ${diff}`);
        if (diff !== '0') summary[`restore ${name} rsync differences`] = { lines: Number(diff) };
      }
      target.release();
      if (round === 0 || r.code !== 0) continue;
      const t = times.get(name) ?? { s: [], cpu: [] };
      t.s.push(r.seconds);
      t.cpu.push(r.cpuSeconds ?? NaN);
      times.set(name, t);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const restic = times.get('restic');
  for (const [name, t] of times) {
    const ratio = restic ? median(t.s) / median(restic.s) : null;
    summary[`restore ${name}`] = { restoreSeconds: t.s.map((x) => Number(x.toFixed(3))), cpuSeconds: t.cpu, medianSeconds: median(t.s), medianCpuSeconds: median(t.cpu), ratioToRestic: ratio };
    console.log(
      `${name}: restore v5 median ${median(t.s).toFixed(2)} s (${t.s.map((x) => x.toFixed(2)).join(' / ')}), CPU median ${median(t.cpu).toFixed(2)} s${ratio === null ? '' : `, ${ratio.toFixed(2)} x restic's`}`,
    );
  }
  save();
}

/** n small files, 1,000 a directory, 50..2,000 bytes of mixed text/random each (deterministic). */
function generate(dir: string, n: number): void {
  if (existsSync(join(dir, '.done'))) return;
  rmSync(dir, { recursive: true, force: true });
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const buf = Buffer.alloc(2000);
  for (let i = 0; i < n; i++) {
    const d = join(dir, `d${Math.floor(i / 1000) % 1000}`, `e${Math.floor(i / 1_000_000)}`);
    if (i % 1000 === 0) mkdirSync(d, { recursive: true });
    const len = 50 + (rnd() % 1950);
    for (let k = 0; k < len; k += 4) buf.writeUInt32LE(rnd() % 7 === 0 ? rnd() : 0x61626364 + (k % 3), k);
    const fd = openSync(join(d, `f${i}.txt`), 'w');
    writeSync(fd, buf, 0, len);
    closeSync(fd);
  }
  writeFileSync(join(dir, '.done'), '');
}

async function filesPart(counts: number[], tools: string[]): Promise<void> {
  for (const n of counts) {
    const tree = join(TMP, `files-${n}`);
    const t0 = performance.now();
    generate(tree, n);
    console.log(`tree of ${n} files ready (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    for (const t of tools) {
      const tool = TOOLS[t]!;
      const work = join(TMP, `files-${n}-${t}`);
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const repo = join(work, 'repo');
      env.STOWAGE_CACHE_DIR = join(work, 'cache');
      env.RESTIC_CACHE_DIR = join(work, 'cache');
      env.BORG_BASE_DIR = join(work, 'borg-base');
      await step(t, 'init', tool.init(repo));
      const first = await step(t, `${n} files: snapshot`, tool.snapshot(repo, tree, 'a'));
      const repeat = await step(t, `${n} files: repeat`, tool.snapshot(repo, tree, 'b'));
      summary[`files ${n} ${t}`] = {
        snapshotSeconds: first.seconds,
        snapshotRssMB: first.rssKB === null ? null : first.rssKB / 1024,
        repeatSeconds: repeat.seconds,
        repeatRssMB: repeat.rssKB === null ? null : repeat.rssKB / 1024,
        repoBytes: await dirBytes(repo),
      };
      save();
      rmSync(work, { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  if (!hasGnuTime()) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install time');
  mkdirSync(TMP, { recursive: true });
  const parts = list(values.parts!);
  const tools = list(values.tools!).filter((t) => installed(t) || (console.log(`skipped ${t}: not installed`), false));
  // part rootfs with --builds: one stowage tool per build, where stowage stands
  if (parts.includes('rootfs')) await rootfsPart(tools.flatMap((t) => (t === 'stowage' && BUILDS.length ? BUILDS.map((b) => b.name) : [t])));
  if (parts.includes('restore')) await restorePart(tools);
  if (parts.includes('files')) await filesPart(list(values.files!).map(Number), list(values['files-tools']!).filter(installed));
  save();
  console.log(`results: ${OUT}`);
}

await main();
