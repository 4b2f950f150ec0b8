/**
 * peers/runner.ts — run one benchmark step the way a user runs it: one separate
 * process, wall time taken with hrtime around the spawn, peak RSS from GNU time
 * (`/usr/bin/time -f %M`, parsed from the last line of stderr, with %U+%S CPU time) when it is installed.
 * Also the small file-system helpers the harness needs (PATH lookup, du -sb-style
 * size, streaming sha256). Node built-ins only.
 *
 * Every step has a time limit (Cmd.limitSeconds, else STOWAGE_BENCH_STEP_LIMIT seconds, else
 * 1800): a step still running then is killed with its whole process group (the step runs in a
 * group of its own, so GNU time's child and the tool's own children go too), and its result says
 * so (timedOut, signal SIGKILL, a non-zero code) with the stderr it wrote. A benchmark that is
 * interrupted (SIGINT, SIGTERM) kills the groups of its running steps before it exits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, existsSync, openSync, closeSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** A command to run: argv[0] is the program. stdoutFile redirects stdout (like `> out`). */
export interface Cmd {
  argv: readonly string[];
  stdoutFile?: string;
  /** Kill the step (and its process group) after this many seconds; default stepLimitSeconds(). */
  limitSeconds?: number;
}

export interface StepResult {
  argv: string[];
  seconds: number;
  /** Peak RSS in KiB as GNU time reports it (%M); null without GNU time. */
  rssKB: number | null;
  /** User + system CPU seconds (GNU time %U + %S); null without GNU time. */
  cpuSeconds: number | null;
  code: number | null;
  signal: string | null;
  /** Captured stdout (empty when redirected to a file). */
  stdout: string;
  /** Last few KiB of stderr, without the GNU time line. */
  stderrTail: string;
  /** stdout parsed, when it is one JSON object (stowage snapshot --json). */
  json?: unknown;
  /** True when the step outlived its limit and was killed (code is then 124, as timeout(1) says). */
  timedOut?: boolean;
}

const GNU_TIME = '/usr/bin/time';
const RSS_TAG = 'peak_rss_kb=';
const TAIL_BYTES = 16 * 1024;
const STDOUT_MAX = 1024 * 1024;

const DEFAULT_LIMIT_SECONDS = 1800;

/** The default per-step limit: STOWAGE_BENCH_STEP_LIMIT (seconds) when set to a positive number, else 1800. */
export function stepLimitSeconds(): number {
  const v = Number(process.env['STOWAGE_BENCH_STEP_LIMIT']);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_LIMIT_SECONDS;
}

/** Process groups of the steps running now, killed if the benchmark itself is interrupted. */
const running = new Set<number>();
let handlersInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function installInterruptHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      for (const pid of running) killGroup(pid);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

let gnuTime: boolean | undefined;
/** True when /usr/bin/time is GNU time (it accepts -f). */
export function hasGnuTime(): boolean {
  gnuTime ??= existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true']).status === 0;
  return gnuTime;
}

/** Full path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * Run a command to completion and measure it. Never throws for a non-zero exit. A step that
 * outlives its limit is killed with its process group and resolves with timedOut set, code 124
 * and the stderr it wrote (its measurements then are of the killed step).
 */
export function runStep(cmd: Cmd, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const argv = [...cmd.argv];
  const [prog, ...args] = hasGnuTime() ? [GNU_TIME, '-f', `${RSS_TAG}%M cpu=%U+%S`, ...argv] : argv;
  if (prog === undefined) throw new Error('empty command');
  const outFd = cmd.stdoutFile === undefined ? undefined : openSync(cmd.stdoutFile, 'w');
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let end = 0n;
    const t0 = process.hrtime.bigint();
    const limit = cmd.limitSeconds ?? stepLimitSeconds();
    let timedOut = false;
    installInterruptHandlers();
    const child = spawn(prog, args, { env, stdio: ['ignore', outFd ?? 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, limit * 1000);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < STDOUT_MAX) stdout += s;
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-TAIL_BYTES);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      if (outFd !== undefined) closeSync(outFd);
      reject(err);
    });
    child.on('exit', () => {
      end = process.hrtime.bigint();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      if (outFd !== undefined) closeSync(outFd);
      const m = new RegExp(`${RSS_TAG}(\\d+) cpu=([\\d.]+)\\+([\\d.]+)\\s*$`).exec(stderr);
      const rssKB = m === null ? null : Number(m[1]);
      const cpuSeconds = m === null ? null : Number(m[2]) + Number(m[3]);
      const stderrTail = (m === null ? stderr : stderr.slice(0, m.index)) + (timedOut ? `\n[killed after the step's limit of ${limit} s, with its process group]\n` : '');
      const seconds = Number((end || process.hrtime.bigint()) - t0) / 1e9;
      const result = { argv, seconds, rssKB, cpuSeconds, code: timedOut ? 124 : code, signal, stdout, stderrTail, ...parseJson(stdout) };
      resolve(timedOut ? { ...result, timedOut } : result);
    });
  });
}

function parseJson(stdout: string): { json?: unknown } {
  const t = stdout.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return {};
  try {
    return { json: JSON.parse(t) as unknown };
  } catch {
    return {};
  }
}

/** Recursive sum of the sizes of everything except directories (du -sb, minus directory entries). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    total += ent.isDirectory() ? await dirBytes(p) : (await lstat(p)).size;
  }
  return total;
}

/** Streaming sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
