/**
 * Inputs that change while read (issue 14, item 6): a file appended to, truncated or
 * rewritten in place during `stowage snapshot` is stored with a warning naming the file and
 * exit 3, and `snapshots` marks the snapshot ("~", and changedWhileRead in --json).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

/** Runs `snapshot file` and, as soon as it has started reading, applies `change` to the file. */
function snapshotWhileChanging(sb: Sandbox, file: string, change: () => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'snapshot', file, '--json'], { env: sb.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // wait until the lock file exists (the snapshot has started), then change the file
    const t = setInterval(() => {
      if (fs.readdirSync(`${sb.repo}/locks`).length > 0) {
        clearInterval(t);
        change();
      }
    }, 2);
    p.on('close', (code) => {
      clearInterval(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a file that changes while it is read', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const cases: [string, (f: string) => void][] = [
    ['appended to', (f) => fs.appendFileSync(f, seededBytes('more', 1 << 20))],
    ['truncated', (f) => fs.truncateSync(f, 1 << 20)],
    [
      'rewritten in place',
      (f) => {
        const fd = fs.openSync(f, 'r+');
        fs.writeSync(fd, seededBytes('other', 1 << 20), 0, 1 << 20, 0);
        fs.closeSync(fd);
      },
    ],
  ];

  it.each(cases)('%s: a warning naming the file, exit 3, and snapshots marks it', async (what, change) => {
    const file = sb.file(`input-${what.replace(/ /g, '-')}`);
    fs.writeFileSync(file, seededBytes(`changed-${what}`, 64 << 20));
    const r = await snapshotWhileChanging(sb, file, () => change(file));
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!).warning.message).toContain(`${file}: file changed while it was read (`);
    const id = JSON.parse(r.stdout).id as string;
    const list = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { id: string; changedWhileRead?: string }[];
    expect(list.find((s) => s.id === id)!.changedWhileRead).toBeTruthy();
    expect(sb.run(['snapshots']).stdout).toMatch(/"~" marks a snapshot of a file that changed while it was read/);
  });

  it('an unchanged file: exit 0, not marked', () => {
    const file = sb.file('still');
    fs.writeFileSync(file, seededBytes('still', 1 << 20));
    const r = sb.run(['snapshot', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/changed while/);
  });
});
