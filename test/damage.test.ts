/**
 * Damage, end to end: a flipped byte in a pack, a truncated pack, a missing pack, a deleted
 * index file. `check` names the damaged pack or blob and the snapshots that depend on it;
 * restoring an affected snapshot fails with CORRUPT and leaves no target file; unaffected
 * snapshots still restore; gc refuses to delete on a damaged repository; `repair index`
 * recovers everything that is in the packs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

interface Finding {
  severity: string;
  kind: string;
  message: string;
  pack?: string;
  blob?: string;
  snapshots?: string[];
}

describe('damage', () => {
  let sb: Sandbox;
  const names = ['a', 'b', 'c'] as const;
  const ids: Record<string, string> = {};
  const packsOf: Record<string, string[]> = {};
  const indexOf: Record<string, string> = {};
  let n = 0;

  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption', '--pack-size', '256K', '--chunk-avg', '16K']).code).toBe(0);
    for (const name of names) {
      fs.writeFileSync(sb.file(name), seededBytes(`damage-${name}`, 1536 << 10));
      const packs = new Set(listFiles(`${sb.repo}/data`));
      const idx = new Set(listFiles(`${sb.repo}/index`));
      const r = sb.run(['snapshot', sb.file(name), '--json']);
      expect(r.code, r.stderr).toBe(0);
      ids[name] = JSON.parse(r.stdout).id;
      packsOf[name] = listFiles(`${sb.repo}/data`).filter((p) => !packs.has(p));
      indexOf[name] = listFiles(`${sb.repo}/index`).filter((p) => !idx.has(p))[0]!;
    }
  });
  afterAll(() => sb.cleanup());

  /** A copy of the pristine repository to damage, with its own cache. */
  function copy(): { repo: string; env: NodeJS.ProcessEnv; rel: (p: string) => string } {
    const dir = sb.file(`copy-${n++}`);
    fs.cpSync(sb.repo, `${dir}/repo`, { recursive: true });
    for (const f of listFiles(`${dir}/repo`)) fs.chmodSync(f, 0o644);
    return { repo: `${dir}/repo`, env: { STOWAGE_REPOSITORY: `${dir}/repo`, STOWAGE_CACHE_DIR: `${dir}/cache` }, rel: (p) => p.replace(sb.repo, `${dir}/repo`) };
  }

  /** The largest pack of snapshot `name` (its first blob is a data chunk). */
  const victimOf = (name: string) => packsOf[name]!.slice().sort((x, y) => fs.statSync(y).size - fs.statSync(x).size)[0]!;

  function checkJson(env: NodeJS.ProcessEnv, args: string[] = []): { code: number; findings: Finding[]; errors: number } {
    const r = sb.run(['check', '--json', ...args], { env });
    const doc = JSON.parse(r.stdout);
    return { code: r.code, findings: doc.findings, errors: doc.errors };
  }

  function expectRestores(env: NodeJS.ProcessEnv, dir: string, ok: readonly string[], broken: readonly string[]): void {
    for (const name of ok) {
      const out = path.join(dir, `${name}.out`);
      const r = sb.run(['restore', ids[name]!, out], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(out).equals(fs.readFileSync(sb.file(name)))).toBe(true);
    }
    for (const name of broken) {
      const out = path.join(dir, `${name}.broken`);
      const r = sb.run(['restore', ids[name]!, out], { env });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/\[CORRUPT\]$/);
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.includes('.stowage-'))).toEqual([]);
    }
  }

  it('a flipped byte: check --read-data names the blob, its pack and snapshot a; a fails to restore, b and c restore', () => {
    const { env, rel, repo } = copy();
    const victim = rel(victimOf('a'));
    const packId = path.basename(victim);
    const fd = fs.openSync(victim, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 100);
    b[0]! ^= 0x10;
    fs.writeSync(fd, b, 0, 1, 100);
    fs.closeSync(fd);

    expect(checkJson(env).errors).toBe(0); // structure is intact
    const c = checkJson(env, ['--read-data']);
    expect(c.code).toBe(1);
    const errs = c.findings.filter((f) => f.severity === 'error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ kind: 'blob-damaged', pack: packId, snapshots: [ids.a] });
    expect(errs[0]!.blob).toMatch(/^[0-9a-f]{64}$/);
    const human = sb.run(['check', '--read-data'], { env });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`error: [blob-damaged] blob ${errs[0]!.blob} in pack ${packId}`);
    expect(human.stdout).toContain(`snapshots affected: ${ids.a!.slice(0, 8)}`);
    expect(human.stderr).toMatch(/check found 1 error .*\[CORRUPT\]/);
    expectRestores(env, path.dirname(repo), ['b', 'c'], ['a']);
  });

  it('a truncated pack: check names the pack and snapshot a; a fails to restore, b and c restore', () => {
    const { env, rel, repo } = copy();
    const victim = rel(victimOf('a'));
    fs.truncateSync(victim, fs.statSync(victim).size >> 1);
    const c = checkJson(env);
    expect(c.code).toBe(1);
    const errs = c.findings.filter((f) => f.severity === 'error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ kind: 'pack-damaged', pack: path.basename(victim), snapshots: [ids.a] });
    expectRestores(env, path.dirname(repo), ['b', 'c'], ['a']);
  });

  it('a missing pack: check names it and snapshot b; gc refuses and deletes nothing; a restores', () => {
    const { env, rel, repo } = copy();
    const victim = rel(victimOf('b'));
    fs.rmSync(victim);
    const c = checkJson(env, ['--read-data']);
    expect(c.code).toBe(1);
    const errs = c.findings.filter((f) => f.severity === 'error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ kind: 'pack-missing', pack: path.basename(victim), snapshots: [ids.b] });
    expect(sb.run(['forget', ids.c!], { env }).code).toBe(0);
    const before = listFiles(repo);
    const g = sb.run(['gc'], { env });
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/gc refuses to run: pack [0-9a-f]{64} is missing .*Nothing was deleted.*\[CORRUPT\]/);
    expect(listFiles(repo)).toEqual(before);
    expectRestores(env, path.dirname(repo), ['a'], ['b']);
  });

  it('a deleted index file: check reports the missing blobs of snapshot c; repair index recovers everything', () => {
    const { env, rel, repo } = copy();
    fs.rmSync(rel(indexOf['c']!));
    const c = checkJson(env);
    expect(c.code).toBe(1);
    const errs = c.findings.filter((f) => f.severity === 'error');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.every((f) => f.kind === 'blob-missing' && f.snapshots?.join() === ids.c)).toBe(true);
    // the packs are still there, unreferenced
    expect(c.findings.filter((f) => f.kind === 'pack-unreferenced').length).toBe(packsOf.c!.length);
    const r = sb.run(['repair', 'index'], { env });
    expect(r.code, r.stderr).toBe(0);
    const after = sb.run(['check', '--read-data'], { env });
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/no errors found$/m);
    expectRestores(env, path.dirname(repo), ['a', 'b', 'c'], []);
  });
});
