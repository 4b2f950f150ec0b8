import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../testing/fixtures.js';
import { ReadArena } from './read-arena.js';
import { readAhead, readNow } from './read-file.js';

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('reading small files whole (tree snapshots)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-read-file-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('readNow and readAhead give the same bytes; a file changed after its lstat is noted; a missing one gives its error', async () => {
    const arena = new ReadArena();
    for (const size of [0, 100, 70_000, 300_000]) {
      const p = path.join(dir, `f${size}`);
      const data = seeded(`read-${size}`, size);
      fs.writeFileSync(p, data);
      const st = fs.lstatSync(p, { bigint: true });
      const now = readNow(Buffer.from(p), st, arena);
      const ahead = readAhead(Buffer.from(p), st);
      expect(ahead.result).toBeUndefined(); // nothing done before the event loop runs
      const later = await ahead.done;
      expect(ahead.result).toBe(later);
      for (const r of [now, later]) {
        expect(r.error).toBeUndefined();
        expect(r.changed).toBe(false);
        expect(Buffer.compare(r.data, data)).toBe(0);
      }
      // grown since the lstat: read as it is now, and noted
      fs.appendFileSync(p, 'more');
      for (const r of [readNow(Buffer.from(p), st, arena), await readAhead(Buffer.from(p), st).done]) {
        expect(r.changed).toBe(true);
        expect(r.error).toBeUndefined();
      }
    }
    const gone = fs.lstatSync(path.join(dir, 'f100'), { bigint: true });
    for (const r of [readNow(Buffer.from(path.join(dir, 'nope')), gone, arena), await readAhead(Buffer.from(path.join(dir, 'nope')), gone).done]) {
      expect((r.error as NodeJS.ErrnoException).code).toBe('ENOENT');
      expect(r.data.length).toBe(0);
    }
  });

  it('a cancelled read-ahead stops at its next step and closes its descriptor; one already done keeps its result', async () => {
    const p = path.join(dir, 'cancel');
    fs.writeFileSync(p, seeded('cancel', 200_000));
    const st = fs.lstatSync(p, { bigint: true });
    const before = openFds();
    const many = Array.from({ length: 20 }, () => readAhead(Buffer.from(p), st));
    for (const a of many) a.cancel();
    for (const a of many) {
      const r = await a.done;
      expect(r.error).toBeInstanceOf(Error);
      expect(r.data.length).toBe(0);
    }
    expect(openFds()).toBe(before);
    const done = readAhead(Buffer.from(p), st);
    const r = await done.done;
    done.cancel();
    expect(done.result).toBe(r);
    expect(r.data.length).toBe(200_000);
  });
});
