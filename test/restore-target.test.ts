/**
 * Issue 15 item 3: restore targets are checked before any work. A folder, a device, a missing
 * or non-folder parent are refused at once with a clear message and a stable code, before the
 * repository is read; --mkdir creates a missing folder (and says so); nothing is left behind.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('restore targets checked before any work', () => {
  let sb: Sandbox;
  let data: Buffer;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    data = seededBytes('target', 2_000_000);
    expect(sb.run(['snapshot', '-', '--name', 'x', '-q'], { input: data }).code).toBe(0);
    fs.mkdirSync(sb.file('out'));
  });
  afterAll(() => sb.cleanup());

  /** Restores with the data packs unreadable: a check that comes first never notices. */
  const restoreBeforeReading = (args: string[]) => {
    const packs = `${sb.repo}/data`;
    fs.renameSync(packs, `${packs}.away`);
    try {
      return sb.run(['restore', 'latest', ...args]);
    } finally {
      fs.renameSync(`${packs}.away`, packs);
    }
  };

  it('--overwrite onto an existing folder: TARGET_UNWRITABLE at once, the folder untouched', () => {
    fs.writeFileSync(sb.file('out/keep.txt'), 'keep');
    const r = restoreBeforeReading([sb.file('out'), '--overwrite']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/restore target .*\/out is a folder: give a file path to create.*\[TARGET_UNWRITABLE\]/);
    expect(r.stderr).not.toMatch(/this is a bug|EISDIR/);
    expect(fs.readdirSync(sb.file('out'))).toEqual(['keep.txt']);
  });

  it('a target in a missing folder names the folder (not a temp file) and suggests --mkdir', () => {
    const r = restoreBeforeReading([sb.file('missing/deeper/x.bin')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/folder .*\/missing\/deeper does not exist \(create it, or use --mkdir\) \[TARGET_UNWRITABLE\]/);
    expect(r.stderr).not.toMatch(/\.stowage-[0-9a-f]{12}/); // the temp file's name
    expect(fs.existsSync(sb.file('missing'))).toBe(false);
  });

  it('a parent that is a file, and a device target, are refused', () => {
    fs.writeFileSync(sb.file('plain'), 'x');
    const p = restoreBeforeReading([sb.file('plain/x.bin')]);
    expect(p.stderr).toMatch(/\[TARGET_UNWRITABLE\]/);
    const d = restoreBeforeReading(['/dev/null', '--overwrite']);
    expect(d.stderr).toMatch(/restore target \/dev\/null is a device.*\[TARGET_UNWRITABLE\]/);
  });

  it('an existing file without --overwrite: TARGET_EXISTS before reading', () => {
    fs.writeFileSync(sb.file('exists.bin'), 'old');
    const r = restoreBeforeReading([sb.file('exists.bin')]);
    expect(r.stderr).toMatch(/exists \(use --overwrite to replace it\) \[TARGET_EXISTS\]/);
    expect(fs.readFileSync(sb.file('exists.bin'), 'utf8')).toBe('old');
  });

  it('--mkdir creates the missing folders, says which, and restores', () => {
    const r = sb.run(['restore', 'latest', sb.file('made/here/x.bin'), '--mkdir']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/created folder .*\/made \(--mkdir\)/);
    expect(Buffer.compare(fs.readFileSync(sb.file('made/here/x.bin')), data)).toBe(0);
    expect(fs.readdirSync(sb.file('made/here'))).toEqual(['x.bin']);
  });
});
