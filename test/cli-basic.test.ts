/**
 * The main job end to end: init, snapshot (file and stdin), snapshots, restore (file and stdout).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, listFiles, type Sandbox } from './helpers/cli.js';
import { createHash } from 'node:crypto';

describe('stowage CLI: snapshot and restore on a local repository', () => {
  let sb: Sandbox;
  let input: Buffer;
  beforeAll(() => {
    sb = sandbox();
    input = seededBytes('basic', 20 * 1024 * 1024 + 12345);
    // make it compressible in parts, like real images
    input.fill(7, 1_000_000, 9_000_000);
    fs.writeFileSync(sb.file('image.tar'), input);
  });
  afterAll(() => sb.cleanup());

  it('init creates the layout and config', () => {
    const r = sb.run(['init', '--insecure-no-encryption']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/created stowage repository/);
    for (const d of ['data', 'index', 'snapshots', 'keys', 'locks']) expect(fs.existsSync(`${sb.repo}/${d}`)).toBe(true);
    const config = JSON.parse(fs.readFileSync(`${sb.repo}/config`, 'utf8'));
    expect(config.version).toBe(1);
    expect(config.chunker.algorithm).toBe('fastcdc-2020');
    expect(config.compression).toEqual({ algorithm: 'zstd', level: 3 });
  });

  it('snapshot --json reports id, sizes and speed', () => {
    const r = sb.run(['snapshot', sb.file('image.tar'), '--json', '--tag', 'v1', '--tag', 'test']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.id).toMatch(/^[0-9a-f]{64}$/);
    expect(j.bytesRead).toBe(input.length);
    // the filled run repeats one chunk, stored once
    expect(j.bytesNew).toBeLessThan(input.length);
    expect(j.bytesNew).toBeGreaterThan(input.length - 8_000_000);
    expect(j.bytesStored).toBeGreaterThan(0);
    expect(j.bytesStored).toBeLessThan(input.length); // the filled run compresses
    expect(j.sha256).toBe(createHash('sha256').update(input).digest('hex'));
    expect(j.tags).toEqual(['v1', 'test']);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.mbPerSec).toBeGreaterThan(0);
    expect(listFiles(`${sb.repo}/data`).length).toBeGreaterThan(0);
    expect(listFiles(`${sb.repo}/index`).length).toBe(1);
  });

  it('human snapshot output names id, read, new, stored, seconds and MiB/s (one unit family)', () => {
    const r = sb.run(['snapshot', '-', '--name', 'piped'], { input: input.subarray(0, 1_000_000) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/snapshot [0-9a-f]{8} saved \(piped\)/);
    expect(r.stdout).toMatch(/read\s+977 KiB in [\d.]+ s \([\d.]+ [KM]iB\/s\)/);
    expect(r.stdout).not.toMatch(/MB\/s/);
    // the first MB is already stored but for its cut-off last chunk
    expect(r.stdout).toMatch(/new\s+[\d.]+ KiB to store: \d+ of \d+ chunks are new \(\d+ already stored, or repeated within the input\)/);
    expect(r.stdout).toMatch(/stored\s+[\d.]+ KiB after compression/);
    expect(r.stdout).toMatch(/id\s+[0-9a-f]{64}/);
  });

  it('snapshots lists both, as a table and as JSON', () => {
    const t = sb.run(['snapshots']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/ID\s+Time\s+Host\s+Name\s+Tags\s+Size/);
    expect(t.stdout).toMatch(/image\.tar\s+v1,test\s+20\.0 MiB/);
    expect(t.stdout).toMatch(/2 snapshots/);
    const j = JSON.parse(sb.run(['snapshots', '--json']).stdout);
    expect(j).toHaveLength(2);
    for (const s of j) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'time', 'tags', 'name', 'size']));
    }
    expect(j.map((s: { name: string }) => s.name).sort()).toEqual(['image.tar', 'piped']);
  });

  it('restore by unique prefix writes a byte-identical file', () => {
    const snaps = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { id: string; name: string }[];
    const id = snaps.find((s) => s.name === 'image.tar')!.id;
    const r = sb.run(['restore', id.slice(0, 8), sb.file('out.tar')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sha256 [0-9a-f]{64} verified/);
    expect(fs.readFileSync(sb.file('out.tar')).equals(input)).toBe(true);
    expect(fs.readdirSync(sb.dir).filter((f) => f.includes('.stowage-'))).toEqual([]);
  });

  it('restore latest to stdout streams the bytes in order', () => {
    const r = sb.run(['restore', 'latest', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdoutBytes.equals(input.subarray(0, 1_000_000))).toBe(true);
  });

  it('restore refuses an existing target unless --overwrite', () => {
    fs.writeFileSync(sb.file('exists.bin'), 'keep me');
    const r = sb.run(['restore', 'latest', sb.file('exists.bin')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exists.*--overwrite.*\[TARGET_EXISTS\]/);
    expect(fs.readFileSync(sb.file('exists.bin'), 'utf8')).toBe('keep me');
    const o = sb.run(['restore', 'latest', sb.file('exists.bin'), '--overwrite']);
    expect(o.code, o.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('exists.bin')).equals(input.subarray(0, 1_000_000))).toBe(true);
  });

  it('an unchanged file is not re-read; --force re-reads it', () => {
    const again = JSON.parse(sb.run(['snapshot', sb.file('image.tar'), '--json']).stdout);
    expect(again.reused).toBe(true);
    expect(again.bytesRead).toBe(0);
    expect(again.parent).toMatch(/^[0-9a-f]{64}$/);
    const forced = JSON.parse(sb.run(['snapshot', sb.file('image.tar'), '--json', '--force']).stdout);
    expect(forced.reused).toBe(false);
    expect(forced.bytesRead).toBe(input.length);
    expect(forced.bytesNew).toBe(0);
    // a touched file (new mtime) is re-read
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(sb.file('image.tar'), t, t);
    const touched = JSON.parse(sb.run(['snapshot', sb.file('image.tar'), '--json']).stdout);
    expect(touched.reused).toBe(false);
    expect(touched.bytesRead).toBe(input.length);
    // the reused snapshot restores like the original
    const r = sb.run(['restore', again.id, sb.file('again.tar')]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('again.tar')).equals(input)).toBe(true);
  });

  it('an empty input stored on purpose (--allow-empty) round-trips', () => {
    fs.writeFileSync(sb.file('empty'), '');
    const s = JSON.parse(sb.run(['snapshot', sb.file('empty'), '--json', '--allow-empty']).stdout);
    expect(s.size).toBe(0);
    const r = sb.run(['restore', s.id, sb.file('empty.out')]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('empty.out')).length).toBe(0);
  });
});
