/**
 * Encrypted repositories end to end: encrypted by default, nothing of the input readable
 * in the repository, keyed ids, key rotation, wrong and missing passwords, tampering
 * with every kind of file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, Repository, loadSnapshot } from '../packages/core/dist/index.js';
import { readChunkLists } from '../packages/core/dist/internal.js';
import { BIN, TEST_PASSWORD, listFiles, sandbox, seededBytes, type RunResult, type Sandbox } from './helpers/cli.js';

const MARKER = 'stowage-secret-marker-3f9a1c7e';

function oneLine(r: RunResult): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

/** Input with the marker in incompressible and in compressible parts (zstd keeps literals of the latter). */
function markedInput(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 24; i++) {
    parts.push(seededBytes(`enc-${i}`, 200_000), Buffer.from(`${MARKER} part ${i}\n`));
    parts.push(Buffer.from(`${MARKER}\n`.repeat(i % 3 === 0 ? 2000 : 1)), Buffer.from(`text line ${i} `.repeat(3000)));
  }
  return Buffer.concat(parts);
}

/** The forms of the marker we look for: plain, hex, and base64 at each of the three alignments. */
function markerForms(): string[] {
  const m = Buffer.from(MARKER);
  const forms = [MARKER, m.toString('hex')];
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad, 0x20), m]).toString('base64');
    // drop the characters that depend on the padding and on what follows
    forms.push(b64.slice(Math.ceil((pad * 4) / 3) + 1, -4));
  }
  return forms;
}

function filesContaining(root: string, forms: readonly string[]): string[] {
  const hits: string[] = [];
  for (const f of listFiles(root)) {
    const text = fs.readFileSync(f).toString('latin1');
    if (forms.some((m) => text.includes(m))) hits.push(path.relative(root, f));
  }
  return hits;
}

/** Flips one bit of a repository file in place (files are stored read-only). */
function flip(file: string, at: number): void {
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0]! ^= 0x10;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
}

/** Flips one bit and renames the file to the BLAKE3 of its new bytes, as a forger would (so only the AEAD can tell). */
async function forge(file: string, at: number): Promise<string> {
  flip(file, at);
  const { blake3Hex } = await import('../packages/core/dist/internal.js');
  const name = blake3Hex(fs.readFileSync(file));
  const to = path.join(path.dirname(file), name);
  fs.renameSync(file, to);
  return name;
}

async function chunkRefs(repoDir: string, cacheRoot: string, password: string): Promise<{ id: string; length: number }[]> {
  const repo = await Repository.open(new LocalBackend(repoDir), { cacheRoot, password });
  try {
    const out: { id: string; length: number }[] = [];
    for (const name of await repo.listNames('snapshot')) {
      const snap = await loadSnapshot(repo, name);
      for await (const list of readChunkLists(repo, snap.content.lists)) for (const r of list) out.push({ id: r.id.toString('hex'), length: r.length });
    }
    return out;
  } finally {
    await repo.close();
  }
}

