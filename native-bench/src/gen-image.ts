/**
 * gen-image.ts — a deterministic image-like docker-archive of any size (issue 13 item 5).
 *
 * The file contents come from a real root file system (a pool: the regular files of a
 * rootfs tar, e.g. the corpus's v1.rootfs.tar), so sizes and compressibility are an
 * image's; each use of a pool file is made unique by overwriting 8 bytes every 4 KiB with
 * its own tag (so no chunk of it matches another use), except that a share `repeat` of the
 * files (all in layers after the first) are exact copies of files of earlier layers (same
 * bytes, another path): the cross-layer duplication of real images. Layers are
 * uncompressed tars in the `docker save` layout (`<id>/layer.tar`, config `<sha256>.json`
 * with rootfs.diff_ids, manifest.json last), so `stowage snapshot` reads it as an image.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { tarHeaderFor as header } from '@stowage/core/internal';
import { randomBytesSeeded } from './data.js';

const BLOCK = 512;

/** The regular files of an uncompressed tar (ustar/GNU/pax headers; long names are not needed). */
export function readPool(tarPath: string): Buffer[] {
  const fd = openSync(tarPath, 'r');
  const out: Buffer[] = [];
  try {
    const head = Buffer.alloc(BLOCK);
    let pos = 0;
    for (;;) {
      if (readSync(fd, head, 0, BLOCK, pos) < BLOCK) break;
      if (head.every((b) => b === 0)) break;
      const size = tarSize(head);
      const type = String.fromCharCode(head[156]!);
      pos += BLOCK;
      if ((type === '0' || type === '\0') && size > 0) {
        const data = Buffer.allocUnsafe(size);
        readSync(fd, data, 0, size, pos);
        out.push(data);
      }
      pos += Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
  if (out.length === 0) throw new Error(`${tarPath}: no regular files`);
  return out;
}

function tarSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    let v = 0;
    for (let i = 125; i < 136; i++) v = v * 256 + h[i]!;
    return v;
  }
  return parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** Seeded numbers in [0, 1) from data.ts's keystream. */
function seededFloats(seed: number): () => number {
  let buf: Buffer = Buffer.alloc(0);
  let at = 0;
  let n = 0;
  return () => {
    if (at + 4 > buf.length) {
      buf = randomBytesSeeded(`gen-image-${seed}-${n++}`, 1 << 16);
      at = 0;
    }
    const v = buf.readUInt32LE(at) / 4294967296;
    at += 4;
    return v;
  };
}

/** One file of a layer: pool file `pool`, made unique by `tag`. */
interface FileUse {
  readonly pool: number;
  readonly tag: number;
}

export interface GenImageOptions {
  /** Approximate total size in bytes. */
  readonly bytes: number;
  readonly layers: number;
  /** Share of all files that repeat a file of an earlier layer (0..1; the first layer has none, the later ones more). */
  readonly repeat: number;
  readonly seed: number;
  readonly name: string;
}

export interface GenImageResult {
  readonly bytes: number;
  readonly files: number;
  readonly repeatedFiles: number;
  readonly repeatedBytes: number;
}

/** Writes the archive to `outPath`. */
export function writeImage(outPath: string, pool: readonly Buffer[], o: GenImageOptions): GenImageResult {
  const rand = seededFloats(o.seed);
  const perLayer = Math.ceil(o.bytes / o.layers);
  // the first layer repeats nothing, so the later ones repeat more: `repeat` of all files
  const share = o.layers > 1 ? Math.min(1, (o.repeat * o.layers) / (o.layers - 1)) : 0;
  const used: FileUse[] = [];
  let tag = o.seed * 1_000_003;
  let files = 0;
  let repeatedFiles = 0;
  let repeatedBytes = 0;
  const fd = openSync(outPath, 'w');
  let written = 0;
  const put = (b: Uint8Array): void => {
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    written += b.length;
  };
  const diffIds: string[] = [];
  const layerPaths: string[] = [];
  try {
    for (let l = 0; l < o.layers; l++) {
      // plan the layer first: its size goes into the archive's header before its bytes
      const plan: FileUse[] = [];
      let size = 0;
      const firstNew = used.length;
      while (size < perLayer) {
        const again = l > 0 && firstNew > 0 && rand() < share;
        const use = again ? used[Math.floor(rand() * firstNew)]! : { pool: Math.floor(rand() * pool.length), tag: tag++ };
        if (!again) used.push(use);
        else {
          repeatedFiles++;
          repeatedBytes += pool[use.pool]!.length;
        }
        plan.push(use);
        size += BLOCK + padded(pool[use.pool]!.length);
      }
      const layerSize = size + 2 * BLOCK;
      const id = createHash('sha256').update(`${o.seed}/${l}`).digest('hex');
      layerPaths.push(`${id}/layer.tar`);
      put(header(`${id}/layer.tar`, layerSize));
      const h = createHash('sha256');
      const putLayer = (b: Uint8Array): void => {
        h.update(b);
        put(b);
      };
      plan.forEach((use, i) => {
        const data = Buffer.from(pool[use.pool]!);
        for (let off = 0; off + 8 <= data.length; off += 4096) {
          data.writeUInt32LE(use.tag >>> 0, off);
          data.writeUInt32LE(Math.floor(use.tag / 2 ** 32) ^ 0x5a5a5a5a, off + 4);
        }
        putLayer(header(`l${l}/d${i >> 8}/f${i}`, data.length));
        putLayer(data);
        const pad = padded(data.length) - data.length;
        if (pad) putLayer(Buffer.alloc(pad));
        files++;
      });
      putLayer(Buffer.alloc(2 * BLOCK));
      put(Buffer.alloc(padded(layerSize) - layerSize));
      diffIds.push(`sha256:${h.digest('hex')}`);
    }
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [o.name], Layers: layerPaths }]));
    for (const [name, data] of [
      [configName, config],
      ['manifest.json', manifest],
    ] as const) {
      put(header(name, data.length));
      put(data);
      put(Buffer.alloc(padded(data.length) - data.length));
    }
    put(Buffer.alloc(2 * BLOCK));
  } finally {
    closeSync(fd);
  }
  return { bytes: written, files, repeatedFiles, repeatedBytes };
}
