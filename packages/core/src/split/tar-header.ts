/**
 * Tar header blocks (ustar, GNU, PAX), read only as far as splitting needs: is this
 * a valid header, what type, how many data bytes follow. Nothing here is trusted for
 * restore: restore reproduces the stored bytes whatever the parser thought of them.
 */

export const BLOCK = 512;

export interface TarHeader {
  readonly name: string;
  /** Type flag character ('0', '\0', '5', 'x', 'L', 'S', ...). */
  readonly type: string;
  /** Data bytes following the header in the archive (before padding), per the size field. */
  readonly size: number;
  readonly mode: number;
  /** GNU old sparse format: the header is followed by extension blocks. */
  readonly sparseExtended: boolean;
  readonly ustar: boolean;
  /** Target of a hard link ('1') or symlink ('2'); empty for other types. */
  readonly linkname: string;
}

/** True when every byte of the block is zero (end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses a 512-byte header; undefined when the checksum or a numeric field is invalid. */
export function parseHeader(b: Uint8Array): TarHeader | undefined {
  if (b.length < BLOCK) return undefined;
  const chk = parseNumber(b, 148, 8);
  if (chk === undefined || chk !== checksum(b)) return undefined;
  const size = parseNumber(b, 124, 12);
  const mode = parseNumber(b, 100, 8) ?? 0;
  if (size === undefined || size < 0) return undefined;
  const type = String.fromCharCode(b[156]!);
  const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72; // "ustar"
  let name = cstring(b, 0, 100);
  if (ustar && b[345] !== 0 && type !== 'S') name = `${cstring(b, 345, 155)}/${name}`;
  const linkname = type === '1' || type === '2' ? cstring(b, 157, 100) : '';
  return { name, type, size, mode, sparseExtended: type === 'S' && b[482] !== 0, ustar, linkname };
}

/** Header-only types carry no data, whatever their size field says (as Go's archive/tar reads them). */
export function hasData(type: string): boolean {
  return !['1', '2', '3', '4', '5', '6'].includes(type);
}

/** Metadata records whose data is not file content (PAX, GNU long names, volume labels...). */
export function isMetaType(type: string): boolean {
  return ['x', 'g', 'X', 'L', 'K', 'V', 'M', 'N'].includes(type);
}

/** The sum that the checksum field must hold (the field itself counted as spaces). */
export function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < BLOCK; i++) s += i >= 148 && i < 156 ? 32 : b[i]!;
  return s;
}

/**
 * A numeric field: octal text (NUL/space terminated), or GNU base-256 (high bit of
 * the first byte set) for values past 8 GiB. Undefined when malformed.
 */
export function parseNumber(b: Uint8Array, off: number, len: number): number | undefined {
  const first = b[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return undefined;
  return digits === 0 ? 0 : v;
}

/** PAX records "len key=value\n"; returns the key/value pairs, undefined when malformed. */
export function parsePax(data: Uint8Array): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let off = 0;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  while (off < text.length) {
    if (text[off] === 0) break; // padding some writers leave
    const sp = text.indexOf(0x20, off);
    if (sp < 0) return undefined;
    const len = Number(text.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= sp - off || off + len > text.length) return undefined;
    const rec = text.toString('utf8', sp + 1, off + len - 1);
    const eq = rec.indexOf('=');
    if (eq < 0) return undefined;
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

function cstring(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}
