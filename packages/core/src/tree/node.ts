/**
 * Tree snapshots: a directory is stored as tree blobs (restic's design), each listing
 * the entries of one directory (or a run of them, for very large directories) with
 * all their metadata; a file's content is a list of extents of data blobs, cut by the
 * same chunker and small-file stream as tar members (snapshot/content-writer.ts), so a
 * file stored from an image layer and from a volume is the same blobs.
 *
 * ```
 * tree blob = JSON {"v":1,"entries":[Node, ...]}   (type 'list'; entries sorted by name bytes)
 * Node      = see TreeNode below; `content` is base64 of 40-byte extents
 *             id:32 offset:u32le length:u32le (the chunk-list record, chunk-list.ts)
 * ```
 * A tree blob is deterministic for the same entries, so an unchanged directory is the
 * same blob (stored once); a directory's `tree` lists its blobs in order. Every blob a
 * tree snapshot references (data and tree blobs) is also in the snapshot's chunk lists
 * (content.lists), so gc, check and copy walk tree snapshots like any other.
 *
 * Names and symlink targets are bytes: kept as UTF-8 text when they are valid UTF-8,
 * else as base64 (`nameb`, `targetb`).
 */
import { corrupt } from '../errors.js';

export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block';
export const NODE_TYPES: readonly NodeType[] = ['file', 'dir', 'symlink', 'fifo', 'char', 'block'];

export interface TreeNode {
  /** Entry name (valid UTF-8); absent when `nameb` holds it. */
  name?: string;
  /** Entry name as base64 bytes, when not valid UTF-8. */
  nameb?: string;
  type: NodeType;
  /** Permission bits including setuid, setgid and sticky (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** Modification time, nanoseconds since the epoch (decimal). */
  mtime: string;
  /** Change time and inode: only to recognise an unchanged file in the next snapshot. */
  ctime: string;
  ino: number;
  dev: number;
  /** Hard-link count when above 1: restore links entries with the same dev and ino. */
  links?: number;
  /** Regular files: size in bytes. */
  size?: number;
  /** Regular files: base64 of the 40-byte extents of the data (holes excluded). */
  content?: string;
  /** Sparse files: the data regions [offset, length] in order; the rest are holes. */
  sparse?: [number, number][];
  /** Symlink target (valid UTF-8), or `targetb` as base64 bytes. */
  target?: string;
  targetb?: string;
  /** Character and block devices: st_rdev. */
  rdev?: number;
  /** Extended attributes (incl. security.capability, system.posix_acl_*): [name, base64 value], sorted. */
  xattrs?: [string, string][];
  /** Directories: hex ids of the tree blobs listing the entries, in order. */
  tree?: string[];
}

/** Entries per tree blob (a larger directory gets several blobs). */
export const TREE_BLOB_ENTRIES = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text when valid UTF-8, else undefined. */
export function utf8OrUndefined(b: Uint8Array): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

/** Sets `name` or `nameb` from bytes. */
export function nameFields(b: Buffer): { name: string } | { nameb: string } {
  const s = utf8OrUndefined(b);
  return s !== undefined && !s.includes('\0') ? { name: s } : { nameb: b.toString('base64') };
}

export function nodeName(n: TreeNode): Buffer {
  return n.name !== undefined ? Buffer.from(n.name, 'utf8') : Buffer.from(n.nameb ?? '', 'base64');
}

export function symlinkTarget(n: TreeNode): Buffer {
  return n.target !== undefined ? Buffer.from(n.target, 'utf8') : Buffer.from(n.targetb ?? '', 'base64');
}

export function encodeTreeBlob(entries: readonly TreeNode[]): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, entries }));
}