describe('encrypted repositories', () => {
  let sb: Sandbox;
  let input: Buffer;
  let snapId = '';
  beforeAll(() => {
    sb = sandbox();
    input = markedInput();
    fs.writeFileSync(sb.file(`${MARKER}.tar`), input);
  });
  afterAll(() => sb.cleanup());

  it('init encrypts by default; without a password it says how to give one', () => {
    const none = sb.run(['init'], { env: { STOWAGE_PASSWORD: undefined } });
    expect(none.code).toBe(1);
    expect(oneLine(none)).toMatch(/^stowage: .*needs a password: .*STOWAGE_PASSWORD.*--password-file.*--insecure-no-encryption.*\[PASSWORD_REQUIRED\]$/);
    expect(fs.existsSync(sb.repo)).toBe(false);
    const r = sb.run(['init', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.encrypted).toBe(true);
    expect(j.key).toMatch(/^[0-9a-f]{64}$/);
    const config = JSON.parse(fs.readFileSync(`${sb.repo}/config`, 'utf8'));
    expect(config.encryption).toEqual({ algorithm: 'aes-256-gcm', kdf: 'scrypt' });
    expect(config.hash).toBe('blake3-keyed');
    expect(config.chunker.seed).toBe('0');
    expect(fs.readdirSync(`${sb.repo}/keys`)).toEqual([j.key]);
  });

  it('snapshot and restore work with the password; the marker appears nowhere in the repository, in any form', () => {
    const s = sb.run(['snapshot', sb.file(`${MARKER}.tar`), '--json', '--tag', MARKER, '--host', MARKER]);
    expect(s.code, s.stderr).toBe(0);
    snapId = JSON.parse(s.stdout).id;
    const piped = sb.run(['snapshot', '-', '--name', MARKER, '--json'], { input });
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout).bytesNew).toBe(0); // deduplicated under the keyed ids
    const r = sb.run(['restore', snapId, sb.file('out.tar')]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(sb.file('out.tar')).equals(input)).toBe(true);
    const list = JSON.parse(sb.run(['snapshots', '--json']).stdout);
    expect(list.map((x: { name: string }) => x.name).sort()).toEqual([`${MARKER}.tar`, MARKER].sort());

    const files = listFiles(sb.repo);
    expect(files.some((f) => f.includes('/data/'))).toBe(true);
    expect(files.some((f) => f.includes('/index/'))).toBe(true);
    expect(files.filter((f) => f.includes('/snapshots/'))).toHaveLength(2);
    expect(filesContaining(sb.repo, markerForms())).toEqual([]);
    const sha = JSON.parse(s.stdout).sha256 as string;
    expect(filesContaining(sb.repo, [sha, Buffer.from(sha, 'hex').toString('latin1')])).toEqual([]);
  });

  it('control: in a plaintext repository the same scan finds the marker', () => {
    const plain = sb.file('plain-repo');
    expect(sb.run(['-r', plain, 'init', '--insecure-no-encryption']).code).toBe(0);
    const s = sb.run(['-r', plain, 'snapshot', sb.file(`${MARKER}.tar`), '--tag', MARKER]);
    expect(s.code, s.stderr).toBe(0);
    const hits = filesContaining(plain, markerForms());
    expect(hits.some((f) => f.startsWith('data/'))).toBe(true);
    expect(hits.some((f) => f.startsWith('snapshots/'))).toBe(true);
  });

  it('the same input in two repositories with the same password gets different chunk ids and cuts', async () => {
    const other = sb.file('other-repo');
    expect(sb.run(['-r', other, 'init']).code).toBe(0);
    expect(sb.run(['-r', other, 'snapshot', sb.file(`${MARKER}.tar`)]).code).toBe(0);
    const a = await chunkRefs(sb.repo, sb.file('lib-cache'), TEST_PASSWORD);
    const b = await chunkRefs(other, sb.file('lib-cache'), TEST_PASSWORD);
    expect(a.length).toBeGreaterThan(10);
    const idsA = new Set(a.map((r) => r.id));
    expect(b.filter((r) => idsA.has(r.id))).toEqual([]);
    expect(b.map((r) => r.length)).not.toEqual(a.slice(0, b.length).map((r) => r.length));
    expect(fs.readdirSync(`${sb.repo}/snapshots`).filter((n) => fs.existsSync(`${other}/snapshots/${n}`))).toEqual([]);
  });

  it('a wrong password: exit 12, one line, well under 2 s (default scrypt cost)', () => {
    const strong = sb.file('strong-repo');
    expect(sb.run(['-r', strong, 'init'], { env: { STOWAGE_TEST_KDF: undefined } }).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(`${strong}/keys/${fs.readdirSync(`${strong}/keys`)[0]}`, 'utf8')).kdf.N).toBe(65536);
    const r = sb.run(['-r', strong, 'snapshots'], { env: { STOWAGE_PASSWORD: 'not the password' } });
    expect(r.code).toBe(12);
    expect(oneLine(r)).toMatch(/^stowage: wrong password.*\[WRONG_PASSWORD\]$/);
    // "well under 2 s" in CPU-seconds of the command (bash's time: user + sys), which is what the
    // command costs; its wall time on a machine busy with other work measures the machine
    const timed = spawnSync('bash', ['-c', 'TIMEFORMAT="%3U %3S"; { time "$@" >/dev/null 2>&1; } 2>&1', 'bash', process.execPath, BIN, '-r', strong, 'snapshots'], {
      env: { ...sb.env, STOWAGE_PASSWORD: 'not the password' },
      encoding: 'utf8',
    });
    const [user, sys] = timed.stdout.trim().split(' ').map(Number);
    expect(user! + sys!, timed.stdout).toBeLessThan(2);
    const j = sb.run(['--json', '-r', strong, 'restore', 'latest', sb.file('x')], { env: { STOWAGE_PASSWORD: 'nope' } });
    expect(j.code).toBe(12);
    expect(JSON.parse(j.stderr).error.code).toBe('WRONG_PASSWORD');
  });

  it('no password for an encrypted repository: exit 1, PASSWORD_REQUIRED saying how to give one', () => {
    const r = sb.run(['snapshots'], { env: { STOWAGE_PASSWORD: undefined } });
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/^stowage: the repository is encrypted.*STOWAGE_PASSWORD.*--password-file.*\[PASSWORD_REQUIRED\]$/);
  });

  it('the password from --password-file or STOWAGE_PASSWORD_FILE (one trailing newline dropped)', () => {
    fs.writeFileSync(sb.file('pw'), `${TEST_PASSWORD}\n`);
    const a = sb.run(['--password-file', sb.file('pw'), 'snapshots', '--json'], { env: { STOWAGE_PASSWORD: 'wrong' } });
    expect(a.code, a.stderr).toBe(0);
    const b = sb.run(['snapshots', '--json'], { env: { STOWAGE_PASSWORD: undefined, STOWAGE_PASSWORD_FILE: sb.file('pw') } });
    expect(b.code, b.stderr).toBe(0);
    const c = sb.run(['--password-file', sb.file('missing'), 'snapshots']);
    expect(c.code).toBe(1);
    expect(oneLine(c)).toMatch(/cannot read password file .*missing: no such file.*\[INVALID_ARGUMENT\]/);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('on a terminal the password is asked for, without echo (twice at init)', () => {
    // script(1) runs the CLI on a pseudo-terminal fed from our pipe
    const tty = (args: string, typed: string, repo: string): { code: number; out: string } => {
      const env = { ...sb.env, STOWAGE_PASSWORD: undefined, STOWAGE_REPOSITORY: repo };
      const r = spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" ${args}`, '/dev/null'], { env, input: typed });
      return { code: r.status ?? -1, out: r.stdout.toString() };
    };
    const repo = sb.file('tty-repo');
    const init = tty('init', 'typed pw\rtyped pw\r', repo);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toMatch(/enter password for new repository: .*\n.*enter the password again: .*\n.*created stowage repository/s);
    const mismatch = tty('init', 'one\rtwo\r', sb.file('tty-repo-2'));
    expect(mismatch.code).toBe(1);
    expect(mismatch.out).toMatch(/passwords do not match.*\[INVALID_ARGUMENT\]/);
    expect(tty('snapshots', 'typed pw\r', repo).code).toBe(0);
    expect(tty('snapshots', 'not it\r', repo).code).toBe(12);
  });

  it('key rotation: add a key, remove the old one; every snapshot reads with the new password, none with the old', () => {
    const NEW = 'the new password';
    const before = JSON.parse(sb.run(['key', 'list', '--json']).stdout) as { id: string; current: boolean }[];
    expect(before).toHaveLength(1);
    const old = before[0]!.id;
    const add = sb.run(['key', 'add', '--json'], { env: { STOWAGE_NEW_PASSWORD: NEW } });
    expect(add.code, add.stderr).toBe(0);
    const added = JSON.parse(add.stdout).id as string;
    const list = JSON.parse(sb.run(['key', 'list', '--json']).stdout) as { id: string; current: boolean }[];
    expect(list.map((k) => [k.id, k.current]).sort()).toEqual(
      [
        [old, true],
        [added, false],
      ].sort(),
    );
    expect(sb.run(['key', 'list']).stdout).toMatch(new RegExp(`\\*\\s+${old.slice(0, 8)}`));
    // the key in use is not removed
    const inUse = sb.run(['key', 'remove', old.slice(0, 8)]);
    expect(inUse.code).toBe(1);
    expect(oneLine(inUse)).toMatch(/key in use.*\[INVALID_ARGUMENT\]/);
    const rm = sb.run(['key', 'remove', old.slice(0, 8)], { env: { STOWAGE_PASSWORD: NEW } });
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toMatch(`removed key ${old.slice(0, 8)}`);
    expect(fs.readdirSync(`${sb.repo}/keys`)).toEqual([added]);

    const snaps = JSON.parse(sb.run(['snapshots', '--json'], { env: { STOWAGE_PASSWORD: NEW } }).stdout) as { id: string; size: number }[];
    expect(snaps).toHaveLength(2);
    for (const s of snaps) {
      const out = sb.file(`rot-${s.id}`);
      const r = sb.run(['restore', s.id, out], { env: { STOWAGE_PASSWORD: NEW } });
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(out).equals(input)).toBe(true);
      const withOld = sb.run(['restore', s.id, sb.file('never')]);
      expect(withOld.code).toBe(12);
    }
    expect(sb.run(['snapshots']).code).toBe(12);
    expect(fs.existsSync(sb.file('never'))).toBe(false);

    // the last key is never removed
    const last = sb.run(['key', 'remove', added], { env: { STOWAGE_PASSWORD: NEW } });
    expect(last.code).toBe(1);
    expect(fs.readdirSync(`${sb.repo}/keys`)).toEqual([added]);

    // passwd: a new key replaces the one in use
    fs.writeFileSync(sb.file('newer'), 'newer password\n');
    const pw = sb.run(['key', 'passwd', '--new-password-file', sb.file('newer')], { env: { STOWAGE_PASSWORD: NEW } });
    expect(pw.code, pw.stderr).toBe(0);
    expect(pw.stdout).toMatch(/changed password: key [0-9a-f]{8} replaces key [0-9a-f]{8}/);
    expect(sb.run(['snapshots'], { env: { STOWAGE_PASSWORD: NEW } }).code).toBe(12);
    expect(sb.run(['snapshots', '--json'], { env: { STOWAGE_PASSWORD: 'newer password' } }).code).toBe(0);
    // back to the sandbox password for the tests below
    expect(sb.run(['key', 'passwd'], { env: { STOWAGE_PASSWORD: 'newer password', STOWAGE_NEW_PASSWORD: TEST_PASSWORD } }).code).toBe(0);
  });

  it('key commands on a plaintext repository: there are no keys', () => {
    const r = sb.run(['-r', sb.file('plain-repo'), 'key', 'add'], { env: { STOWAGE_NEW_PASSWORD: 'x' } });
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/not encrypted.*\[INVALID_ARGUMENT\]/);
  });

  describe('tampering: every damaged file is CORRUPT naming it, never decrypted garbage', () => {
    let n = 0;
    /** A private copy of the repository and its own cache, so each case starts intact. */
    const copy = (): { repo: string; env: NodeJS.ProcessEnv } => {
      const repo = sb.file(`tamper-${++n}`);
      fs.cpSync(sb.repo, repo, { recursive: true });
      return { repo, env: { STOWAGE_REPOSITORY: repo, STOWAGE_CACHE_DIR: sb.file(`tamper-cache-${n}`) } };
    };
    const corrupt = (r: RunResult, what: RegExp): void => {
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r)).toMatch(what);
      expect(r.stderr).toMatch(/\[CORRUPT\]$/m);
    };

    it('a blob in a pack', () => {
      const c = copy();
      const pack = listFiles(`${c.repo}/data`).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
      flip(pack, 5000);
      const r = sb.run(['restore', snapId, sb.file('t-out')], { env: c.env });
      corrupt(r, new RegExp(`blob [0-9a-f]{64} in pack ${path.basename(pack)}: .*authentication failed`));
      expect(fs.existsSync(sb.file('t-out'))).toBe(false);
    });

    it('a pack trailer', () => {
      const c = copy();
      const pack = listFiles(`${c.repo}/data`)[0]!;
      flip(pack, fs.statSync(pack).size - 12 - 20);
      const r = sb.run(['repair', 'index', '--json'], { env: c.env });
      expect(r.code, r.stderr).toBe(3);
      const j = JSON.parse(r.stdout);
      expect(j.damagedPacks).toEqual([{ pack: path.basename(pack), error: expect.stringMatching(/trailer: authentication failed/) }]);
    });

    it('an index file, in place and forged under its new hash', async () => {
      const c = copy();
      const idx = listFiles(`${c.repo}/index`)[0]!;
      flip(idx, 40);
      corrupt(sb.run(['restore', snapId, sb.file('t-out')], { env: c.env }), new RegExp(`index file ${path.basename(idx)}: content does not match its name`));
      const d = copy();
      const name = await forge(listFiles(`${d.repo}/index`)[0]!, 40);
      corrupt(sb.run(['restore', snapId, sb.file('t-out')], { env: d.env }), new RegExp(`index file ${name}: authentication failed`));
    });

    it('a snapshot file, in place and forged under its new hash', async () => {
      const c = copy();
      flip(`${c.repo}/snapshots/${snapId}`, 30);
      corrupt(sb.run(['restore', snapId, sb.file('t-out')], { env: c.env }), new RegExp(`snapshot file ${snapId}: content does not match its name`));
      const d = copy();
      const name = await forge(`${d.repo}/snapshots/${snapId}`, 30);
      corrupt(sb.run(['snapshots'], { env: d.env }), new RegExp(`snapshot file ${name}: authentication failed`));
    });

    it('a key file: CORRUPT naming it (exit 1), not a wrong password', () => {
      const c = copy();
      const key = listFiles(`${c.repo}/keys`)[0]!;
      for (const at of [3, 200, fs.statSync(key).size - 10]) {
        flip(key, at);
        corrupt(sb.run(['snapshots'], { env: c.env }), new RegExp(`key file ${path.basename(key)}: content does not match its name`));
        corrupt(sb.run(['snapshots'], { env: { ...c.env, STOWAGE_PASSWORD: 'wrong' } }), new RegExp(`key file ${path.basename(key)}`));
        flip(key, at);
      }
      expect(sb.run(['snapshots'], { env: c.env }).code).toBe(0);
    });
  });
});
