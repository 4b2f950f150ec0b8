/**
 * A restore of a damaged repository never succeeds silently. Packs are swapped (renamed
 * into each other), truncated or have a bit flipped, in an encrypted and a plaintext
 * repository whose snapshot spans many packs and several restore windows (so failures
 * land while other windows are being read and decoded on the worker threads). Every
 * restore, to a stream and to a file, must fail CORRUPT and leave no target file.
 *
 * 200 restores run through the library in one child process, each opening and closing the
 * repository as the CLI does (a close that never settled used to let the process end with
 * exit 0: the child would then end without its final line); 40 more run through the CLI,
 * to stdout (piped) and to files, four at a time, asserting a non-zero exit.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../packages/core/src/testing/prng.js';
import { ROOT, TEST_PASSWORD, listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';
import { applyDamage, blobBytesEnd } from './helpers/pack-damage.mjs';

import type { Damage } from './helpers/pack-damage.mjs';

function damages(packs: readonly string[], n: number, seed: number): Damage[] {
  const r = prng(seed);
  const pick = () => packs[Math.floor(r() * packs.length)]!;
  const out: Damage[] = [];
  for (let i = 0; i < n; i++) {
    const a = pick();
    const end = blobBytesEnd(a);
    if (i % 3 === 0) {
      let b = pick();
      while (b === a) b = pick();
      out.push({ kind: 'swap', a, b });
    } else if (i % 3 === 1) {
      out.push({ kind: 'truncate', a, size: Math.floor(r() * end) });
    } else {
      out.push({ kind: 'flip', a, at: Math.floor(r() * end), bit: 1 << Math.floor(r() * 8) });
    }
  }
  return out;
}

/**
 * The child: applies each damage to the repository, restores "latest" (to a null stream or
 * to a file), expects CORRUPT and no target file, undoes the damage, and prints one JSON
 * line per run; "done" only after the last run.
 */
const CHILD = `
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
const core = await import(process.env.CORE);
const { repo, cache, password, target, cases } = JSON.parse(fs.readFileSync(process.env.CASES, 'utf8'));
const { applyDamage } = await import(process.env.DAMAGE);
let i = 0;
for (const c of cases) {
  const undo = applyDamage(c.damage);
  const r = await core.Repository.open(new core.LocalBackend(repo), { cacheRoot: cache, ...(password && { password }) });
  let result;
  try {
    const id = await core.resolveSnapshot(r, 'latest');
    if (c.toFile) await core.restoreToFile(r, id, target);
    else await core.restoreToStream(r, id, new Writable({ write(chunk, enc, cb) { setImmediate(cb); } }));
    result = { ok: true };
  } catch (err) {
    result = { ok: false, code: err.code ?? null, message: String(err.message).slice(0, 200) };
  } finally {
    await r.close();
  }
  undo();
  const left = fs.readdirSync(target.slice(0, target.lastIndexOf('/'))).filter((f) => f === 'out' || f.includes('.stowage-'));
  console.log(JSON.stringify({ i: i++, ...c.damage, toFile: c.toFile, ...result, left }));
}
console.log('done');
`;

