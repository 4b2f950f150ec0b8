/**
 * Bad input: one clear line on stderr, a stable code, the exit code from the design,
 * no stack trace unless --debug, and nothing stored is changed.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, type Sandbox } from './helpers/cli.js';
import { blake3Hex } from '../packages/core/src/hash/blake3.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack
  return lines[0]!;
}

describe('errors', () => {
  let sb: Sandbox;
  let snapA = '';
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    fs.writeFileSync(sb.file('small'), 'hello stowage\n');
    // two snapshots whose ids we will make collide on a short prefix below
    snapA = JSON.parse(sb.run(['snapshot', sb.file('small'), '--json']).stdout).id;
    sb.run(['snapshot', sb.file('small'), '--json', '--force']);
  });
  afterAll(() => sb.cleanup());

  it('missing repository: exit 10, NO_REPOSITORY', () => {
    const r = sb.run(['snapshots'], { env: { STOWAGE_REPOSITORY: sb.file('nope') } });
    expect(r.code).toBe(10);
    expect(oneLine(r.stderr)).toMatch(/^stowage: no repository at .*nope.*\[NO_REPOSITORY\]$/);
  });

  it('no repository given at all: exit 10', () => {
    const r = sb.run(['snapshots'], { env: { STOWAGE_REPOSITORY: '' } });
    expect(r.code).toBe(10);
    expect(oneLine(r.stderr)).toMatch(/-r <path>.*\[NO_REPOSITORY\]/);
  });

  it('init on a non-empty directory: exit 1, REPOSITORY_EXISTS, nothing touched', () => {
    fs.mkdirSync(sb.file('busy'));
    fs.writeFileSync(sb.file('busy/important.txt'), 'data');
    const r = sb.run(['-r', sb.file('busy'), 'init', '--insecure-no-encryption']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/not empty.*\[REPOSITORY_EXISTS\]/);
    expect(fs.readdirSync(sb.file('busy'))).toEqual(['important.txt']);
    const before = listFiles(sb.repo);
    const again = sb.run(['init', '--insecure-no-encryption']);
    expect(again.code).toBe(1);
    expect(oneLine(again.stderr)).toMatch(/repository already exists.*\[REPOSITORY_EXISTS\]/);
    expect(listFiles(sb.repo)).toEqual(before);
  });

  it('missing input: exit 1, INPUT_UNREADABLE, nothing written', () => {
    const before = listFiles(sb.repo);
    const r = sb.run(['snapshot', sb.file('does-not-exist.tar')]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/cannot read .*does-not-exist\.tar: no such file.*\[INPUT_UNREADABLE\]/);
    expect(listFiles(sb.repo)).toEqual(before);
  });

  it('unreadable input (a device, or no permission): INPUT_UNREADABLE', () => {
    // a directory is an input since tree snapshots (test/tree-input.test.ts); a device is not
    const d = sb.run(['snapshot', '/dev/null']);
    expect(d.code).toBe(1);
    expect(oneLine(d.stderr)).toMatch(/not a regular file.*\[INPUT_UNREADABLE\]/);
    if (process.getuid?.() !== 0) {
      fs.writeFileSync(sb.file('secret'), 'x');
      fs.chmodSync(sb.file('secret'), 0);
      const p = sb.run(['snapshot', sb.file('secret')]);
      expect(p.code).toBe(1);
      expect(oneLine(p.stderr)).toMatch(/permission denied.*\[INPUT_UNREADABLE\]/);
    }
  });

  it('unknown snapshot id: exit 1, NOT_FOUND', () => {
    const r = sb.run(['restore', 'ffffffff', sb.file('x')]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/no snapshot matches "ffffffff".*\[NOT_FOUND\]/);
    expect(fs.existsSync(sb.file('x'))).toBe(false);
  });

  it('invalid snapshot id: exit 1, INVALID_ARGUMENT', () => {
    const r = sb.run(['restore', 'not-an-id', sb.file('x')]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/invalid snapshot id.*\[INVALID_ARGUMENT\]/);
  });

  it('ambiguous snapshot id prefix: exit 1, AMBIGUOUS_ID', () => {
    // make a second snapshot file share the first 4 characters of snapA's id
    const dir = `${sb.repo}/snapshots`;
    const bytes = fs.readFileSync(`${dir}/${snapA}`);
    // find a variant of the snapshot JSON whose hash starts like snapA (about 65536 tries for 4 hex characters)
    const prefix = snapA.slice(0, 4);
    let name = '';
    for (let i = 0; i < 3_000_000 && !name; i++) {
      const v = Buffer.from(JSON.stringify({ ...JSON.parse(bytes.toString()), name: `twin-${i}` }));
      const h = blake3Hex(v);
      if (h.startsWith(prefix) && h !== snapA) {
        fs.writeFileSync(`${dir}/${h}`, v);
        name = h;
      }
    }
    expect(name).not.toBe('');
    const r = sb.run(['restore', prefix, sb.file('x')]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/prefix .* is ambiguous.*\[AMBIGUOUS_ID\]/);
  });

  it('restore onto an existing target: exit 1, TARGET_EXISTS', () => {
    fs.writeFileSync(sb.file('there'), 'keep');
    const r = sb.run(['restore', snapA, sb.file('there')]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/\[TARGET_EXISTS\]/);
    expect(fs.readFileSync(sb.file('there'), 'utf8')).toBe('keep');
  });

  it('--debug adds the stack trace', () => {
    const r = sb.run(['--debug', 'restore', 'ffffffff', sb.file('x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[NOT_FOUND\]\n.*StowageError/);
  });

  it('--json errors are one JSON object on stderr', () => {
    const r = sb.run(['--json', 'restore', 'ffffffff', sb.file('x')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/ffffffff/) } });
  });

  it('bad option values: INVALID_ARGUMENT, nothing created', () => {
    const r = sb.run(['-r', sb.file('newrepo'), 'init', '--insecure-no-encryption', '--chunk-avg', '100']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/\[INVALID_ARGUMENT\]/);
    expect(fs.existsSync(sb.file('newrepo'))).toBe(false);
  });
});
