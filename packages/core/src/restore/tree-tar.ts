/**
 * A tree snapshot as a tar stream (`stowage restore <snapshot> - --format tar`): POSIX
 * pax format, readable by GNU tar, bsdtar, `podman import`. Names, link targets and
 * owners go in the ustar header when they fit, else in pax records (path, linkpath,
 * uname, gname, uid, gid, size); mtime with nanoseconds, extended attributes as
 * SCHILY.xattr.<name> (as GNU tar --xattrs writes them; ACLs are the system.posix_acl_*
 * attributes); hard links as link entries to the first name; sparse files in GNU sparse
 * format 1.0 (holes are not written).
 */
import type { Writable } from 'node:stream';
import { corrupt } from '../errors.js';
import { once } from 'node:events';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { decodeExtents, nodeName, symlinkTarget, type TreeNode } from '../tree/node.js';
import { lookupPath, walkEntries } from '../tree/stored.js';
import { BlobCache } from '../object/blob-cache.js';

const BLOCK = 512;

export interface TreeTarResult {
  readonly entries: number;
  readonly bytes: number;
}

/** Writes the tree (or the part at `subpath`) of `snap` to `out` as a tar stream. */
export async function restoreTreeToTar(repo: Repository, snap: Snapshot, out: Writable, opts: { subpath?: string; signal?: AbortSignal } = {}): Promise<TreeTarResult> {
  const { node: top, entries } = await lookupPath(repo, snap, opts.subpath ?? '');
  const w = new TarOut(out);
  const cache = new BlobCache(repo);
  const links = new Map<string, Buffer>();
  let count = 0;
  const one = async (path: Buffer, n: TreeNode): Promise<void> => {
    opts.signal?.throwIfAborted();
    count++;
    const key = n.links && n.links > 1 && n.type === 'file' ? `${n.dev}:${n.ino}` : undefined;
    const first = key ? links.get(key) : undefined;
    if (first) return w.entry(path, n, '1', first, 0);
    if (key) links.set(key, path);
    switch (n.type) {
      case 'dir':
        return w.entry(Buffer.concat([path, Buffer.from('/')]), n, '5', undefined, 0);
      case 'symlink':
        return w.entry(path, n, '2', symlinkTarget(n), 0);
      case 'fifo':
        return w.entry(path, n, '6', undefined, 0);
      case 'char':
        return w.entry(path, n, '3', undefined, 0);
      case 'block':
        return w.entry(path, n, '4', undefined, 0);
      case 'file': {
        const size = n.size ?? 0;
        const data = async function* (): AsyncGenerator<Uint8Array> {
          for (const e of decodeExtents(n)) {
            const blob = await cache.get(e.id);
            yield blob.subarray(e.offset, e.offset + e.length);
          }
        };
        if (n.sparse) return w.sparseFile(path, n, data());
        return w.file(path, n, size, data());
      }
    }
  };
  if (entries) {
    if (top) await one(Buffer.from('.'), top);
    for await (const e of walkEntries(repo, entries, Buffer.from('.'))) await one(e.path, e.node);
  } else {
    await one(Buffer.concat([Buffer.from('./'), nodeName(top!)]), top!);
  }
  await w.end();
  return { entries: count, bytes: w.bytes };
}

class TarOut {
  bytes = 0;
  constructor(private readonly out: Writable) {}

  async write(b: Uint8Array): Promise<void> {
    this.bytes += b.length;
    if (!this.out.write(b)) await once(this.out, 'drain');
  }

  async pad(n: number): Promise<void> {
    const p = (BLOCK - (n % BLOCK)) % BLOCK;
    if (p) await this.write(Buffer.alloc(p));
  }

  async entry(path: Buffer, n: TreeNode, type: string, link: Buffer | undefined, size: number, extra: [string, Buffer][] = []): Promise<void> {
    const pax: [string, Buffer][] = [];
    const h = Buffer.alloc(BLOCK);
    if (path.length <= 100) path.copy(h, 0);
    else pax.push(['path', path]);
    if (link) {
      if (link.length <= 100) link.copy(h, 157);
      else pax.push(['linkpath', link]);
    }
    octal(h, 100, 8, n.mode & 0o7777);
    if (n.uid <= 0o7777777) octal(h, 108, 8, n.uid);
    else pax.push(['uid', Buffer.from(String(n.uid))]);
    if (n.gid <= 0o7777777) octal(h, 116, 8, n.gid);
    else pax.push(['gid', Buffer.from(String(n.gid))]);
    if (size <= 0o77777777777) octal(h, 124, 12, size);
    else pax.push(['size', Buffer.from(String(size))]);
    const ns = BigInt(n.mtime);
    const sec = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
    const frac = ns - sec * 1_000_000_000n;
    octal(h, 136, 12, Number(sec < 0n ? 0n : sec));
    if (frac !== 0n || sec < 0n) pax.push(['mtime', Buffer.from(`${sec}.${frac.toString().padStart(9, '0')}`)]);
    h.write(type, 156, 'latin1');
    h.write('ustar\u000000', 257, 'latin1');
    const user = Buffer.from(n.user ?? '');
    const group = Buffer.from(n.group ?? '');
    if (user.length < 32) user.copy(h, 265);
    else pax.push(['uname', user]);
    if (group.length < 32) group.copy(h, 297);
    else pax.push(['gname', group]);
    if (n.type === 'char' || n.type === 'block') {
      const rdev = n.rdev ?? 0;
      octal(h, 329, 8, ((rdev >>> 8) & 0xfff) | ((rdev / 2 ** 32) & ~0xfff));
      octal(h, 337, 8, (rdev & 0xff) | ((rdev >>> 12) & ~0xff & 0xfffff));
    }
    for (const [name, v] of n.xattrs ?? []) {
      const value = Buffer.from(v, 'base64');
      pax.push([`SCHILY.xattr.${name}`, value]);
      // GNU tar --acls restores ACLs from their text form
      const acl = name === 'system.posix_acl_access' ? 'access' : name === 'system.posix_acl_default' ? 'default' : undefined;
      const text = acl ? aclText(value) : undefined;
      if (text !== undefined) pax.push([`SCHILY.acl.${acl}`, Buffer.from(text)]);
    }
    pax.push(...extra);
    if (pax.length) await this.pax(path, pax);
    let sum = 0;
    h.fill(0x20, 148, 156);
    for (let i = 0; i < BLOCK; i++) sum += h[i]!;
    octal(h, 148, 7, sum);
    await this.write(h);
  }

