/**
 * Everything read is verified: a flipped byte in a pack makes restore fail with
 * CORRUPT naming the blob and pack, and no target file is left behind.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('corruption is detected on restore', () => {
  let sb: Sandbox;
  let id = '';
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--compression-level', '0']).code).toBe(0);
    fs.writeFileSync(sb.file('in'), seededBytes('corrupt', 6 << 20));
    id = JSON.parse(sb.run(['snapshot', sb.file('in'), '--json']).stdout).id;
  });
  afterAll(() => sb.cleanup());

  it('a flipped byte in a pack: CORRUPT naming blob and pack, no target', () => {
    const pack = listFiles(`${sb.repo}/data`)[0]!;
    fs.chmodSync(pack, 0o644);
    const fd = fs.openSync(pack, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 1000);
    b[0]! ^= 0x01;
    fs.writeSync(fd, b, 0, 1, 1000);
    fs.closeSync(fd);
    for (const target of [sb.file('out'), '-']) {
      const r = sb.run(['restore', id, target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/blob [0-9a-f]{64} in pack [0-9a-f]{64}: content does not match its id.*\[CORRUPT\]/);
    }
    expect(fs.existsSync(sb.file('out'))).toBe(false);
    expect(fs.readdirSync(sb.dir).filter((f) => f.includes('.stowage-'))).toEqual([]);
  });

  it('a damaged snapshot file is CORRUPT', () => {
    const snap = `${sb.repo}/snapshots/${id}`;
    fs.chmodSync(snap, 0o644);
    fs.appendFileSync(snap, ' ');
    const r = sb.run(['restore', id, sb.file('out2')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/snapshot file .* does not match its name.*\[CORRUPT\]/);
  });
});
