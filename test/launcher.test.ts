/**
 * Issue 13 item 2 (peak RSS): the launcher, packages/cli/bin/stowage.js, started as a program
 * (directly, through a symlink on PATH, or through a package manager's shim, which copies its
 * `#!` line), runs node with glibc malloc limited to two arenas that hand memory of 2 MB and
 * more back to the system (MALLOC_* variables, a user's own values kept) and V8's young
 * generation capped at 2 x 4 MiB (--max-semi-space-size=4), and passes every
 * argument through unchanged. It drops NODE_EXTRA_CA_CERTS (which Node 20 parses at every
 * start, about 50 ms per command) unless the command may open a TLS connection: an argument
 * or STOWAGE_REPOSITORY / STOWAGE_FROM_REPOSITORY naming https://, docker:// or an s3:
 * repository other than s3:http://. Checked on the running process
 * (/proc/<pid>/environ and cmdline): Linux only.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, sandbox, type Sandbox } from './helpers/cli.js';

const linux = fs.existsSync('/proc/self/environ');
if (!linux) console.warn('launcher.test.ts: no /proc (not Linux): the launcher checks are skipped');

/** Starts the launcher as a program; waits until it became node; returns what /proc says, then ends its input. */
async function launch(args: string[], env: NodeJS.ProcessEnv, program = BIN): Promise<{ argv: string[]; env: Map<string, string>; code: number | null; stderr: string }> {
  const p = spawn(program, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
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
    // node's options (a young generation capped at 2 x 4 MiB), then the CommonJS launcher (no ES module loader before the key derivation starts), then the arguments as given
    expect(r.argv[1]).toBe('--max-semi-space-size=4');
    expect(r.argv[2]).toBe(path.join(ROOT, 'packages/cli/bin/stowage.cjs'));
    expect(r.argv.slice(3)).toEqual(['-r', repo, 'snapshot', '-', '--allow-empty', '--name', 'a "b" $c']);
    expect(r.env.get('MALLOC_ARENA_MAX')).toBe('2');
    expect(r.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('2097152');
    expect(r.env.get('MALLOC_TRIM_THRESHOLD_')).toBe('2097152');
    const list = JSON.parse(sb.run(['-r', repo, '--json', 'snapshots']).stdout) as { name: string }[];
    expect(list.map((s) => s.name)).toContain('a "b" $c');
  });

  /** The sandbox's environment with NODE_EXTRA_CA_CERTS set (an empty file) and no repository variables. */
  function withExtraCa(name: string): { ca: string; env: NodeJS.ProcessEnv } {
    const ca = sb.file(name);
    fs.writeFileSync(ca, '');
    const env: NodeJS.ProcessEnv = { ...sb.env, NODE_EXTRA_CA_CERTS: ca };
    delete env.STOWAGE_REPOSITORY;
    delete env.STOWAGE_FROM_REPOSITORY;
    return { ca, env };
  }

  it('drops NODE_EXTRA_CA_CERTS for a command that opens no TLS connection, through a symlink too', async () => {
    const { env } = withExtraCa('extra-ca.pem');
    const r = await launch(['-r', repo, 'snapshot', '-', '--allow-empty'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.env.has('NODE_EXTRA_CA_CERTS')).toBe(false);
    expect(r.env.get('MALLOC_ARENA_MAX')).toBe('2');
    expect((await launch(['--version', '-r', 's3:http://127.0.0.1:1/bucket'], env)).env.has('NODE_EXTRA_CA_CERTS')).toBe(false);
    const link = sb.file('bin-link/stowage');
    fs.mkdirSync(path.dirname(link));
    fs.symlinkSync(BIN, link);
    const viaLink = await launch(['-r', repo, 'snapshot', '-', '--allow-empty'], env, link);
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect(viaLink.env.has('NODE_EXTRA_CA_CERTS')).toBe(false);
    expect(viaLink.env.get('MALLOC_ARENA_MAX')).toBe('2');
  });

  it('keeps NODE_EXTRA_CA_CERTS when an argument or a repository variable may need TLS', async () => {
    const { ca, env: base } = withExtraCa('extra-ca2.pem');
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [['--version', 'docker://registry.example/app:v1'], base],
      [['--version', '-r', 's3:https://s3.example/bucket'], base],
      [['--version', '--repo=s3:s3.amazonaws.com/bucket'], base],
      [['--version'], { ...base, STOWAGE_REPOSITORY: 's3:bucket/prefix' }],
      [['--version'], { ...base, STOWAGE_FROM_REPOSITORY: 'https://example/x' }],
    ];
    for (const [args, env] of cases) expect((await launch(args, env)).env.get('NODE_EXTRA_CA_CERTS'), args.join(' ')).toBe(ca);
  });

  it("keeps the user's own malloc settings", async () => {
    const r = await launch(['-r', repo, 'snapshot', '-', '--allow-empty'], { ...sb.env, MALLOC_ARENA_MAX: '4', MALLOC_TRIM_THRESHOLD_: '131072' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.env.get('MALLOC_ARENA_MAX')).toBe('4');
    expect(r.env.get('MALLOC_TRIM_THRESHOLD_')).toBe('131072');
    expect(r.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('2097152');
  });
});
