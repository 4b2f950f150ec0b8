/**
 * Dedup, pinned: the same data again writes no pack; one inserted byte costs < 1 MiB.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('dedup', () => {
  let sb: Sandbox;
  const MiB = 1024 * 1024;
  let data: Buffer;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    data = seededBytes('dedup', 64 * MiB);
    fs.writeFileSync(sb.file('a.bin'), data);
  });
  afterAll(() => sb.cleanup());

  it('snapshotting the same data again writes no new pack', () => {
    const first = JSON.parse(sb.run(['snapshot', sb.file('a.bin'), '--json']).stdout);
    expect(first.bytesNew).toBe(64 * MiB);
    const packs = listFiles(`${sb.repo}/data`);
    // same bytes under another path: re-read, fully deduplicated
    fs.copyFileSync(sb.file('a.bin'), sb.file('copy.bin'));
    const again = JSON.parse(sb.run(['snapshot', sb.file('copy.bin'), '--json']).stdout);
    expect(again.bytesRead).toBe(64 * MiB);
    expect(again.bytesNew).toBe(0);
    expect(again.newChunks).toBe(0);
    expect(listFiles(`${sb.repo}/data`)).toEqual(packs);
    // and from stdin
    const piped = JSON.parse(sb.run(['snapshot', '-', '--json'], { input: data }).stdout);
    expect(piped.bytesNew).toBe(0);
    expect(listFiles(`${sb.repo}/data`)).toEqual(packs);
  });

  it('one byte inserted at the start of 64 MiB stores less than 1 MiB of new data', () => {
    fs.writeFileSync(sb.file('shifted.bin'), Buffer.concat([Buffer.from([0x42]), data]));
    const r = JSON.parse(sb.run(['snapshot', sb.file('shifted.bin'), '--json']).stdout);
    expect(r.bytesRead).toBe(64 * MiB + 1);
    expect(r.bytesNew).toBeGreaterThan(0);
    expect(r.bytesNew).toBeLessThan(MiB);
    const out = sb.run(['restore', r.id, sb.file('shifted.out')]);
    expect(out.code, out.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('shifted.out')).equals(fs.readFileSync(sb.file('shifted.bin')))).toBe(true);
  });
});
