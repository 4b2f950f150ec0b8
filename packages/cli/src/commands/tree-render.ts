/**
 * Rendering tree entries for people: names escaped so that a newline, a control
 * character or bytes that are not UTF-8 cannot break a line or the terminal (\n, \t,
 * \x1b, \xff, and \\ for a backslash), `ls -l` style lines, and the JSON lines of
 * `ls --json` (the same keys as `ls --files --json` of images: path, type, size, mode).
 */
import { type TreeNode } from '@stowage/core';
import { modeString, symlinkTarget } from '@stowage/core/internal';
import { jsonText, printable } from '../escape.js';

export { printable } from '../escape.js';

/** "2021-03-04 05:06:07.123456789" (UTC) from ns since the epoch. */
export function formatMtime(ns: string): string {
  const n = BigInt(ns);
  const ms = Number(n / 1_000_000n);
  const frac = (((n % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

/** One `ls -l` style line. */
export function lsLine(path: Buffer, n: TreeNode): string {
  const owner = `${n.user ?? n.uid}/${n.group ?? n.gid}`;
  const size = n.type === 'char' || n.type === 'block' ? `${((n.rdev ?? 0) >>> 8) & 0xfff},${(n.rdev ?? 0) & 0xff}` : String(n.size ?? 0);
  const link = n.type === 'symlink' ? ` -> ${printable(symlinkTarget(n))}` : '';
  return `${modeString(n)} ${owner.padEnd(17)} ${size.padStart(10)} ${formatMtime(n.mtime)} ${printable(path)}${link}`;
}

/** The JSON line of an entry. Names that are not UTF-8 come as `path_bytes` (base64) too. */
export function lsJson(path: Buffer, n: TreeNode, extra: Record<string, unknown> = {}): string {
  const text = path.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(path);
  return jsonText({
    ...extra,
    path: text,
    ...(!exact && { path_bytes: path.toString('base64') }),
    type: n.type,
    size: n.size ?? 0,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    ...(n.user !== undefined && { user: n.user }),
    ...(n.group !== undefined && { group: n.group }),
    mtime: formatMtime(n.mtime).replace(' ', 'T') + 'Z',
    ...(n.type === 'symlink' && { linkname: symlinkTarget(n).toString('utf8') }),
    ...(n.links && n.links > 1 && { links: n.links }),
    ...(n.xattrs?.length && { xattrs: n.xattrs.map(([k]) => k) }),
  });
}