/** Runs CHILD as a module file (with `node -e` the event loop ran differently: the lost close never showed). */
function runChild(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  fs.writeFileSync(script, CHILD);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('restores of damaged repositories fail loudly', () => {
  let sb: Sandbox;
  const repos: Record<'encrypted' | 'plaintext', string> = { encrypted: '', plaintext: '' };

  beforeAll(() => {
    sb = sandbox();
    // 9 MiB of incompressible bytes and 9 MiB of zeros: about 10 packs of 1 MiB, three
    // restore windows, and codec workers (the snapshot is over 4 MiB)
    fs.writeFileSync(sb.file('input'), Buffer.concat([seededBytes('restore-damaged', 9 << 20), Buffer.alloc(9380800)]));
    for (const kind of ['encrypted', 'plaintext'] as const) {
      const repo = sb.file(`repo-${kind}`);
      const env = { STOWAGE_REPOSITORY: repo };
      const init = sb.run(['init', '--pack-size', '1M', ...(kind === 'plaintext' ? ['--insecure-no-encryption'] : [])], { env });
      expect(init.code, init.stderr).toBe(0);
      const s = sb.run(['snapshot', sb.file('input')], { env });
      expect(s.code, s.stderr).toBe(0);
      repos[kind] = repo;
    }
    expect(listFiles(`${repos.encrypted}/data`).length).toBeGreaterThanOrEqual(8);
  });
  afterAll(() => sb.cleanup());

  it('200 library restores (stream and file; swapped, truncated, flipped packs) all fail CORRUPT, leave no file, and the process ends normally', async () => {
    const results = await Promise.all(
      (['encrypted', 'plaintext'] as const).map(async (kind, k) => {
        const dir = sb.file(`lib-${kind}`);
        fs.mkdirSync(dir);
        const packs = listFiles(`${repos[kind]}/data`);
        const cases = damages(packs, 100, 1400 + k).map((damage, i) => ({ damage, toFile: i % 2 === 1 }));
        fs.writeFileSync(`${dir}/cases.json`, JSON.stringify({ repo: repos[kind], cache: sb.file('cache'), password: kind === 'encrypted' ? TEST_PASSWORD : undefined, target: `${dir}/out`, cases }));
        return runChild(`${dir}/child.mjs`, { CORE: path.join(ROOT, 'packages/core/dist/index.js'), DAMAGE: path.join(ROOT, 'test/helpers/pack-damage.mjs'), CASES: `${dir}/cases.json` });
      }),
    );
    let runs = 0;
    for (const r of results) {
      const lines = r.stdout.trim().split('\n');
      expect(lines.at(-1), `the child ended early (exit ${r.code}) after ${lines.length - 1} runs: ${r.stderr}`).toBe('done');
      expect(r.code).toBe(0);
      for (const line of lines.slice(0, -1)) {
        const run = JSON.parse(line) as { ok: boolean; code: string | null; left: string[] };
        expect(run, line).toMatchObject({ ok: false, code: 'CORRUPT', left: [] });
        runs++;
      }
    }
    expect(runs).toBe(200);
  });

  it('40 CLI restores (stdout piped, and files) all exit 1 with CORRUPT and leave no file', async () => {
    // four copies (two per repository), each damaged once per run in turn; one CLI process per copy at a time
    const copies = (['encrypted', 'plaintext', 'encrypted', 'plaintext'] as const).map((kind, c) => {
      const repo = sb.file(`cli-${c}`);
      fs.cpSync(repos[kind], repo, { recursive: true });
      return { kind, repo, cases: damages(listFiles(`${repo}/data`), 10, 2400 + c) };
    });
    let runs = 0;
    await Promise.all(
      copies.map(async (copy) => {
        {
          for (const [i, d] of copy.cases.entries()) {
            const undo = applyDamage(d);
            const env = { STOWAGE_REPOSITORY: copy.repo, ...(copy.kind === 'plaintext' && { STOWAGE_PASSWORD: '' }) };
            const target = `${copy.repo}.out`;
            const toFile = i % 2 === 1;
            const r = await sb.runAsync(['restore', 'latest', toFile ? target : '-'], { env });
            undo();
            const what = `${copy.kind} ${d.kind} ${path.basename(d.a)} ${toFile ? 'file' : 'stdout'}`;
            expect(r.code, `${what}: ${r.stderr}`).toBe(1);
            expect(r.stderr, what).toMatch(/\[CORRUPT\]\n$/);
            expect(fs.existsSync(target), what).toBe(false);
            expect(
              fs.readdirSync(sb.dir).filter((f) => f.startsWith(`.${path.basename(target)}.stowage-`)),
              what,
            ).toEqual([]);
            runs++;
          }
        }
      }),
    );
    expect(runs).toBe(40);
  });
});
