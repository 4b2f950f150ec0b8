/**
 * Issue 15 items 5 and 6: one grammar for sizes and durations across options, and output
 * people can rely on (JSON argument errors, -q, one key style).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('one grammar for sizes and durations', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
  });
  afterAll(() => sb.cleanup());

  it('init reads 200MB, 1.5MiB and 256K; 1T is read, then refused as out of range (not as bad grammar)', () => {
    const big = sb.run(['-r', sb.file('r1'), 'init', '--insecure-no-encryption', '--pack-size', '1T']);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/pack size must be between 64.0 KiB and 1.00 GiB, got 1.00 TiB \[INVALID_ARGUMENT\]/);
    const ok = sb.run(['-r', sb.file('r2'), '--json', 'init', '--insecure-no-encryption', '--pack-size', '1.5MiB', '--chunk-avg', '256K']);
    expect(ok.code, ok.stderr).toBe(0);
    const cfg = JSON.parse(ok.stdout).config;
    expect(cfg.packSize).toBe(1.5 * 1024 * 1024);
    expect(cfg.chunker.avgSize).toBe(256 * 1024);
    const dec = sb.run(['-r', sb.file('r3'), '--json', 'init', '--insecure-no-encryption', '--pack-size', '200MB']);
    expect(JSON.parse(dec.stdout).config.packSize).toBe(200_000_000);
    const bad = sb.run(['-r', sb.file('r4'), 'init', '--insecure-no-encryption', '--pack-size', '16Q']);
    expect(bad.stderr).toMatch(/invalid --pack-size "16Q".*powers of 1024.*powers of 1000/);
  });

  it('gc --max-unused takes the same sizes as --pack-size (2T, 200MB, 1.5G)', () => {
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    for (const v of ['2T', '200MB', '1.5G', '5%']) {
      const r = sb.run(['--json', 'gc', '--dry-run', '--max-unused', v]);
      expect(r.code, `${v}: ${r.stderr}`).toBe(0);
    }
    expect(JSON.parse(sb.run(['--json', 'gc', '--dry-run', '--max-unused', '200MB']).stdout).plan.maxUnused).toBe('200000000 bytes');
  });

  it('--retry-lock reads elapsed time (5m = five minutes); --keep-within refuses 5m as ambiguous', () => {
    expect(sb.run(['--retry-lock', '5m', 'snapshots']).code).toBe(0);
    expect(sb.run(['--retry-lock', '1h30m', 'snapshots']).code).toBe(0);
    const bad = sb.run(['--retry-lock', '5mo', 'snapshots']);
    expect(bad.stderr).toMatch(/invalid --retry-lock "5mo"/);
    const kw = sb.run(['forget', '--keep-within', '5m', '--dry-run']);
    expect(kw.code).toBe(1);
    expect(kw.stderr).toMatch(/ambiguous --keep-within "5m".*5mo for months or 5min for minutes \[INVALID_ARGUMENT\]/);
    expect(sb.run(['forget', '--keep-within', '5mo', '--dry-run']).code).toBe(0);
    expect(sb.run(['forget', '--keep-within', '90min', '--dry-run']).code).toBe(0);
  });
});

describe('output people can rely on', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    fs.writeFileSync(sb.file('a.bin'), seededBytes('out', 300_000));
  });
  afterAll(() => sb.cleanup());

  it('--json: argument errors are one JSON object on stderr, whatever goes wrong', () => {
    for (const args of [
      ['--json', 'snapshot', '--bogus', 'x'],
      ['--json', 'restore'],
      ['--json', 'frobnicate'],
      ['init', '--pack-size', 'huge', '--json'],
      ['--json', 'forget', '--keep-last', 'many'],
    ]) {
      const r = sb.run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      const e = JSON.parse(r.stderr).error;
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBeTruthy();
    }
  });

  it('-q prints no summaries for snapshot, restore and gc; requested data still prints', () => {
    const s = sb.run(['-q', 'snapshot', sb.file('a.bin')]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout + s.stderr).toBe('');
    const r = sb.run(['-q', 'restore', 'latest', sb.file('back.bin')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    const g = sb.run(['-q', 'gc']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout + g.stderr).toBe('');
    expect(sb.run(['-q', 'snapshots']).stdout).toMatch(/a\.bin/);
  });

  it('JSON keys are camelCase in every command', () => {
    const docs = [
      sb.run(['--json', 'snapshots']).stdout,
      sb.run(['--json', 'snapshot', sb.file('a.bin'), '--force']).stdout,
      sb.run(['--json', 'gc', '--dry-run']).stdout,
      sb.run(['--json', 'check']).stdout,
    ];
    for (const d of docs) {
      const keys: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            keys.push(k);
            walk(x);
          }
        }
      };
      walk(JSON.parse(d));
      expect(keys.filter((k) => /_/.test(k))).toEqual([]);
    }
    expect(JSON.parse(docs[0]!)[0].shortId).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('-v adds detail on stderr; without it there is none', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('snapshot, restore and gc', () => {
    const input = seededBytes('verbose', 500_000);
    const quiet = sb.run(['snapshot', '-', '--name', 'v'], { input });
    expect(quiet.stderr).toBe('');
    const v = sb.run(['-v', 'snapshot', '-', '--name', 'v', '--tag', 'again'], { input });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/^input: {3}stdin, 488 KiB, sha256 [0-9a-f]{64}$/m);
    expect(v.stderr).toMatch(/^chunks: {2}\d+ \(0 new\), 1 chunk-list blob/m);
    const r = sb.run(['-v', 'restore', 'latest', sb.file('v.out')]);
    expect(r.stderr).toMatch(/^restoring snapshot [0-9a-f]{8} \(v, .*, raw, 488 KiB\) to .*v\.out$/m);
    expect(sb.run(['forget', '--keep-last', '1']).code).toBe(0);
    const g = sb.run(['-v', 'gc']);
    expect(g.stdout).toMatch(/Action +Pack +Size/); // the per-pack table, only with -v on a real run
    expect(sb.run(['gc']).stdout).not.toMatch(/Action +Pack/);
  });
});
