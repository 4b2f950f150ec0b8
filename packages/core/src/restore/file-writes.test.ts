/**
 * The tree restore's file writes, batch by batch as the writer thread makes them: files
 * created with their content in order, across batches (a file larger than a window), at a
 * sparse file's data regions (holes stay holes), mode and owner set only where the batch asks,
 * the first failure answered with the system error and the segments before it done, and the
 * files still open closed by abandon(); directories and symlinks made in order with the files.
 * The same batches through the worker thread (TreeWriter).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerError, CHMOD, CHOWN, DIR, encodeBatch, FileWrites, FIRST, LAST, MTIME, SYMLINK, wholeSeconds, type SegmentSpec } from './file-writes.js';
import { TreeWriter } from './tree-writer.js';

describe('FileWrites', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-file-writes-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const first = (job: number, path: string, size: number, bytes: number, more: Partial<SegmentSpec> = {}): SegmentSpec => ({
    job,
    flags: FIRST | (bytes === size ? LAST : 0),
    bytes,
    path: Buffer.from(path),
    openMode: 0o600,
    mode: 0o600,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    size,
    ...more,
  });

  it('writes files in order, a large one across batches, and a sparse one at its regions', async () => {
    const a = randomBytes(1000);
    const big = randomBytes(300_000);
    const regions: [number, number][] = [
      [0, 4096],
      [1 << 20, 5000],
    ];
    const sparse = randomBytes(4096 + 5000);
    const w = new FileWrites();
    const bigFirst = first(1, join(dir, 'big'), big.length, 100_000, { mode: 0o751, mtime: 1_600_000_000 });
    const b1 = [first(0, join(dir, 'a'), 1000, 1000), { ...bigFirst, flags: FIRST | CHMOD | MTIME }, first(2, join(dir, 'empty'), 0, 0)];
    expect(w.apply(encodeBatch(b1), Buffer.concat([a, big.subarray(0, 100_000)]))).toEqual({ done: 3, warnings: [] });
    const b2: SegmentSpec[] = [{ job: 1, flags: LAST, bytes: 200_000 }, first(3, join(dir, 'sparse'), (1 << 20) + 8192, sparse.length, { flags: FIRST | LAST, regions })];
    expect(w.apply(encodeBatch(b2), Buffer.concat([big.subarray(100_000), sparse]))).toEqual({ done: 2, warnings: [] });
    expect(await readFile(join(dir, 'a'))).toEqual(a);
    expect(await readFile(join(dir, 'big'))).toEqual(big);
    // what the first segment asked for is done at the last one
    const st = await lstat(join(dir, 'big'), { bigint: true });
    expect(Number(st.mode) & 0o7777).toBe(0o751);
    expect(st.mtimeNs).toBe(1_600_000_000_000_000_000n);
    expect((await lstat(join(dir, 'empty'))).size).toBe(0);
    const s = await readFile(join(dir, 'sparse'));
    expect(s.length).toBe((1 << 20) + 8192);
    expect(s.subarray(0, 4096)).toEqual(sparse.subarray(0, 4096));
    expect(s.subarray(1 << 20, (1 << 20) + 5000)).toEqual(sparse.subarray(4096));
    expect(s.subarray(4096, 1 << 20).every((b) => b === 0)).toBe(true);
    expect((await lstat(join(dir, 'sparse'))).blocks * 512).toBeLessThan(1 << 19); // the hole is not stored
  });

  it('sets the mode only with CHMOD (the open mode minus the umask otherwise), the owner only with CHOWN', async () => {
    const w = new FileWrites();
    const segs = [first(0, join(dir, 'kept'), 1, 1, { openMode: 0o640, mode: 0o4755 }), first(1, join(dir, 'set'), 1, 1, { openMode: 0o600, mode: 0o4755, flags: FIRST | LAST | CHMOD | CHOWN })];
    expect(w.apply(encodeBatch(segs), Buffer.from('xy'))).toEqual({ done: 2, warnings: [] });
    const umask = process.umask();
    expect((await lstat(join(dir, 'kept'))).mode & 0o7777).toBe(0o640 & ~umask);
    expect((await lstat(join(dir, 'set'))).mode & 0o7777).toBe(0o4755);
  });

  it('sets a whole-second mtime with MTIME (exact), none without', async () => {
    const w = new FileWrites();
    const before = (await lstat(dir)).mtimeMs;
    const segs = [first(0, join(dir, 'timed'), 1, 1, { flags: FIRST | LAST | MTIME, mtime: 1_580_608_922 }), first(1, join(dir, 'untimed'), 1, 1)];
    expect(w.apply(encodeBatch(segs), Buffer.from('xy'))).toEqual({ done: 2, warnings: [] });
    expect((await lstat(join(dir, 'timed'), { bigint: true })).mtimeNs).toBe(1_580_608_922_000_000_000n);
    expect((await lstat(join(dir, 'untimed'))).mtimeMs).toBeGreaterThanOrEqual(before);
  });

  it('makes directories (DIR, an existing one answered in existed) and symlinks (SYMLINK: target kept, whole-second mtime, owner) in order with the files', async () => {
    const w = new FileWrites();
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    await mkdir(join(dir, 'there'));
    const segs: SegmentSpec[] = [
      { job: 0, flags: FIRST | LAST | DIR, bytes: 0, path: Buffer.from(join(dir, 'd')), openMode: 0o750, mode: 0, uid: 0, gid: 0, size: 0 },
      { job: 1, flags: FIRST | LAST | DIR, bytes: 0, path: Buffer.from(join(dir, 'there')), openMode: 0o700, mode: 0, uid: 0, gid: 0, size: 0 },
      first(2, join(dir, 'd/f'), 3, 3),
      {
        job: 3,
        flags: FIRST | LAST | SYMLINK | MTIME | CHOWN,
        bytes: 0,
        path: Buffer.from(join(dir, 'd/l')),
        target: Buffer.from('f\xff', 'latin1'),
        openMode: 0,
        mode: 0,
        ...me,
        size: 0,
        mtime: 1_580_608_922,
      },
    ];
    expect(w.apply(encodeBatch(segs), Buffer.from('abc'))).toEqual({ done: 4, warnings: [], existed: [1] });
    expect((await lstat(join(dir, 'd'))).mode & 0o7777).toBe(0o750 & ~process.umask());
    expect(await readFile(join(dir, 'd/f'), 'utf8')).toBe('abc');
    expect(readlinkSync(Buffer.from(join(dir, 'd/l')), { encoding: 'buffer' })).toEqual(Buffer.from('f\xff', 'latin1'));
    const st = await lstat(join(dir, 'd/l'), { bigint: true });
    expect([st.mtimeNs, Number(st.uid), Number(st.gid)]).toEqual([1_580_608_922_000_000_000n, me.uid, me.gid]);
    // a directory that cannot be made fails the batch there, with its system error
    const a = w.apply(encodeBatch([{ job: 4, flags: FIRST | LAST | DIR, bytes: 0, path: Buffer.from(join(dir, 'no/such')), openMode: 0o700, mode: 0, uid: 0, gid: 0, size: 0 }]), Buffer.alloc(0));
    expect(a).toMatchObject({ done: 0, error: { seg: 0, code: 'ENOENT', syscall: 'mkdir' } });
  });

  it('wholeSeconds: an mtime of whole seconds from 0 to 2^53, else undefined', () => {
    expect(wholeSeconds('0')).toBe(0);
    expect(wholeSeconds('1580608922000000000')).toBe(1580608922);
    expect(wholeSeconds('1580608922000000001')).toBeUndefined();
    expect(wholeSeconds('1580608922500000000')).toBeUndefined();
    expect(wholeSeconds('-1000000000')).toBeUndefined();
    expect(wholeSeconds('999999999')).toBeUndefined();
    expect(wholeSeconds('90071992547409920000000000')).toBeUndefined();
  });

  it('answers the first failure with its system error, after the segments before it; abandon closes what is open', async () => {
    await writeFile(join(dir, 'exists'), 'x');
    const w = new FileWrites();
    const open = first(0, join(dir, 'open'), 10, 5);
    expect(w.apply(encodeBatch([open]), Buffer.from('12345'))).toEqual({ done: 1, warnings: [] });
    expect(openOn(join(dir, 'open'))).toBe(1);
    const a = w.apply(encodeBatch([first(1, join(dir, 'ok'), 1, 1), first(2, join(dir, 'exists'), 1, 1), first(3, join(dir, 'never'), 1, 1)]), Buffer.from('abc'));
    expect(a.done).toBe(1);
    expect(a.error).toMatchObject({ seg: 1, code: 'EEXIST', syscall: 'open' });
    expect((answerError(a.error!) as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(await readFile(join(dir, 'ok'), 'utf8')).toBe('a');
    await expect(lstat(join(dir, 'never'))).rejects.toThrow(/ENOENT/);
    expect(openOn(join(dir, 'exists'))).toBe(0); // the failed one was closed
    w.abandon();
    expect(openOn(join(dir, 'open'))).toBe(0);
  });

  it('runs the same batches on its worker thread', async () => {
    const tw = TreeWriter.start();
    try {
      expect(tw.threaded).toBe(true);
      const data = new Uint8Array(new SharedArrayBuffer(6));
      data.set(Buffer.from('hello!'));
      const a = await tw.write(encodeBatch([first(0, join(dir, 'h'), 6, 6), first(1, join(dir, 'h'), 1, 0)]), data);
      expect(a).toMatchObject({ done: 1, error: { seg: 1, code: 'EEXIST' } });
      expect(await readFile(join(dir, 'h'), 'utf8')).toBe('hello!');
      await tw.abandon();
    } finally {
      await tw.close();
    }
  });
});

/** Descriptors of this process open on `path` (Linux: /proc/self/fd). */
function openOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