  private async pax(path: Buffer, records: [string, Buffer][]): Promise<void> {
    const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
    const h = Buffer.alloc(BLOCK);
    const name = Buffer.concat([Buffer.from('PaxHeaders/'), path.subarray(Math.max(0, path.length - 80))]);
    name.copy(h, 0, 0, Math.min(100, name.length));
    octal(h, 100, 8, 0o644);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, body.length);
    octal(h, 136, 12, 0);
    h.write('x', 156, 'latin1');
    h.write('ustar\u000000', 257, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += h[i]!;
    octal(h, 148, 7, sum);
    await this.write(h);
    await this.write(body);
    await this.pad(body.length);
  }

  async file(path: Buffer, n: TreeNode, size: number, data: AsyncIterable<Uint8Array>): Promise<void> {
    await this.entry(path, n, '0', undefined, size);
    let got = 0;
    for await (const d of data) {
      await this.write(d);
      got += d.length;
    }
    // a stored tree whose extents disagree with its entry (written so, or damaged): the tar would be malformed
    if (got !== size) throw corrupt(`${path.toString()}: the stored tree gives ${got} bytes of content, its entry says ${size}`);
    await this.pad(size);
  }

  /** GNU sparse 1.0: a map of data regions in front of the data, the real name and size in pax records. */
  async sparseFile(path: Buffer, n: TreeNode, data: AsyncIterable<Uint8Array>): Promise<void> {
    const regions = [...(n.sparse ?? [])];
    // a file ending in a hole ends with an empty region at its size (as GNU tar writes it)
    const last = regions[regions.length - 1];
    if (!last || last[0] + last[1] < (n.size ?? 0)) regions.push([n.size ?? 0, 0]);
    const map = Buffer.from([String(regions.length), ...regions.flatMap(([o, l]) => [String(o), String(l)])].join('\n') + '\n');
    const mapPadded = Math.ceil(map.length / BLOCK) * BLOCK;
    const dataBytes = regions.reduce((a, [, l]) => a + l, 0);
    const slash = path.lastIndexOf(0x2f);
    const dir = slash >= 0 ? path.subarray(0, slash + 1) : Buffer.alloc(0);
    const fake = Buffer.concat([dir, Buffer.from('GNUSparseFile.0/'), path.subarray(slash + 1)]);
    const extra: [string, Buffer][] = [
      ['GNU.sparse.major', Buffer.from('1')],
      ['GNU.sparse.minor', Buffer.from('0')],
      ['GNU.sparse.name', path],
      ['GNU.sparse.realsize', Buffer.from(String(n.size ?? 0))],
    ];
    await this.entry(fake, n, '0', undefined, mapPadded + dataBytes, extra);
    await this.write(map);
    await this.pad(map.length);
    let got = 0;
    for await (const d of data) {
      await this.write(d);
      got += d.length;
    }
    if (got !== dataBytes) throw corrupt(`${path.toString()}: the stored tree gives ${got} bytes of data, its sparse map says ${dataBytes}`);
    await this.pad(mapPadded + dataBytes);
  }

  async end(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK));
  }
}

/** The text form of a POSIX ACL xattr value (acl_to_text with numeric ids, one entry a line); undefined when malformed. */
export function aclText(v: Buffer): string | undefined {
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== 2) return undefined;
  const lines: string[] = [];
  for (let off = 4; off < v.length; off += 8) {
    const tag = v.readUInt16LE(off);
    const perm = v.readUInt16LE(off + 2);
    const id = v.readUInt32LE(off + 4);
    const p = `${perm & 4 ? 'r' : '-'}${perm & 2 ? 'w' : '-'}${perm & 1 ? 'x' : '-'}`;
    const kind = { 1: 'user:', 2: `user:${id}`, 4: 'group:', 8: `group:${id}`, 16: 'mask:', 32: 'other:' }[tag];
    if (kind === undefined) return undefined;
    lines.push(`${kind}:${p}`);
  }
  return lines.join('\n');
}

function octal(h: Buffer, off: number, len: number, v: number): void {
  h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}
