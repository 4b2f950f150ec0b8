/**
 * Options that change how an input is read defeat the unchanged-input shortcut (issue 14,
 * item 7): an archive whose manifest names a missing layer is stored as a tar by the first
 * snapshot; `--format docker` on the unchanged file must still check the format and refuse,
 * not reuse the tar; `--format tar` (what the parent was) reuses it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from './helpers/cli.js';

describe('the unchanged-input shortcut and --format', () => {
  let sb: Sandbox;
  let tar: string;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    const dir = sb.file('img');
    fs.mkdirSync(dir);
    fs.writeFileSync(`${dir}/config.json`, '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    fs.writeFileSync(`${dir}/manifest.json`, JSON.stringify([{ Config: 'config.json', RepoTags: ['x:1'], Layers: ['missing/layer.tar'] }]));
    tar = sb.file('missing.tar');
    expect(spawnSync('tar', ['-cf', tar, '-C', dir, 'config.json', 'manifest.json']).status).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const count = () => (JSON.parse(sb.run(['snapshots', '--json']).stdout) as unknown[]).length;

  it('--format docker on an unchanged input stored as a tar is checked and refused; --format tar reuses it', () => {
    const first = sb.run(['snapshot', tar, '--json']);
    expect([0, 3]).toContain(first.code);
    expect(JSON.parse(first.stdout).format).toBe('tar');
    expect(count()).toBe(1);
    const docker = sb.run(['snapshot', tar, '--format', 'docker']);
    expect(docker.code, docker.stderr).toBe(1);
    expect(docker.stderr).toMatch(/nothing was stored under a snapshot.*\[INVALID_ARGUMENT\]/);
    expect(count()).toBe(1);
    const same = sb.run(['snapshot', tar, '--format', 'tar']);
    expect([0, 3]).toContain(same.code);
    expect(same.stdout).toMatch(/unchanged since snapshot/);
    expect(count()).toBe(2);
  });
});
