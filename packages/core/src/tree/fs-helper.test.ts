/**
 * The perl helper's queued mtimes (one per restored entry, no promise each): exact
 * nanoseconds for any time (before 2001 and before 1970 included), symlinks not followed,
 * errors reported per request, idle() once all are answered.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsHelper } from './fs-helper.js';

describe('FsHelper.setMtimeQueued', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-fshelper-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sets exact nanoseconds, not following symlinks; a failure goes to its callback; idle() waits for all', async () => {
    const times = ['1764412345123456789', '999999999000000001', '123', '0', '-1', '-1500000000'];
    const files = times.map((_, i) => path.join(dir, `f${i}`));
    for (const f of files) fs.writeFileSync(f, 'x');
    fs.symlinkSync('f0', path.join(dir, 'link'));
    const helper = FsHelper.start();
    const errors: string[] = [];
    try {
      times.forEach((t, i) => helper.setMtimeQueued(Buffer.from(files[i]!), t, (e) => errors.push(e.message)));
      helper.setMtimeQueued(Buffer.from(path.join(dir, 'link')), '1000000000000000007', (e) => errors.push(e.message));
      helper.setMtimeQueued(Buffer.from(path.join(dir, 'missing')), '5', (e) => errors.push(`missing: ${e.message}`));
      await helper.idle();
    } finally {
      await helper.close();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^missing: /);
    times.forEach((t, i) => expect(fs.lstatSync(files[i]!, { bigint: true }).mtimeNs).toBe(BigInt(t))); // f0 too: the link's time went to the link
    expect(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).mtimeNs).toBe(1000000000000000007n);
  });
});
