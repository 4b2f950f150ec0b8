/**
 * Helpers for tests of the tar splitter, the tar lister and image facts: real archives
 * made by GNU tar in a temp directory, hand-made headers (any field, any checksum),
 * and a driver that splits an input in pieces of a given size.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArchiveMember, SplitEvent, Splitter } from '../split/events.js';
import { BLOCK, checksum } from '../split/tar-header.js';
import { TarSplitter } from '../split/tar-splitter.js';

/** True when GNU tar is on the PATH. */
export function hasGnuTar(): boolean {
  const r = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /GNU tar/.test(r.stdout);
}

/** A fresh temp directory (remove it with fs.rmSync when done). */
export function tempDir(prefix = 'stowage-tar-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs GNU tar with `options` in `cwd` on `files`, the archive on stdout; returns its bytes. */
export function gnuTar(cwd: string, options: readonly string[], files: readonly string[] = ['.']): Buffer {
  const args = ['--owner=0', '--group=0', '--numeric-owner', '--mtime=2024-01-01 00:00Z', '--sort=name', ...options, '-cf', '-', ...files];
  const r = spawnSync('tar', args, { cwd, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

export interface HeaderFields {
  name?: string;
  mode?: number;
  size?: number | bigint;
  type?: string;
  linkname?: string;
  /** 'ustar' (POSIX "ustar\0" "00"), 'gnu' ("ustar  \0"), or 'v7' (no magic). Default ustar. */
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Overrides the computed checksum. */
  checksum?: number;
  /** Bytes to write at offsets after the fields (e.g. GNU sparse maps). */
  patch?: ReadonlyArray<readonly [number, Uint8Array]>;
}

/** One 512-byte header block. Sizes of 8 GiB and more are written in base-256, as GNU tar does. */
export function tarHeader(f: HeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name ?? 'file', 0, 100, 'utf8');
  octal(b, 100, 8, f.mode ?? 0o644);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  const size = BigInt(f.size ?? 0);
  if (size >= 8n ** 11n) {
    let v = size;
    for (let i = 11; i >= 1; i--) {
      b[124 + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    b[124] = 0x80;
  } else {
    octal(b, 124, 12, Number(size));
  }
  octal(b, 136, 12, 1704067200);
  b.write(f.type ?? '0', 156, 1, 'latin1');
  if (f.linkname) b.write(f.linkname, 157, 100, 'utf8');
  const magic = f.magic ?? 'ustar';
  if (magic === 'ustar') b.write('ustar\u000000', 257, 8, 'latin1');
  if (magic === 'gnu') b.write('ustar  \u0000', 257, 8, 'latin1');
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  for (const [off, bytes] of f.patch ?? []) b.set(bytes, off);
  const sum = f.checksum ?? checksum(b);
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'latin1');
  return b;
}

/** A member: header + data + padding. */
export function tarEntry(f: HeaderFields, data: Uint8Array = new Uint8Array(0)): Buffer {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([tarHeader({ size: data.length, ...f }), data, Buffer.alloc(pad)]);
}

/** A whole tar of `entries` with the two zero blocks at the end. */
export function tarOf(entries: ReadonlyArray<{ name: string; data?: Uint8Array; type?: string; linkname?: string }>): Buffer {
  return Buffer.concat([
    ...entries.map((e) => tarEntry({ name: e.name, ...(e.type && { type: e.type }), ...(e.linkname && { linkname: e.linkname }) }, e.data ?? new Uint8Array(0))),
    Buffer.alloc(2 * BLOCK),
  ]);
}

export interface SplitRun {
  /** Concatenation of every content, glue and reused event: must equal the input. */
  readonly joined: Buffer;
  readonly members: ArchiveMember[];
  readonly contentUnits: number;
  readonly events: number;
}

/** Feeds `input` to a splitter in pieces of `pieceSize` bytes (fresh Buffers), collecting the events. */
export function splitAll(input: Uint8Array, pieceSize: number, splitter: Splitter = new TarSplitter()): SplitRun {
  const parts: Buffer[] = [];
  const members: ArchiveMember[] = [];
  let contentUnits = 0;
  let events = 0;
  const out: SplitEvent[] = [];
  const take = () => {
    for (const e of out) {
      events++;
      if (e.kind === 'content' || e.kind === 'glue' || e.kind === 'reused')
        parts.push(Buffer.from(e.bytes)); // copy: views die with the piece
      else if (e.kind === 'member') members.push(e.member);
      else if (e.kind === 'end-content') contentUnits++;
    }
    out.length = 0;
  };
  for (let off = 0; off < input.length; off += pieceSize) {
    splitter.push(Buffer.from(input.subarray(off, off + pieceSize)), out);
    take();
  }
  splitter.end(out);
  take();
  return { joined: Buffer.concat(parts), members, contentUnits, events };
}

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\u0000', off, len, 'latin1');
}