/** Parses a tree blob; CORRUPT when it is not one. */
export function decodeTreeBlob(plain: Uint8Array, what: string): TreeNode[] {
  let doc: { v?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString('utf8')) as typeof doc;
  } catch (err) {
    throw corrupt(`${what}: not a tree blob (not JSON)`, err);
  }
  if (doc?.v !== 1 || !Array.isArray(doc.entries)) throw corrupt(`${what}: not a tree blob`);
  for (const e of doc.entries as TreeNode[]) {
    if (typeof e !== 'object' || e === null || !NODE_TYPES.includes(e.type) || (e.name === undefined && e.nameb === undefined) || typeof e.mode !== 'number')
      throw corrupt(`${what}: malformed tree entry`);
    if (e.type === 'dir' && e.tree !== undefined && !(Array.isArray(e.tree) && e.tree.every((t) => typeof t === 'string' && /^[0-9a-f]{64}$/.test(t)))) throw corrupt(`${what}: malformed subtree ids`);
  }
  return doc.entries as TreeNode[];
}

/** One extent of file content: bytes [offset, offset + length) of blob `id`. */
export interface Extent {
  readonly id: Buffer;
  readonly offset: number;
  readonly length: number;
}

export const EXTENT_BYTES = 40;

export function encodeExtents(refs: readonly Extent[]): string {
  const b = Buffer.allocUnsafe(refs.length * EXTENT_BYTES);
  refs.forEach((r, i) => {
    r.id.copy(b, i * EXTENT_BYTES);
    b.writeUInt32LE(r.offset, i * EXTENT_BYTES + 32);
    b.writeUInt32LE(r.length, i * EXTENT_BYTES + 36);
  });
  return b.toString('base64');
}

export function decodeExtents(n: TreeNode): Extent[] {
  const b = storedExtents(n);
  const out: Extent[] = [];
  for (let off = 0; off < b.length; off += EXTENT_BYTES) out.push({ id: b.subarray(off, off + 32), offset: b.readUInt32LE(off + 32), length: b.readUInt32LE(off + 36) });
  return out;
}

/** A file's extents as stored (EXTENT_BYTES each, the chunk-list record: no object per extent); CORRUPT when malformed. */
export function storedExtents(n: TreeNode): Buffer {
  if (!n.content) return EMPTY;
  const b = Buffer.from(n.content, 'base64');
  if (b.length % EXTENT_BYTES !== 0) throw corrupt(`tree entry ${nodeName(n).toString()}: malformed content extents`);
  return b;
}

const EMPTY = Buffer.alloc(0);

/**
 * Compares name bytes `b` with node `n`'s name as bytes (compareNames(b, nodeName(n))),
 * without making a Buffer of the name while it is ASCII (a tree walk compares every entry
 * with its parent's node).
 */
export function compareName(b: Buffer, n: TreeNode): number {
  const s = n.name;
  if (s === undefined) return Buffer.compare(b, nodeName(n));
  const len = Math.min(b.length, s.length);
  for (let k = 0; k < len; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) return Buffer.compare(b, Buffer.from(s, 'utf8')); // not ASCII from here: as bytes
    // the name's bytes so far are its characters: byte k is c
    if (b[k] !== c) return b[k]! < c ? -1 : 1;
  }
  // equal for `len` bytes, all ASCII: the shorter one is first
  return b.length === s.length ? 0 : b.length < s.length ? -1 : 1;
}

/** Compares names as bytes (the order entries are stored in). */
export function compareNames(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** `ls -l` style type and permission string (e.g. "drwxr-xr-x", "-rwsr-xr-x"). */
export function modeString(n: TreeNode): string {
  const t = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', char: 'c', block: 'b' }[n.type];
  const m = n.mode;
  const rwx = (shift: number, special: boolean, ch: string): string => {
    const r = m & (4 << shift) ? 'r' : '-';
    const w = m & (2 << shift) ? 'w' : '-';
    const x = m & (1 << shift);
    return r + w + (special ? (x ? ch : ch.toUpperCase()) : x ? 'x' : '-');
  };
  return t + rwx(6, (m & 0o4000) !== 0, 's') + rwx(3, (m & 0o2000) !== 0, 's') + rwx(0, (m & 0o1000) !== 0, 't');
}
