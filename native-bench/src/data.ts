/**
 * data.ts — deterministic benchmark inputs: a mix of incompressible bytes and
 * text-like runs (roughly the compressibility of a container image layer).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';

/** Pseudo-random bytes (AES-256-CTR keystream of `seed`). */
export function randomBytesSeeded(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** `n` bytes alternating 64 KiB random blocks and 64 KiB of generated text. */
export function mixedData(seed: string, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  const rnd = randomBytesSeeded(seed, n);
  const words = [
    'lib',
    'usr',
    'share',
    'doc',
    'python3',
    'debian',
    'control',
    'copyright',
    'Package:',
    'Version:',
    '1.2.3-4',
    'amd64',
    '/etc/',
    'README',
    '#include',
    'return',
    'static',
    'int',
    'void',
    'const',
  ];
  for (let off = 0; off < n; off += 65536) {
    const end = Math.min(n, off + 65536);
    if ((off >> 16) % 2 === 0) {
      rnd.copy(out, off, off, end);
    } else {
      let p = off;
      while (p < end) {
        const word = words[rnd[p]! % words.length]!;
        p += out.write(word + (rnd[p + 1]! % 7 === 0 ? '\n' : ' '), p, end - p, 'latin1');
      }
    }
  }
  return out;
}

/** Writes `n` seeded random bytes to `file`. */
export async function writeRandom(file: string, seed: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  for (let off = 0, i = 0; off < n; off += 8 << 20, i++) {
    const piece = randomBytesSeeded(`${seed}-${i}`, Math.min(8 << 20, n - off));
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}
