/**
 * Writing a restore's output to its file in order, whole 4 KiB blocks with O_DIRECT.
 *
 * Written through the page cache, the kernel copies every byte once more and allocates a
 * page for it: restoring docker.tar v5 (396 MB) spent 0.4-1.4 s of system CPU doing so on
 * this 2-core VM, as much as the zstd decompression, on the same cores as the decoding. An
 * O_DIRECT write hands the pages of the caller's memory to the disk instead (the restore
 * took 0.25-0.36 s of system CPU; native-bench/README.md, "Restore: session of 2026-11-29
 * night"). restic, kopia, casync and borg write through the page cache (restic#2595 asked
 * for direct I/O and was closed without it).
 *
 * O_DIRECT takes only whole blocks from aligned memory at aligned file offsets. The object
 * reader places each window in a page-aligned output slot at its file position's offset
 * within its block (ObjectReadOptions.align), leaving that many bytes in front of it
 * (ReadWindow.room): this writer copies the previous window's unaligned tail (under 4 KiB)
 * there and writes from the block boundary up to the last whole block; the rest becomes the
 * next tail, and the last tail is written through the page cache at the end. Every byte is
 * written once. Anything else (pieces in ordinary memory, several pieces, a file system or
 * file that refuses O_DIRECT with EINVAL, such as tmpfs) goes through the ordinary file
 * handle, block-aligned in the same way, so the two kinds of write never share a block.
 * Nothing is fsynced, as before: like the page-cache path, the bytes are the kernel's once
 * written (O_DIRECT writes do not flush the disk's own cache either).
 */
import { constants, type PathLike } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Block size of the direct writes: file offsets, lengths and memory addresses are multiples of it. */
export const DIRECT_ALIGN = 4096;

export class DirectWriter {
  /** The stream's last bytes after the last block boundary (fewer than DIRECT_ALIGN), not yet written. */
  private readonly tail = Buffer.alloc(DIRECT_ALIGN);
  private tailLength = 0;
  /** File offset of the tail (a multiple of DIRECT_ALIGN): everything before it is written. */
  private base = 0;
  private directBytes = 0;

  private constructor(
    private readonly fh: FileHandle,
    private direct: FileHandle | undefined,
  ) {}

  /**
   * A writer onto `fh` (the file at `path`, open for writing), with a second, O_DIRECT
   * handle on the same file when the file system allows one (else everything goes
   * through `fh`). Close it with finish() or close().
   */
  static async open(path: PathLike, fh: FileHandle): Promise<DirectWriter> {
    let direct: FileHandle | undefined;
    try {
      direct = await open(path, constants.O_WRONLY | constants.O_DIRECT);
    } catch {
      direct = undefined; // EINVAL (tmpfs and others), or no O_DIRECT on this platform: the page cache then
    }
    return new DirectWriter(fh, direct);
  }

  /** Bytes written with O_DIRECT so far (diagnostics, tests). */
  get directWritten(): number {
    return this.directBytes;
  }

  /** True while writes may still go out with O_DIRECT. */
  get isDirect(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Appends `pieces`. `room`: set only when `pieces` is one piece in page-aligned memory
   * (an aligned output slot) with `room` bytes in front of it that may be overwritten
   * (ReadWindow.room); then whole blocks are written from there with O_DIRECT.
   */
  async write(pieces: readonly Uint8Array[], room?: number): Promise<void> {
    let length = 0;
    for (const p of pieces) length += p.length;
    if (length === 0) return;
    const total = this.tailLength + length;
    const whole = total - (total % DIRECT_ALIGN);
    if (whole === 0) {
      for (const p of pieces) {
        this.tail.set(p, this.tailLength);
        this.tailLength += p.length;
      }
      return;
    }
    const p = pieces[0]!;
    const start = p.byteOffset - this.tailLength;
    if (this.direct && pieces.length === 1 && room !== undefined && room >= this.tailLength && start % DIRECT_ALIGN === 0) {
      const blocks = new Uint8Array(p.buffer, start, total);
      blocks.set(this.tail.subarray(0, this.tailLength));
      await this.writeDirect(blocks.subarray(0, whole));
    } else {
      await writeAll(this.fh, cut([this.tail.subarray(0, this.tailLength), ...pieces], whole), this.base);
    }
    this.base += whole;
    this.keepTail(pieces, total - whole);
  }

  /** Writes the last tail (through the page cache) and closes the O_DIRECT handle; `fh` stays open (the caller's). */
  async finish(): Promise<void> {
    if (this.tailLength > 0) await writeAll(this.fh, [this.tail.subarray(0, this.tailLength)], this.base);
    this.base += this.tailLength;
    this.tailLength = 0;
    await this.close();
  }

  /** Closes the O_DIRECT handle (idempotent; finish() does it). */
  async close(): Promise<void> {
    const d = this.direct;
    this.direct = undefined;
    await d?.close();
  }

  /** Writes whole blocks with O_DIRECT; refused (EINVAL: memory, offset or file system) or cut short, the rest goes through `fh`. */
  private async writeDirect(blocks: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < blocks.length) {
        const { bytesWritten } = await this.direct!.write(blocks, done, blocks.length - done, this.base + done);
        if (bytesWritten === 0 || bytesWritten % DIRECT_ALIGN !== 0) {
          done += bytesWritten;
          break;
        }
        done += bytesWritten;
        this.directBytes += bytesWritten;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      await this.close(); // this file or memory cannot be written directly: the page cache from here on
    }
    if (done < blocks.length) await writeAll(this.fh, [blocks.subarray(done)], this.base + done);
  }

  /** The last `n` bytes of `pieces` become the tail (n < DIRECT_ALIGN and at most their length). */
  private keepTail(pieces: readonly Uint8Array[], n: number): void {
    this.tailLength = n;
    let need = n;
    for (let i = pieces.length - 1; i >= 0 && need > 0; i--) {
      const q = pieces[i]!;
      const take = Math.min(need, q.length);
      this.tail.set(q.subarray(q.length - take), need - take);
      need -= take;
    }
  }
}

/** The first `n` bytes of `parts`. */
function cut(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const q of parts) {
    if (n <= 0) break;
    if (q.length === 0) continue;
    out.push(q.length <= n ? q : q.subarray(0, n));
    n -= q.length;
  }
  return out;
}

/** Writes `parts` at file offset `pos`, finishing short writes. */
async function writeAll(fh: FileHandle, parts: readonly Uint8Array[], pos: number): Promise<void> {
  let want = 0;
  for (const q of parts) want += q.length;
  const { bytesWritten } = await fh.writev(parts as NodeJS.ArrayBufferView[], pos);
  if (bytesWritten === want) return;
  let skip = bytesWritten;
  let at = pos + bytesWritten;
  for (const q of parts) {
    if (skip >= q.length) {
      skip -= q.length;
      continue;
    }
    let off = skip;
    skip = 0;
    while (off < q.length) {
      const r = await fh.write(q, off, q.length - off, at);
      if (r.bytesWritten === 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
      off += r.bytesWritten;
      at += r.bytesWritten;
    }
  }
}
