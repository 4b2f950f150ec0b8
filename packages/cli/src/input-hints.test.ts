/** The start-up hint of files snapshotted before: a digest per file and stat, the last RECENT_INPUTS kept, nothing in clear, never an error. */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECENT_INPUTS, inputStat, looksUnchanged, rememberInput } from './input-hints.js';

const dir = fs.mkdtempSync(path.join(tmpdir(), 'stowage-input-hints-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('input hints', () => {
  it('a file looks unchanged only with the very stat remembered; the hint holds no path', () => {
    const cache = path.join(dir, 'cache');
    const file = path.join(dir, 'input.tar');
    fs.writeFileSync(file, 'v1');
    const st = inputStat(fs.statSync(file, { bigint: true }));
    expect(looksUnchanged(cache, file, st)).toBe(false); // no hint yet
    rememberInput(cache, file, st);
    expect(looksUnchanged(cache, file, st)).toBe(true);
    expect(looksUnchanged(cache, path.join(dir, 'other.tar'), st)).toBe(false);
    expect(looksUnchanged(cache, file, { ...st, mtimeNs: (BigInt(st.mtimeNs) + 1n).toString() })).toBe(false);
    expect(looksUnchanged(cache, file, { ...st, size: st.size + 1 })).toBe(false);
    const text = fs.readFileSync(path.join(cache, 'recent-inputs.json'), 'utf8');
    expect(text).not.toContain('input.tar');
    expect(fs.statSync(path.join(cache, 'recent-inputs.json')).mode & 0o777).toBe(0o600);
  });

  it(`keeps the last ${RECENT_INPUTS} files`, () => {
    const cache = path.join(dir, 'many');
    const st = { dev: 1, ino: 2, size: 3, mtimeNs: '4', ctimeNs: '5' };
    for (let i = 0; i <= RECENT_INPUTS; i++) rememberInput(cache, `/f${i}`, st);
    expect(looksUnchanged(cache, '/f0', st)).toBe(false);
    expect(looksUnchanged(cache, '/f1', st)).toBe(true);
    expect(looksUnchanged(cache, `/f${RECENT_INPUTS}`, st)).toBe(true);
  });

  it('a damaged or unwritable hint is no hint, and no error', () => {
    const cache = path.join(dir, 'bad');
    fs.mkdirSync(cache);
    fs.writeFileSync(path.join(cache, 'recent-inputs.json'), '{not json');
    const st = { dev: 1, ino: 2, size: 3, mtimeNs: '4', ctimeNs: '5' };
    expect(looksUnchanged(cache, '/f', st)).toBe(false);
    const blocked = path.join(dir, 'a-file');
    fs.writeFileSync(blocked, '');
    expect(() => rememberInput(path.join(blocked, 'cache'), '/f', st)).not.toThrow(); // the cache root cannot be made
    expect(looksUnchanged(path.join(blocked, 'cache'), '/f', st)).toBe(false);
  });
});
