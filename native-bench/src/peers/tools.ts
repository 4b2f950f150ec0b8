/**
 * peers/tools.ts — the tools the peer benchmark compares, as a table of
 * name -> { available(), init(repo), snapshot(repo, file, tag), restore(repo, tag, out) }.
 * Commands match shared/docs/peers.md (defaults unless stated), plus the Stowage CLI
 * contract (`stowage -r REPO init|snapshot|restore`), one row per chunk-size average.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Cmd } from './runner.js';
import { which } from './runner.js';

export interface ToolDef {
  name: string;
  /** Settings, shown next to the name in the report. */
  settings: string;
  available(): boolean;
  version(): string;
  /** Environment for every step; `work` is the run's private temp dir (repo = work/repo). */
  env(work: string): Record<string, string>;
  init(repo: string): Cmd;
  snapshot(repo: string, file: string, tag: string): Cmd;
  /** Restore snapshot `tag` into the file `out`; `file` is the path that was snapshotted. */
  restore(repo: string, tag: string, out: string, file: string): Cmd;
  /** Measure a repeat snapshot of the unchanged last input. */
  repeat: boolean;
}

function firstLine(argv: readonly string[]): string {
  const [prog, ...args] = argv;
  if (prog === undefined) return 'unknown';
  const r = spawnSync(prog, args, { encoding: 'utf8' });
  if (r.status !== 0) return `version unknown (\`${argv.join(' ')}\` failed)`;
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return text.split('\n')[0] ?? 'unknown';
}

const onPath = (prog: string) => () => which(prog) !== undefined;

function borg(name: string, compression: string): ToolDef {
  return {
    name,
    settings: `borg create --compression ${compression}, -e none; restore: borg extract --stdout > file (no fsync)`,
    available: onPath('borg'),
    version: () => firstLine(['borg', '--version']),
    env: (work) => ({
      BORG_BASE_DIR: join(work, 'borg-base'),
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    }),
    init: (repo) => ({ argv: ['borg', 'init', '-e', 'none', repo] }),
    snapshot: (repo, file, tag) => ({ argv: ['borg', 'create', '--compression', compression, `${repo}::${tag}`, file] }),
    restore: (repo, tag, out) => ({ argv: ['borg', 'extract', '--stdout', `${repo}::${tag}`], stdoutFile: out }),
    repeat: false,
  };
}

const restic: ToolDef = {
  name: 'restic',
  settings: 'restic backup, repo v2, compression auto, encrypted; restore: restic dump > file (no fsync of the output)',
  available: onPath('restic'),
  version: () => firstLine(['restic', 'version']),
  env: (work) => ({ RESTIC_PASSWORD: 'x', RESTIC_CACHE_DIR: join(work, 'restic-cache') }),
  init: (repo) => ({ argv: ['restic', 'init', '-r', repo] }),
  snapshot: (repo, file) => ({ argv: ['restic', '-r', repo, 'backup', file] }),
  // `latest` is the last backup taken, i.e. `tag`; the path inside the snapshot is the absolute input path.
  restore: (repo, _tag, out, file) => ({ argv: ['restic', '-r', repo, 'dump', 'latest', file], stdoutFile: out }),
  repeat: true,
};

const casync: ToolDef = {
  name: 'casync',
  settings: 'casync make (blob index), defaults: 64 KiB avg, zstd; restore: casync extract to the file (no fsync)',
  available: onPath('casync'),
  version: () => firstLine(['casync', '--version']),
  env: () => ({}),
  init: (repo) => ({ argv: ['mkdir', '-p', join(repo, 'store'), join(repo, 'idx')] }),
  snapshot: (repo, file, tag) => ({
    argv: ['casync', 'make', `--store=${join(repo, 'store')}`, join(repo, 'idx', `${tag}.caibx`), file],
  }),
  restore: (repo, tag, out) => ({
    argv: ['casync', 'extract', `--store=${join(repo, 'store')}`, join(repo, 'idx', `${tag}.caibx`), out],
  }),
  repeat: false,
};

/** How to invoke the Stowage CLI: the workspace .bin shim, else node on the package's bin script. */
export function stowageArgv(repoRoot: string): string[] {
  const shim = join(repoRoot, 'node_modules', '.bin', 'stowage');
  if (existsSync(shim)) return [shim];
  return [process.execPath, join(repoRoot, 'packages', 'cli', 'bin', 'stowage.js')];
}

/**
 * A Stowage row. `format` "auto" splits tar input at file boundaries (nested layer tars
 * included) and stores changed files as deltas against their previous version; "nodelta"
 * is the same without deltas; "raw" is plain FastCDC over the byte stream at the same
 * average size.
 */
export function stowage(avgBytes: number, repoRoot: string, format: 'auto' | 'raw' | 'nodelta' | 'stdout' = 'auto', encrypted = false): ToolDef {
  const bin = stowageArgv(repoRoot);
  const kib = Math.round(avgBytes / 1024);
  const what = {
    auto: 'file-boundary splitting and deltas (--format auto)',
    nodelta: 'file-boundary splitting, no deltas (--no-delta)',
    raw: '--format raw (plain FastCDC, no file boundaries)',
    stdout: 'file-boundary splitting and deltas (--format auto)',
  }[format];
  const flags = { auto: [], nodelta: ['--no-delta'], raw: ['--format', 'raw'], stdout: [] }[format];
  const restoreHow =
    format === 'stdout'
      ? 'restore: stowage restore latest - > file (the output is not fsynced; sha256 and image digests checked)'
      : 'restore: stowage restore latest file (a temp file beside it, then rename or link; no fsync; sha256 and image digests checked)';
  return {
    name: `stowage${encrypted ? '-enc' : ''}${format === 'auto' ? '' : `-${format}`}-${kib}k`,
    settings: `stowage, --chunk-avg ${avgBytes} (min avg/4, max avg*4), ${encrypted ? 'encrypted (the default: password in STOWAGE_PASSWORD, scrypt in every command, no key agent)' : 'no encryption'}, ${what}; ${restoreHow}`,
    available: () => bin.every((p) => p === process.execPath || existsSync(p)),
    version: () => firstLine([...bin, '--version']),
    env: (work) => ({ STOWAGE_CACHE_DIR: join(work, 'cache'), STOWAGE_PASSWORD: 'x', ...(!encrypted && { STOWAGE_INSECURE_PLAINTEXT: '1' }) }),
    init: (repo) => ({
      argv: [...bin, '-r', repo, 'init', ...(encrypted ? [] : ['--insecure-no-encryption']), '--chunk-avg', String(avgBytes)],
    }),
    snapshot: (repo, file) => ({ argv: [...bin, '-r', repo, 'snapshot', file, '--json', '--name', basename(file), ...flags] }),
    // The snapshot restored is always the last one taken (the harness restores right after v5).
    restore: (repo, _tag, out) => (format === 'stdout' ? { argv: [...bin, '-r', repo, 'restore', 'latest', '-'], stdoutFile: out } : { argv: [...bin, '-r', repo, 'restore', 'latest', out] }),
    repeat: true,
  };
}

/** Peer tools by name, in report order. */
export const PEERS: readonly ToolDef[] = [borg('borg', 'zstd,3'), borg('borg-lz4', 'lz4'), casync, restic];
