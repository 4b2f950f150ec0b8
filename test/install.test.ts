/**
 * Issue 15 item 8: installable. The binary works from PATH through a symlink (as README's
 * "Installing" says), `stowage version` / `--version` print the version, the repository format
 * version (and a given repository's) and the native modules' versions, and shell completion
 * scripts for bash, zsh and fish load and complete. zsh and fish checks skip without them,
 * but not under CI=true (.ci/run installs them).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, type Sandbox } from './helpers/cli.js';

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const ci = process.env.CI === 'true';
for (const t of ['zsh', 'fish']) if (!have(t) && !ci) console.warn(`install.test.ts: ${t} not installed: its completion check is skipped (apt-get install ${t})`);

describe('installing and identifying stowage', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    fs.mkdirSync(sb.file('bin'));
    fs.symlinkSync(BIN, sb.file('bin/stowage'));
  });
  afterAll(() => sb.cleanup());

  const onPath = (script: string, shell = 'bash') => spawnSync(shell, ['-c', script], { cwd: sb.dir, env: { ...sb.env, PATH: `${sb.file('bin')}:${process.env.PATH}` }, encoding: 'utf8' });

  it('a symlink on PATH runs the CLI from anywhere', () => {
    const r = onPath('cd / && stowage version');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stowage \d+\.\d+\.\d+$/m);
  });

  it('version and --version: CLI, repository format, node and native modules', () => {
    for (const args of [['version'], ['--version'], ['-V']]) {
      const r = sb.run(args, { env: { STOWAGE_REPOSITORY: '' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^stowage \d+\.\d+\.\d+\nrepository format 1 \(reads and writes\)\nnode v\d+/);
      expect(r.stdout).toMatch(/zstd-napi \d+\.\d+\.\d+ \(zstd \d+\.\d+\.\d+\)/);
      expect(r.stdout).toMatch(/@napi-rs\/blake-hash \d+\.\d+\.\d+/);
      expect(r.stdout).toMatch(/sodium-native \d+\.\d+\.\d+/);
      expect(r.stdout).toMatch(/classic-level \d+\.\d+\.\d+/);
    }
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    const j = JSON.parse(sb.run(['--json', 'version']).stdout);
    expect(j.repositoryFormat).toBe(1);
    expect(j.repository).toEqual({ location: sb.repo, format: 1 });
    expect(Object.keys(j.modules)).toEqual(expect.arrayContaining(['zstd-napi', '@napi-rs/blake-hash', 'sodium-native', 'level', 'classic-level']));
  });

  it('bash completion completes commands, subcommands and options', () => {
    const complete = (...words: string[]) => {
      const r = onPath(`source <(stowage completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _stowage; printf '%s\\n' "\${COMPREPLY[@]}"`);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split('\n');
    };
    expect(complete('stowage', 'sn')).toEqual(['snapshot', 'snapshots']);
    expect(complete('stowage', 'key', '').sort()).toEqual(['--help', '-h', 'add', 'list', 'passwd', 'remove']);
    expect(complete('stowage', 'snapshot', '--al')).toEqual(['--allow-empty']);
    expect(complete('stowage', '-r', '/x', 'restore', 'latest', 'out', '--mk')).toEqual(['--mkdir']);
    expect(complete('stowage', 'completion', '')).not.toContain('snapshot');
  });

  it.skipIf(!have('zsh') && !ci)('zsh completion parses (zsh -n) and defines the completer', () => {
    const r = onPath('f=$(mktemp -d)/_stowage; stowage completion zsh > $f && zsh -n $f && grep -c "^_stowage_" $f; rm -rf $(dirname $f)');
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(10);
  });

  it.skipIf(!have('fish') && !ci)('fish completion completes commands and options', () => {
    const r = onPath(`stowage completion fish | source; complete -C 'stowage sn'; complete -C 'stowage forget --keep-w'`, 'fish');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^snapshot\t/m);
    expect(r.stdout).toMatch(/^snapshots\t/m);
    expect(r.stdout).toMatch(/^--keep-within\t/m);
  });

  it('an unknown shell is refused', () => {
    const r = sb.run(['completion', 'tcsh']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no completion for shell "tcsh".*\[INVALID_ARGUMENT\]/);
  });
});
