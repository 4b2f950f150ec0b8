/**
 * Downgrade to plaintext (issue 14, item 2): an encrypted repository whose config is replaced
 * by a plaintext one (keys/, snapshots/ and index/ deleted) must not get plaintext writes.
 * This machine remembers that the repository is encrypted (by id and by location, in the cache
 * root's security/ folder) and refuses with CORRUPT naming the attack; a password given by
 * flag or environment refuses any plaintext repository unless --insecure-plaintext (or
 * STOWAGE_INSECURE_PLAINTEXT=1) says one is meant.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

describe('no downgrade to plaintext', () => {
  let sb: Sandbox;
  let plainConfig: Record<string, unknown>;
  const strict = { STOWAGE_INSECURE_PLAINTEXT: '' }; // the sandbox allows plaintext repositories; these runs do not

  beforeAll(() => {
    sb = sandbox();
    fs.writeFileSync(sb.file('a'), seededBytes('downgrade-a', 300 << 10));
    fs.writeFileSync(sb.file('b'), seededBytes('downgrade-b', 300 << 10));
    const p = sb.run(['init', '--insecure-no-encryption'], { env: { STOWAGE_REPOSITORY: sb.file('plain') } });
    expect(p.code, p.stderr).toBe(0);
    plainConfig = JSON.parse(fs.readFileSync(sb.file('plain/config'), 'utf8'));
  });
  afterAll(() => sb.cleanup());

  /** An encrypted repository with one snapshot; returns its id. */
  function encryptedRepo(repo: string): string {
    const env = { ...strict, STOWAGE_REPOSITORY: repo };
    expect(sb.run(['init'], { env }).code).toBe(0);
    const s = sb.run(['snapshot', sb.file('a'), '-q'], { env });
    expect(s.code, s.stderr).toBe(0);
    return JSON.parse(fs.readFileSync(`${repo}/config`, 'utf8')).id as string;
  }

  /** The attack: a plaintext config (with `id`), and keys/, snapshots/ and index/ emptied. */
  function downgrade(repo: string, id: string): void {
    for (const d of ['keys', 'snapshots', 'index']) for (const f of listFiles(`${repo}/${d}`)) fs.rmSync(f);
    fs.chmodSync(`${repo}/config`, 0o644);
    fs.writeFileSync(`${repo}/config`, JSON.stringify({ ...plainConfig, id }, null, 2) + '\n');
  }

  it('a replaced config with the same id: snapshot is refused with CORRUPT naming the attack; nothing is written', () => {
    const repo = sb.file('r1');
    const id = encryptedRepo(repo);
    downgrade(repo, id);
    const before = listFiles(repo);
    const r = sb.run(['snapshot', sb.file('b')], { env: { STOWAGE_REPOSITORY: repo } }); // even with plaintext allowed: the record wins
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`repository ${id} was encrypted when this machine used it .*but its config now says "no encryption": the config was replaced \\(a downgrade attack.*\\[CORRUPT\\]`),
    );
    expect(listFiles(repo)).toEqual(before);
    // reading commands are refused too
    expect(sb.run(['snapshots'], { env: { STOWAGE_REPOSITORY: repo } }).code).toBe(1);
    // deleting the repository's own cache (its index) does not forget it
    fs.rmSync(sb.file(`cache/${id}`), { recursive: true, force: true });
    expect(sb.run(['snapshot', sb.file('b')], { env: { STOWAGE_REPOSITORY: repo } }).stderr).toMatch(/downgrade attack.*\[CORRUPT\]/);
    expect(listFiles(repo)).toEqual(before);
  });

  it('a replaced config with a new id at the same location is refused too', () => {
    const repo = sb.file('r2');
    const old = encryptedRepo(repo);
    downgrade(repo, 'f'.repeat(64));
    const before = listFiles(repo);
    const r = sb.run(['snapshot', sb.file('b')], { env: { STOWAGE_REPOSITORY: repo } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`the repository at local:${repo} \\(then ${old}, now f{64}\\) was encrypted .*downgrade attack.*\\[CORRUPT\\]`));
    expect(listFiles(repo)).toEqual(before);
  });

  it('on a machine that never saw it: a given password refuses the plaintext config, unless --insecure-plaintext', () => {
    const repo = sb.file('r3');
    const id = encryptedRepo(repo);
    downgrade(repo, id);
    const before = listFiles(repo);
    const fresh = { ...strict, STOWAGE_REPOSITORY: repo, STOWAGE_CACHE_DIR: sb.file('other-cache') };
    const r = sb.run(['snapshot', sb.file('b')], { env: fresh });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /a password was given, but the repository at .* says "no encryption": if it was encrypted, its config was replaced \(a downgrade attack.*pass --insecure-plaintext \[CORRUPT\]/,
    );
    expect(listFiles(repo)).toEqual(before);
    // with --password-file as well
    fs.writeFileSync(sb.file('pw'), 'stowage test password\n');
    expect(sb.run(['--password-file', sb.file('pw'), 'snapshots'], { env: { ...fresh, STOWAGE_PASSWORD: '' } }).stderr).toMatch(/a password was given.*\[CORRUPT\]/);
  });

  it('a real plaintext repository: used without a password, or with one and --insecure-plaintext / STOWAGE_INSECURE_PLAINTEXT=1', () => {
    const env = { ...strict, STOWAGE_REPOSITORY: sb.file('plain') };
    expect(sb.run(['snapshot', sb.file('a'), '-q'], { env: { ...env, STOWAGE_PASSWORD: '' } }).code).toBe(0);
    expect(sb.run(['snapshots'], { env }).code).toBe(1);
    const flag = sb.run(['--insecure-plaintext', 'snapshots', '--json'], { env });
    expect(flag.code, flag.stderr).toBe(0);
    expect(JSON.parse(flag.stdout)).toHaveLength(1);
    expect(sb.run(['snapshots'], { env: { ...env, STOWAGE_INSECURE_PLAINTEXT: '1' } }).code).toBe(0);
  });
});
