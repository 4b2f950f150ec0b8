/**
 * Helpers for end-to-end tests: run the built CLI as a user would, on temp repositories.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'packages/cli/bin/stowage.js');

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

/** How a CLI process that may have been killed ended. */
export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A temp directory with a repo path, a cache dir and an env for the CLI. */
export interface Sandbox {
  readonly dir: string;
  readonly repo: string;
  readonly env: NodeJS.ProcessEnv;
  file(name: string): string;
  /** Runs the CLI; throws when it reported an internal error ("this is a bug") unless `internal` says one is expected. */
  run(args: readonly string[], opts?: { input?: Buffer | string; env?: NodeJS.ProcessEnv; internal?: boolean }): RunResult;
  runAsync(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; internal?: boolean }): Promise<RunResult>;
  cleanup(): void;
}

/** The password every sandbox gives the CLI (STOWAGE_PASSWORD) unless a test overrides it. */
export const TEST_PASSWORD = 'stowage test password';

export function sandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-e2e-'));
  const repo = path.join(dir, 'repo');
  // Encrypted by default: a test password, and cheap scrypt parameters for new keys (tests only).
  // Tests of plaintext behaviour pass `init --insecure-no-encryption`; the password stays set, so
  // STOWAGE_INSECURE_PLAINTEXT=1 says a plaintext repository is meant (test/downgrade.test.ts
  // runs without it: a given password then refuses a plaintext repository).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STOWAGE_CACHE_DIR: path.join(dir, 'cache'),
    STOWAGE_REPOSITORY: repo,
    STOWAGE_PASSWORD: TEST_PASSWORD,
    STOWAGE_TEST_KDF: 'fast',
    STOWAGE_INSECURE_PLAINTEXT: '1',
  };
  for (const v of ['STOWAGE_PASSWORD_FILE', 'STOWAGE_NEW_PASSWORD', 'STOWAGE_NEW_PASSWORD_FILE', 'STOWAGE_KEY_HINT', 'STOWAGE_AGENT_SOCK']) delete env[v];
  return {
    dir,
    repo,
    env,
    file: (name) => path.join(dir, name),
    run(args, opts = {}) {
      const r = spawnSync(process.execPath, [BIN, ...args], { env: internalEnv({ ...env, ...opts.env }, opts.internal), input: opts.input, maxBuffer: 1 << 30 });
      const stderr = r.stderr.toString();
      if (!opts.internal) assertNoInternalError(args, stderr);
      return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr, stdoutBytes: r.stdout };
    },
    runAsync(args, opts = {}) {
      return new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [BIN, ...args], { env: internalEnv({ ...env, ...opts.env }, opts.internal) });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        p.stdout.on('data', (d: Buffer) => out.push(d));
        p.stderr.on('data', (d: Buffer) => err.push(d));
        p.on('error', reject);
        p.on('close', (code) => {
          const stdoutBytes = Buffer.concat(out);
          const stderr = Buffer.concat(err).toString();
          try {
            if (!opts.internal) assertNoInternalError(args, stderr);
          } catch (e) {
            reject(e);
            return;
          }
          resolve({ code: code ?? -1, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
        });
      });
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * What the CLI prints for an error without a code: "[INTERNAL]" and "this is a bug" in human
 * output, {"error":{"code":"INTERNAL"}} with --json.
 */
export const INTERNAL_ERROR_PATTERN = /this is a bug|\[INTERNAL\]|"code":\s*"INTERNAL"/;

/**
 * Fails (throws) when a CLI run's stderr reports an internal error: every error path the
 * tests provoke must end in a stable code (issue 14, item 5). Every run through the sandbox
 * is checked; tests that spawn the CLI themselves call this on what they read, and the
 * suite's global teardown (test/helpers/global-setup.ts) catches the rest through the log.
 */
export function assertNoInternalError(args: readonly string[], stderr: string): void {
  if (INTERNAL_ERROR_PATTERN.test(stderr)) throw new Error(`stowage ${args.join(' ')} reported an internal error ("this is a bug"); it needs a stable error code:\n${stderr}`);
}

/** The env of a CLI run: one expected to fail with an internal error is kept out of the suite's log. */
function internalEnv(env: NodeJS.ProcessEnv, internal: boolean | undefined): NodeJS.ProcessEnv {
  return internal ? { ...env, STOWAGE_INTERNAL_ERROR_LOG: '' } : env;
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of the seed), fast and reproducible. */
export function seededBytes(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Random bytes from the OS (fast, for large inputs). */
export function randomData(n: number): Buffer {
  return randomBytes(n);
}

/** Total bytes of files under `dir` of a type folder (e.g. "data"). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Flips one byte a third of the way into the repository's largest pack (a damaged repository for tests). */
export function flipByteInLargestPack(repo: string): void {
  const packs = listFiles(path.join(repo, 'data')).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
  const f = fs.openSync(packs[0]!, 'r+');
  try {
    const b = Buffer.alloc(1);
    const at = Math.floor(fs.statSync(packs[0]!).size / 3);
    fs.readSync(f, b, 0, 1, at);
    b[0]! ^= 0xff;
    fs.writeSync(f, b, 0, 1, at);
  } finally {
    fs.closeSync(f);
  }
}

export function sha256File(file: string): string {
  const r = spawnSync('sha256sum', [file]);
  return r.stdout.toString().split(' ')[0]!;
}
