/**
 * gzip-layers.ts — what gzip layers cost dedup, and whether they can be stored decompressed
 * with a byte-exact recompression recipe (issue 12 item 3).
 *
 * 1. Dedup: two fresh plaintext repositories; `stowage snapshot` of deb v1..v5 `.oci.tar`
 *    (gzip layers, as skopeo writes them) in one and `.oci-uncompressed.tar` in the other,
 *    each step its own process; repository bytes after each version.
 * 2. Recipes: every gzip layer of v1..v5 `.oci.tar`, inflated, then deflated again with
 *    Node's zlib (the zlib library) at levels 1..9, memLevel 8 and 9, default and filtered
 *    strategies — the settings a gzip writer built on zlib uses (GNU gzip -1..-9, pigz,
 *    Python); a candidate is checked on a 2 MiB prefix first (deflate blocks before the last
 *    one of a prefix equal the stream's), then on the whole layer by SHA-256 of the deflate
 *    stream. A layer qualifies when one candidate reproduces its bytes exactly.
 *
 * Usage: node native-bench/dist/gzip-layers.js [--corpus /work/corpus/deb] [--tmp DIR] [--out FILE] [--skip-dedup]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { stowageArgv } from './peers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const corpus = arg('--corpus') ?? '/work/corpus/deb';
const tmpRoot = arg('--tmp') ?? tmpdir();
const out = arg('--out');
const skipDedup = process.argv.includes('--skip-dedup');

function du(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

function stowage(args: string[], env: NodeJS.ProcessEnv): string {
  const [cmd, ...pre] = stowageArgv(ROOT);
  const r = spawnSync(cmd!, [...pre, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`stowage ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface SeriesRow {
  series: string;
  afterEach: number[];
  seconds: number[];
}

function dedupSeries(series: string): SeriesRow {
  const dir = mkdtempSync(join(tmpRoot, 'gzip-layers-'));
  const repo = join(dir, 'repo');
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(dir, 'cache') };
  try {
    stowage(['-r', repo, 'init', '--insecure-no-encryption'], env);
    const afterEach: number[] = [];
    const seconds: number[] = [];
    for (let v = 1; v <= 5; v++) {
      const t0 = performance.now();
      stowage(['-r', repo, 'snapshot', join(corpus, `v${v}.${series}.tar`), '--json', '--name', `deb.${series}`], env);
      seconds.push((performance.now() - t0) / 1000);
      afterEach.push(du(repo));
    }
    return { series, afterEach, seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Candidate {
  level: number;
  memLevel: number;
  strategy: number;
}

const CANDIDATES: Candidate[] = [];
for (const strategy of [zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_FILTERED])
  for (const memLevel of [8, 9]) for (let level = 1; level <= 9; level++) CANDIDATES.push({ level, memLevel, strategy });

/** The deflate stream of a single-member gzip file (header and trailer off), or undefined. */
function deflateOf(gz: Buffer): { header: Buffer; deflate: Buffer } | undefined {
  if (gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8) return undefined;
  const flg = gz[3]!;
  let p = 10;
  if (flg & 4) p += 2 + gz.readUInt16LE(p);
  if (flg & 8) while (gz[p++] !== 0);
  if (flg & 16) while (gz[p++] !== 0);
  if (flg & 2) p += 2;
  return { header: gz.subarray(0, p), deflate: gz.subarray(p, gz.length - 8) };
}

function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

interface LayerRow {
  version: number;
  digest: string;
  gzipBytes: number;
  rawBytes: number;
  header: string;
  recipe?: Candidate;
  bestPrefix: number;
}

function recipes(version: number): LayerRow[] {
  const dir = mkdtempSync(join(tmpRoot, 'gzip-recipe-'));
  try {
    const r = spawnSync('tar', ['-C', dir, '-xf', join(corpus, `v${version}.oci.tar`)]);
    if (r.status !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string; mediaType: string }[] };
    const rows: LayerRow[] = [];
    for (const l of manifest.layers) {
      if (!/gzip/.test(l.mediaType)) continue;
      const gz = readFileSync(join(dir, 'blobs/sha256', l.digest.slice(7)));
      const parts = deflateOf(gz);
      const raw = zlib.gunzipSync(gz);
      const row: LayerRow = { version, digest: l.digest, gzipBytes: gz.length, rawBytes: raw.length, header: parts ? parts.header.toString('hex') : '?', bestPrefix: 0 };
      if (parts) {
        const prefix = raw.subarray(0, 2 * 1024 * 1024);
        for (const c of CANDIDATES) {
          const p = zlib.deflateRawSync(prefix, { level: c.level, memLevel: c.memLevel, strategy: c.strategy });
          const common = commonPrefix(p, parts.deflate);
          row.bestPrefix = Math.max(row.bestPrefix, common);
          const plausible = prefix.length < 2 * 1024 * 1024 ? common === p.length : common >= Math.min(p.length - 128 * 1024, p.length / 2);
          if (!plausible) continue;
          const full = zlib.deflateRawSync(raw, { level: c.level, memLevel: c.memLevel, strategy: c.strategy });
          if (createHash('sha256').update(full).digest('hex') === createHash('sha256').update(parts.deflate).digest('hex')) {
            row.recipe = c;
            break;
          }
        }
      }
      rows.push(row);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

mkdirSync(tmpRoot, { recursive: true });
const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const t0 = performance.now();
const layers: LayerRow[] = [];
for (let v = 1; v <= 5; v++) layers.push(...recipes(v));
const unique = new Map(layers.map((l) => [l.digest, l]));
const qualified = [...unique.values()].filter((l) => l.recipe);
console.log(
  `gzip layers of v1..v5.oci.tar: ${unique.size} distinct, ${qualified.length} reproduced byte for byte by a zlib recipe (${((100 * qualified.length) / Math.max(1, unique.size)).toFixed(0)}%); gzip bytes ${[...unique.values()].reduce((a, l) => a + l.gzipBytes, 0)}, qualified gzip bytes ${qualified.reduce((a, l) => a + l.gzipBytes, 0)}`,
);
console.log(`  longest common prefix of a candidate's deflate output with a layer's (bytes): ${[...unique.values()].map((l) => l.bestPrefix).join(', ')}`);
console.log(`  gzip headers seen: ${[...new Set([...unique.values()].map((l) => l.header))].join(', ')}`);
const dedup = skipDedup ? [] : ['oci', 'oci-uncompressed'].map(dedupSeries);
for (const d of dedup)
  console.log(`${d.series}: repository after v1..v5 ${d.afterEach.map((b) => (b / 1e6).toFixed(1)).join(' / ')} MB; snapshot seconds ${d.seconds.map((s) => s.toFixed(1)).join(' / ')}`);
const result = { when: new Date().toISOString(), loadavgAtStart: load, seconds: (performance.now() - t0) / 1000, corpus, layers, distinct: unique.size, qualified: qualified.length, dedup };
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
console.log(`load average at start: ${load}; ${((performance.now() - t0) / 1000).toFixed(0)} s`);
