/**
 * Issue 15 item 2: a closed stdout (`stowage snapshots | head -2`, `restore latest - | head -c 100`)
 * stops the command quietly: no Node stack trace, exit 141 (128 + SIGPIPE, as restic and the
 * shell report it), and no lock file left for `check` to report.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

/** Runs the CLI; its stdout is closed by the reader after `keep` bytes (0: before anything arrives). */
function runClosingStdout(sb: Sandbox, args: string[], keep: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; got: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: sb.env });
    let got = 0;
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (keep === 0) p.stdout.destroy();
    else
      p.stdout.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= keep) p.stdout.destroy(); // as `head -c` does: read some, then close the pipe
      });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stderr, got }));
  });
}

describe('closed pipes', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    fs.writeFileSync(sb.file('big.bin'), seededBytes('pipe', 24 * 1024 * 1024));
    expect(sb.run(['snapshot', sb.file('big.bin'), '-q']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const noLocks = () => expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);

  it('snapshots with a closed stdout: exit 141, no stack trace, no lock left', async () => {
    const r = await runClosingStdout(sb, ['snapshots'], 0);
    expect(r.stderr).not.toMatch(/Unhandled|EPIPE|at /);
    expect(r.code).toBe(141);
    noLocks();
  });

  it('restore latest - | head -c 100: exit 141, the shared lock released, check clean', async () => {
    const r = await runClosingStdout(sb, ['restore', 'latest', '-'], 100);
    expect(r.got).toBeGreaterThanOrEqual(100);
    expect(r.stderr).not.toMatch(/Unhandled|this is a bug|at /);
    expect(r.code).toBe(141);
    noLocks();
    const c = sb.run(['check']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).not.toMatch(/lock/);
  });

  it('dump of a large file with a closed stdout: exit 141, no hang, no lock left', async () => {
    fs.mkdirSync(sb.file('tree'));
    fs.copyFileSync(sb.file('big.bin'), sb.file('tree/big.bin'));
    expect(sb.run(['snapshot', sb.file('tree'), '-q']).code).toBe(0);
    const r = await runClosingStdout(sb, ['dump', 'latest', 'big.bin'], 100);
    expect(r.stderr).not.toMatch(/Unhandled|this is a bug|at /);
    expect(r.code).toBe(141);
    noLocks();
  });

  it('ls, find and diff of trees with a closed stdout: exit 141 and the lock released (not exit 0 with a lock left)', async () => {
    for (const args of [
      ['ls', 'latest'],
      ['find', 'big*'],
      ['diff', 'latest', 'latest'],
    ]) {
      const r = await runClosingStdout(sb, args, 0);
      expect(r.stderr, args.join(' ')).not.toMatch(/Unhandled|this is a bug|at /);
      expect(r.code, args.join(' ')).toBe(141);
      noLocks();
    }
  });

  it('--json snapshots with a closed stdout: exit 141, nothing on stderr', async () => {
    const r = await runClosingStdout(sb, ['--json', 'snapshots'], 0);
    expect(r.code).toBe(141);
    expect(r.stderr).toBe('');
    noLocks();
  });
});
