/**
 * The O_DIRECT restore writer: whatever mix of windows it gets (page-aligned slots with the
 * previous tail's room in front, ordinary memory, several pieces, tiny and empty windows),
 * the file holds exactly the bytes in order; aligned windows go out with O_DIRECT in whole
 * blocks where the file system allows it; memory the kernel refuses (EINVAL) falls back to
 * the page cache with the same result.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alignedShared } from '../util/aligned-memory.js';
import { DIRECT_ALIGN, DirectWriter } from './direct-writer.js';

describe('DirectWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-direct-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `data` in windows of `sizes` (cycled) as the restore does, `plain(i)` windows from ordinary memory in two pieces. */
  async function writeWindows(file: string, data: Buffer, sizes: number[], plain: (i: number) => boolean, memory: (bytes: number) => ArrayBufferLike = alignedShared) {
    const fh = await open(file, 'wx');
    const w = await DirectWriter.open(file, fh);
    const directAtOpen = w.isDirect;
    const slot = new Uint8Array(memory(DIRECT_ALIGN + Math.max(...sizes)));
    let pos = 0;
    for (let i = 0; pos < data.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, data.length - pos);
      const bytes = data.subarray(pos, pos + n);
      if (plain(i)) {
        await w.write([Buffer.from(bytes.subarray(0, n >> 1)), Buffer.from(bytes.subarray(n >> 1))]);
      } else {
        const room = pos % DIRECT_ALIGN;
        slot.fill(0xaa); // stale bytes of an earlier window: the room must be written over, never written out
        slot.set(bytes, room);
        await w.write([Buffer.from(slot.buffer, slot.byteOffset + room, n)], room);
      }
      pos += n;
    }
    const directAfter = w.isDirect;
    await w.finish();
    expect(w.isDirect).toBe(false); // finish closed the O_DIRECT handle
    await fh.close();
    return { directAtOpen, directAfter, direct: w.directWritten };
  }

  it('writes the bytes in order from any mix of aligned windows, ordinary pieces, tiny and empty windows; whole blocks with O_DIRECT where allowed', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    const file = join(dir, 'out');
    const sizes = [1_000_003, 4096, 100, 0, 65_536, 3000, 2 * 1024 * 1024, 1];
    const r = await writeWindows(file, data, sizes, (i) => i % 5 === 3);
    expect((await readFile(file)).equals(data)).toBe(true);
    if (r.directAtOpen) {
      // this file system takes O_DIRECT (ext4, xfs, tmpfs since Linux 6.6): most bytes went out that way, in whole blocks
      expect(r.directAfter).toBe(true);
      expect(r.direct % DIRECT_ALIGN).toBe(0);
      expect(r.direct).toBeGreaterThan(data.length / 2);
    } else {
      expect(r.direct).toBe(0);
    }
  });

  it('only ordinary pieces: the page cache, block-aligned, same bytes', async () => {
    const data = randomBytes(200_001);
    const file = join(dir, 'plain');
    const r = await writeWindows(file, data, [7000, 4096, 13], () => true);
    expect((await readFile(file)).equals(data)).toBe(true);
    expect(r.direct).toBe(0);
  });

  it('memory the kernel refuses for O_DIRECT (a SharedArrayBuffer is not page-aligned): falls back to the page cache, same bytes', async () => {
    const data = randomBytes(300_000);
    const file = join(dir, 'fallback');
    // 64 MiB (untouched but for the first KiBs): above glibc's largest mmap threshold, so it is mapped
    // on its own, and its first byte is 16 bytes (malloc's header) past a page boundary
    const r = await writeWindows(
      file,
      data,
      [50_000, 8192],
      () => false,
      () => new SharedArrayBuffer(64 << 20),
    );
    expect((await readFile(file)).equals(data)).toBe(true);
    if (r.directAtOpen) expect(r.directAfter).toBe(false);
    expect(r.direct).toBe(0);
  });
});
