/**
 * Issue 15 item 1: an empty or truncated input is not a successful backup.
 * - `false | stowage snapshot -` is refused (EMPTY_INPUT, exit 1, nothing stored, `latest` unchanged);
 *   `--allow-empty` stores one on purpose;
 * - a docker-archive cut short (a `docker save` that died) is recognised by its first members:
 *   stored byte for byte as a plain tar, with a warning and exit 3, and marked in `snapshots`;
 *   `--format docker` refuses it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, type Sandbox } from './helpers/cli.js';

describe('empty and truncated inputs', () => {
  let sb: Sandbox;
  let image: Buffer;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), sb.file('app-2026-11-28.tar'), '2']);
    expect(r.status, r.stderr.toString()).toBe(0);
    image = fs.readFileSync(sb.file('app-2026-11-28.tar'));
  });
  afterAll(() => sb.cleanup());

  const snapshotCount = () => fs.readdirSync(`${sb.repo}/snapshots`).length;

  it('refuses an empty stdin and an empty file: EMPTY_INPUT, exit 1, nothing stored', () => {
    const r = sb.run(['snapshot', '-'], { input: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is empty.*\[EMPTY_INPUT\]/);
    fs.writeFileSync(sb.file('empty.tar'), '');
    const f = sb.run(['--json', 'snapshot', sb.file('empty.tar')]);
    expect(f.code).toBe(1);
    expect(JSON.parse(f.stderr).error.code).toBe('EMPTY_INPUT');
    expect(snapshotCount()).toBe(0);
    expect(fs.readdirSync(`${sb.repo}/locks`)).toEqual([]);
  });

  it('--allow-empty stores an empty snapshot on purpose', () => {
    const r = sb.run(['snapshot', '-', '--allow-empty', '--name', 'nothing', '--json'], { input: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).size).toBe(0);
    expect(snapshotCount()).toBe(1);
  });

  it('a docker-archive cut short: warning, exit 3, stored byte for byte, marked in snapshots', () => {
    const cut = image.subarray(0, Math.floor(image.length / 2));
    const r = sb.run(['snapshot', '-', '--name', 'cut'], { input: cut });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/warning: the archive starts as a docker-archive but has no manifest.json/);
    const list = sb.run(['snapshots', '--name', 'cut']);
    expect(list.stdout).toMatch(/! incomplete docker-archive/);
    const json = JSON.parse(sb.run(['--json', 'snapshots', '--name', 'cut']).stdout) as { incomplete?: boolean; format: string }[];
    expect(json).toHaveLength(1);
    expect(json[0]!.incomplete).toBe(true);
    expect(json[0]!.format).toBe('tar');
    const back = sb.run(['restore', 'latest', '-', '--name', 'cut']);
    expect(back.code, back.stderr).toBe(0);
    expect(Buffer.compare(back.stdoutBytes, cut)).toBe(0);
  });

  it('--format docker refuses the cut archive and stores nothing', () => {
    const before = snapshotCount();
    const r = sb.run(['snapshot', '-', '--format', 'docker'], { input: image.subarray(0, Math.floor(image.length / 2)) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a complete docker-archive.*INVALID_ARGUMENT/);
    expect(snapshotCount()).toBe(before);
  });

  it('the whole archive is a complete image, named after its image (not the date-stamped file)', () => {
    const r = sb.run(['--json', 'snapshot', sb.file('app-2026-11-28.tar')]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('docker');
    expect(j.name).toBe('sample/app');
  });
});
