/** Tar header fields: octal and base-256 numbers, checksums, names, PAX records. */
import { describe, expect, it } from 'vitest';
import { tarHeader } from '../testing/tars.js';
import { checksum, hasData, parseHeader, parseNumber, parsePax } from './tar-header.js';

const field = (bytes: number[] | string, len = 12): Buffer => {
  const b = Buffer.alloc(len);
  if (typeof bytes === 'string') b.write(bytes, 0, 'latin1');
  else Buffer.from(bytes).copy(b);
  return b;
};

describe('parseNumber', () => {
  it('reads octal text, NUL or space terminated, with leading spaces', () => {
    expect(parseNumber(field('00000001750\0'), 0, 12)).toBe(1000);
    expect(parseNumber(field('1750 '), 0, 12)).toBe(1000);
    expect(parseNumber(field('   1750\0'), 0, 12)).toBe(1000);
    expect(parseNumber(field('77777777777\0'), 0, 12)).toBe(8 ** 11 - 1); // the octal maximum: 8 GiB - 1
    expect(parseNumber(field(''), 0, 12)).toBe(0); // all NULs
    expect(parseNumber(field('           '), 0, 12)).toBe(0);
  });

  it('rejects malformed octal', () => {
    expect(parseNumber(field('0000008\0'), 0, 12)).toBeUndefined(); // 8 is not octal
    expect(parseNumber(field('12a4\0'), 0, 12)).toBeUndefined();
    expect(parseNumber(field('12 34\0'), 0, 12)).toBeUndefined(); // digits after the terminator
    expect(parseNumber(field('-12\0'), 0, 12)).toBeUndefined();
  });

  it('reads GNU base-256 sizes past 8 GiB', () => {
    // 9 GiB = 0x2_4000_0000
    const nine = field([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x40, 0, 0, 0]);
    expect(parseNumber(nine, 0, 12)).toBe(9 * 2 ** 30);
    // 1 TiB + 1
    const tib = field([0x80, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0x01]);
    expect(parseNumber(tib, 0, 12)).toBe(2 ** 40 + 1);
    // high bits of the first byte (after the marker) count too
    expect(parseNumber(field([0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0, 12)).toBeUndefined(); // 2^88: past 2^53
    expect(parseNumber(field([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]), 0, 12)).toBe(5);
  });

  it('rejects negative base-256 and values past 2^53', () => {
    expect(parseNumber(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 12)).toBeUndefined();
    expect(parseNumber(field([0x80, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0]), 0, 12)).toBeUndefined(); // 2^56
    expect(parseNumber(field([0x80, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0]), 0, 12)).toBeUndefined(); // 2^53
    expect(parseNumber(field([0x80, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 12)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads base-256 in an 8-byte field (uid, mode)', () => {
    expect(parseNumber(field([0x80, 0, 0, 0, 0, 0x01, 0, 0], 8), 0, 8)).toBe(65536);
  });
});

describe('parseHeader', () => {
  it('accepts a valid header and reads name, type, size, mode, link name', () => {
    const h = parseHeader(tarHeader({ name: 'etc/passwd', size: 1234, mode: 0o600 }))!;
    expect(h).toMatchObject({ name: 'etc/passwd', type: '0', size: 1234, mode: 0o600, ustar: true, sparseExtended: false, linkname: '' });
    expect(parseHeader(tarHeader({ name: 'sl', type: '2', linkname: '../target' }))!.linkname).toBe('../target');
    expect(parseHeader(tarHeader({ name: 'hl', type: '1', linkname: 'a/b' }))!.linkname).toBe('a/b');
  });

  it('joins the ustar prefix and name', () => {
    expect(parseHeader(tarHeader({ name: 'file.txt', prefix: 'a/very/long/dir' }))!.name).toBe('a/very/long/dir/file.txt');
  });

  it('reads a base-256 size over 8 GiB in a header', () => {
    expect(parseHeader(tarHeader({ name: 'big', size: 9n * 2n ** 30n, magic: 'gnu' }))!.size).toBe(9 * 2 ** 30);
  });

  it('rejects a bad checksum, a short block, a bad size field', () => {
    const good = tarHeader({ name: 'x', size: 10 });
    expect(parseHeader(tarHeader({ name: 'x', size: 10, checksum: checksum(good) + 1 }))).toBeUndefined();
    expect(parseHeader(good.subarray(0, 511))).toBeUndefined();
    expect(parseHeader(tarHeader({ name: 'x', patch: [[124, Buffer.from('99999999999\0')]] }))).toBeUndefined();
    // a checksum field that is not a number
    const junk = Buffer.from(good);
    junk.write('zzzzzz', 148, 'latin1');
    expect(parseHeader(junk)).toBeUndefined();
  });

  it('knows which types carry data', () => {
    for (const t of ['0', '\0', '7', 'x', 'g', 'L', 'K', 'S']) expect(hasData(t)).toBe(true);
    for (const t of ['1', '2', '3', '4', '5', '6']) expect(hasData(t)).toBe(false);
  });
});

describe('parsePax', () => {
  it('reads records, including values with = and UTF-8', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(body) + 1;
      while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
      return `${len}${body}`;
    };
    const data = Buffer.from(rec('path', 'ü/a=b') + rec('size', '12345678901'));
    const m = parsePax(data)!;
    expect(m.get('path')).toBe('ü/a=b');
    expect(m.get('size')).toBe('12345678901');
  });

  it('rejects malformed records', () => {
    expect(parsePax(Buffer.from('99 path=x\n'))).toBeUndefined(); // length past the end
    expect(parsePax(Buffer.from('abc path=x\n'))).toBeUndefined();
    expect(parsePax(Buffer.from('11 pathx\n'))).toBeUndefined(); // no '='
  });
});
