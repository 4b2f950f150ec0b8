/**
 * A minimal tar writer for image archives stowage composes (an OCI archive of blobs pulled
 * from a registry or read from a layout): regular files only, ustar headers (names up to
 * 100 bytes, which `blobs/sha256/<64 hex>` fits), mode 0644, owner 0, mtime 0, and the two
 * zero blocks at the end. The same entries give the same bytes.
 */
import { BLOCK, checksum } from '../split/tar-header.js';

export interface TarEntry {
  readonly name: string;
  readonly size: number;
  /** The entry's bytes, exactly `size` of them (checked). */
  readonly data: () => AsyncIterable<Uint8Array>;
}

export function tarHeaderFor(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar entry name too long: ${name}`);
  if (size >= 8 ** 11) throw new RangeError(`tar entry ${name}: ${size} bytes is past what a ustar header holds`);
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  const octal = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  b.write('0', 156, 1, 'ascii');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  b.fill(0x20, 148, 156);
  const sum = checksum(b);
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

/** The tar archive of `entries`, as a byte stream. */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Uint8Array> {
  for (const e of entries) {
    yield tarHeaderFor(e.name, e.size);
    let n = 0;
    for await (const chunk of e.data()) {
      n += chunk.length;
      if (n > e.size) throw new RangeError(`tar entry ${e.name}: more than its ${e.size} bytes`);
      yield chunk;
    }
    if (n !== e.size) throw new RangeError(`tar entry ${e.name}: ${n} bytes, not ${e.size}`);
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/**
 * Copies a byte stream into fresh buffers of `size` bytes (the last one shorter), each owning
 * its memory: a snapshot may hand its input pieces over to a worker thread (transfer), which
 * must not take memory other pieces (a repository read window, a pooled buffer) still use.
 */
export async function* ownedPieces(src: AsyncIterable<Uint8Array>, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  let cur = Buffer.allocUnsafeSlow(size);
  let fill = 0;
  for await (const chunk of src) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(size - fill, chunk.length - off);
      cur.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield cur;
        cur = Buffer.allocUnsafeSlow(size);
        fill = 0;
      }
    }
  }
  if (fill) yield cur.subarray(0, fill);
}
