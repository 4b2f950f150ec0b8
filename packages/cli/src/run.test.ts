/**
 * runToExit: the process's exit code is the command's result, and a command that never
 * settles (the event loop empties while it still waits) ends with exit 1 and a message,
 * never exit 0. Runs the compiled module in a child process, as bin/stowage.js does.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../dist/run.js', import.meta.url));

function child(command: string, json = false): { status: number | null; stderr: string } {
  const script = `import { runToExit } from ${JSON.stringify(RUN)};\nrunToExit(() => ${command}, { json: ${json} });\n`;
  // internal errors on purpose: kept out of the suite's log of them (test/helpers/global-setup.ts)
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, STOWAGE_INTERNAL_ERROR_LOG: '' } });
  return { status: r.status, stderr: r.stderr };
}

describe('runToExit', () => {
  it('exits with the code the command resolves to', () => {
    expect(child('Promise.resolve(0)')).toEqual({ status: 0, stderr: '' });
    expect(child('Promise.resolve(3)')).toEqual({ status: 3, stderr: '' });
  });

  it('work still in flight after the command settled runs to its end before the process exits (and its exit listeners run)', () => {
    const r = child(
      'Promise.resolve(4).then((c) => { setTimeout(() => { process.stderr.write("late work done\\n"); setImmediate(() => process.stderr.write("and after it\\n")); }, 30); process.on("exit", (code) => process.stderr.write(`exit ${code}\\n`)); return c; })',
    );
    expect(r).toEqual({ status: 4, stderr: 'late work done\nand after it\nexit 4\n' });
  });

  it('a command that never settles is exit 1 with a message, not exit 0', () => {
    const r = child('new Promise(() => {})');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stowage: the command stopped before it finished .* \[INTERNAL\]\nstowage: this is a bug/);
  });

  it('a command left waiting on something that does not keep the process alive is exit 1', () => {
    // an unref'd timer is all the command waits for: the loop empties first
    const r = child('new Promise((resolve) => setTimeout(() => resolve(0), 60_000).unref())');
    expect(r.status).toBe(1);
  });

  it('with --json the message is a JSON error object', () => {
    const r = child('new Promise(() => {})', true);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'INTERNAL' } });
  });

  it('a rejection is exit 1 with the error', () => {
    const r = child('Promise.reject(new Error("boom"))');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom');
  });
});

describe('the internal-error log (STOWAGE_INTERNAL_ERROR_LOG)', () => {
  it('records each internal error as a JSON line, and nothing without the variable', async () => {
    const { mkdtempSync, readFileSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'stowage-run-'));
    try {
      const log = join(dir, 'internal.jsonl');
      const script = `import { runToExit } from ${JSON.stringify(RUN)};\nrunToExit(() => Promise.reject(new Error("boom")));\n`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, STOWAGE_INTERNAL_ERROR_LOG: log } });
      expect(r.status).toBe(1);
      const records = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records).toHaveLength(1);
      expect(records[0].message).toMatch(/unexpected failure: Error: boom/);
      expect(records[0].stack).toMatch(/boom/);
      rmSync(log);
      spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, STOWAGE_INTERNAL_ERROR_LOG: '' } });
      expect(existsSync(log)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
