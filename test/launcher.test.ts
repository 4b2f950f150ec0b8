/**
 * Issue 13 item 2 (peak RSS): the launcher, packages/cli/bin/stowage.js, started as a program
 * (directly, through a symlink on PATH, or through a package manager's shim, which copies its
 * `#!` line), runs node with glibc malloc limited to two arenas that hand memory of 2 MB and
 * more back to the system (MALLOC_* variables, a user's own values kept), and passes every
 * argument through unchanged. Checked on the running process
 * (/proc/<pid>/environ and cmdline): Linux only.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, type Sandbox } from './helpers/cli.js';

const linux = fs.existsSync('/proc/self/environ');
if (!linux) console.warn('launcher.test.ts: no /proc (not Linux): the launcher checks are skipped');

/** Starts the launcher as a program; waits until it became node; returns what /proc says, then ends its input. */
async function launch(args: string[], env: NodeJS.ProcessEnv): Promise<{ argv: string[]; env: Map<string, string>; code: number | null; stderr: string }> {
  const p = spawn(BIN, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => p.on('close', resolve));
  let argv: string[] = [];
  let environ = '';
  for (let i = 0; i < 200; i++) {
    try {
      argv = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      // env -> sh -> node, one process: wait for the last exec
      if (argv[0] === 'node') {
        environ = fs.readFileSync(`/proc/${p.pid}/environ`, 'utf8');
        break;
      }
    } catch {
      // not started yet, or gone
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  p.stdin.end();
  const code = await closed;
  const vars = new Map(
    environ
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
  );
  return { argv, env: vars, code, stderr };
}

describe.skipIf(!linux)('the launcher (bin/stowage.js run as a program)', () => {
  let sb: Sandbox;
  let repo: string;
  beforeAll(() => {
    sb = sandbox();
    repo = sb.file(`repo with space and 'quote'`);
    expect(sb.run(['-r', repo, 'init', '--insecure-no-encryption']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('runs node with bounded malloc arenas; arguments pass through intact', async () => {
    const env = { ...sb.env };
    for (const v of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']) delete env[v];
    const r = await launch(['-r', repo, 'snapshot', '-', '--allow-empty', '--name', 'a "b" $c'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.argv[0]).toBe('node');
    expect(r.argv.slice(2)).toEqual(['-r', repo, 'snapshot', '-', '--allow-empty', '--name', 'a "b" $c']);
    expect(r.env.get('MALLOC_ARENA_MAX')).toBe('2');
    expect(r.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('2097152');
    expect(r.env.get('MALLOC_TRIM_THRESHOLD_')).toBe('2097152');
    const list = JSON.parse(sb.run(['-r', repo, '--json', 'snapshots']).stdout) as { name: string }[];
    expect(list.map((s) => s.name)).toContain('a "b" $c');
  });

  it("keeps the user's own malloc settings", async () => {
    const r = await launch(['-r', repo, 'snapshot', '-', '--allow-empty'], { ...sb.env, MALLOC_ARENA_MAX: '4', MALLOC_TRIM_THRESHOLD_: '131072' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.env.get('MALLOC_ARENA_MAX')).toBe('4');
    expect(r.env.get('MALLOC_TRIM_THRESHOLD_')).toBe('131072');
    expect(r.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('2097152');
  });
});
