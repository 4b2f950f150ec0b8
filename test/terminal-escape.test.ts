/**
 * Terminal escape injection (issue 14, item 8): names from the data are printed with their
 * control characters escaped (C0, DEL, C1), never raw: tar member paths and link targets in
 * `ls --files`, image RepoTags, --name and --tag values in `snapshot` and `snapshots`, and
 * arguments echoed in errors. A hostile tar names a member `evil\x1b]0;pwned\x07.txt` (which
 * would set the terminal title).
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from './helpers/cli.js';

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('no terminal escapes from the data', () => {
  let sb: Sandbox;
  let id: string;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    // a hostile docker-archive: member names, a link target and a RepoTag with escape sequences
    const py = `
import io, json, tarfile, hashlib
def add(t, name, data=b'', link=None):
    i = tarfile.TarInfo(name); i.mtime = 0
    if link is not None: i.type = tarfile.SYMTYPE; i.linkname = link
    else: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if link is None else None)
lb = io.BytesIO()
with tarfile.open(fileobj=lb, mode='w', format=tarfile.PAX_FORMAT) as l:
    add(l, 'evil\\x1b]0;pwned\\x07.txt', b'x' * 100)
    add(l, 'csi\\u009b2J.txt', b'y')
    add(l, 'link', link='\\x1b[31mred')
layer = lb.getvalue(); d = hashlib.sha256(layer).hexdigest()
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + d]}}).encode()
cd = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{'Config': cd + '.json', 'RepoTags': ['evil\\x1b]0;tag\\x07:1'], 'Layers': [d + '/layer.tar']}]).encode()
with tarfile.open('${sb.file('hostile.tar')}', mode='w', format=tarfile.PAX_FORMAT) as t:
    add(t, d + '/layer.tar', layer); add(t, cd + '.json', cfg); add(t, 'manifest.json', man)
`;
    const r = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const s = sb.run(['snapshot', sb.file('hostile.tar'), '--name', 'name\u001b[2J', '--tag', 'tag\u009b1m', '--json']);
    expect([0, 3], s.stderr).toContain(s.code);
    id = JSON.parse(s.stdout).id as string;
  });
  afterAll(() => sb.cleanup());

  it('snapshot and snapshots print names, tags and RepoTags escaped', () => {
    const s = sb.run(['snapshot', sb.file('hostile.tar'), '--force', '--name', 'name\u001b[2J', '--tag', 'tag\u009b1m']);
    expect(s.stdout + s.stderr).not.toMatch(RAW);
    expect(s.stdout).toContain('evil\\x1b]0;tag\\x07:1');
    const list = sb.run(['snapshots']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(RAW);
    expect(list.stdout).toContain('name\\x1b[2J');
    expect(list.stdout).toContain('tag\\x9b1m');
    // --json keeps the real values (JSON escapes C0 itself)
    const json = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { name: string }[];
    expect(json[0]!.name).toBe('name\u001b[2J');
  });

  it('ls --files prints member paths and link targets escaped', () => {
    const r = sb.run(['ls', '--files', id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(RAW);
    expect(r.stdout).toContain('evil\\x1b]0;pwned\\x07.txt');
    expect(r.stdout).toContain('csi\\x9b2J.txt');
    expect(r.stdout).toContain('\\x1b[31mred');
  });

  it('arguments echoed in errors are escaped', () => {
    const r = sb.run(['restore', 'x\u001b]0;pwned\u0007', sb.file('out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RAW);
    expect(r.stderr).toContain('x\\x1b]0;pwned\\x07');
    const u = sb.run(['--bogus\u001b[2J']);
    expect(u.stderr).not.toMatch(RAW);
  });
});

/**
 * The whole audit (issue 14, item 8): a hostile tree (names with ESC, BEL, C1 0x9b, DEL and a
 * newline that would forge an output line; a symlink whose target holds the same; a socket,
 * whose note names it) and hostile --name/--tag/--host values, through every command that
 * prints names: snapshot, snapshots, ls, find, diff, dump, restore, forget, copy, check, gc,
 * and errors echoing arguments. Human output holds no raw control byte and no line
 * a name forged; --json output parses back to the exact names.
 */
describe('no terminal escapes from a hostile tree and hostile names', () => {
  const NL = 'nl\nforged line.txt';
  const NAMES = ['esc\u001b]0;pwned\u0007.txt', 'csi\u009b2J.txt', 'del\u007f.txt', NL];
  const DIR = 'dir\u001b[31m';
  const LINK = 'ln\u001b[5m';
  const TARGET = '\u001b[2Jtarget\nforged';
  const SOCK = 'sock\u009b5m';
  const NAME = 'name\u001b]0;t\u0007\nforged';
  const TAG = 'tag\u009b1m';
  const HOST = 'host\u001b[2J\u007f';
  let sb: Sandbox;
  let src: string;
  let first: string;
  let second: string;
  const FORGED = /^(stowage: (warning: |note: )?)?forged/m;
  /** Human output: no raw control byte, no forged line. */
  const clean = (r: { stdout: string; stderr: string }, what: string) => {
    expect(r.stdout + r.stderr, what).not.toMatch(RAW);
    expect(r.stdout + r.stderr, what).not.toMatch(FORGED);
  };
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    src = sb.file('src');
    fs.mkdirSync(`${src}/${DIR}`, { recursive: true });
    for (const n of NAMES) fs.writeFileSync(`${src}/${n}`, `content of ${n}`);
    fs.writeFileSync(`${src}/${DIR}/inner\u0007`, 'inner');
    fs.symlinkSync(TARGET, `${src}/${LINK}`);
    const py = spawnSync('python3', ['-c', `import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])`, `${src}/${SOCK}`]);
    expect(py.status, py.stderr?.toString()).toBe(0);
    const a = sb.run(['snapshot', src, '--name', NAME, '--tag', TAG, '--host', HOST]);
    expect(a.code, a.stderr).toBe(0);
    clean(a, 'snapshot');
    expect(a.stdout).toContain('name\\x1b]0;t\\x07\\nforged');
    expect(a.stderr).toContain('sock\\x9b5m'); // the socket's note names it, escaped
    fs.writeFileSync(`${src}/new\u001b[1m`, 'new');
    fs.writeFileSync(`${src}/${NAMES[0]}`, 'changed');
    const b = sb.run(['snapshot', src, '--name', NAME, '--tag', TAG, '--host', HOST, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const js = JSON.parse(b.stdout);
    expect([js.name, js.tags, js.hostname]).toEqual([NAME, [TAG], HOST]);
    second = js.id;
    first = (JSON.parse(sb.run(['snapshots', '--json']).stdout) as { id: string }[])[0]!.id;
  });
  afterAll(() => sb.cleanup());

  it('snapshots, snapshots with filters, forget --dry-run: names, tags and hosts escaped; --json exact', () => {
    for (const args of [['snapshots'], ['snapshots', '--tag', TAG], ['snapshots', '--name', NAME, '--host', HOST], ['forget', '--dry-run', '--keep-last', '1', '--group-by', 'name,host']]) {
      const r = sb.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      clean(r, args.join(' '));
    }
    const t = sb.run(['snapshots']).stdout;
    expect(t).toContain('name\\x1b]0;t\\x07\\nforged');
    expect(t).toContain('tag\\x9b1m');
    expect(t).toContain('host\\x1b[2J\\x7f');
    const none = sb.run(['snapshots', '--tag', 'x\nforged\u001b[2J']);
    clean(none, 'snapshots --tag hostile');
    const json = JSON.parse(sb.run(['snapshots', '--json']).stdout) as { name: string; tags: string[]; hostname: string }[];
    expect(json.map((s) => [s.name, s.tags, s.hostname])).toEqual([
      [NAME, [TAG], HOST],
      [NAME, [TAG], HOST],
    ]);
  });

  it('ls, find, diff, dump of the hostile tree: escaped; --json gives the exact names', () => {
    for (const args of [
      ['ls', second],
      ['ls', second, DIR],
      ['find', '*'],
      ['find', 'esc*'],
      ['diff', first, second],
      ['ls', '-v', second],
    ]) {
      const r = sb.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      clean(r, args.join(' '));
    }
    const ls = sb.run(['ls', second]).stdout;
    expect(ls).toContain('esc\\x1b]0;pwned\\x07.txt');
    expect(ls).toContain('csi\\x9b2J.txt');
    expect(ls).toContain('del\\x7f.txt');
    expect(ls).toContain('nl\\nforged line.txt');
    expect(ls).toContain('\\x1b[2Jtarget\\nforged');
    const paths = (args: string[]) =>
      sb
        .run(args)
        .stdout.trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { path: string; linkname?: string });
    const lsJ = paths(['ls', second, '--json']);
    for (const n of [...NAMES, LINK, DIR, 'new\u001b[1m']) expect(lsJ.map((e) => e.path.replace(/^\//, ''))).toContain(n);
    expect(lsJ.find((e) => e.path.endsWith(LINK))!.linkname).toBe(TARGET);
    expect(paths(['find', 'csi*', '--json']).map((e) => e.path.replace(/^.*\//, ''))).toContain('csi\u009b2J.txt');
    const diff = paths(['diff', first, second, '--json']).map((e) => e.path.replace(/^\//, ''));
    expect(diff).toContain('new\u001b[1m');
    expect(diff).toContain(NAMES[0]);
    // dump: a file's bytes (the data itself, not escaped); a missing hostile path: an escaped error
    const dump = sb.run(['dump', second, `/${NL}`]);
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout).toBe(`content of ${NL}`);
    const missing = sb.run(['dump', second, '/missing\u001b]0;x\u0007\nforged']);
    expect(missing.code).toBe(1);
    clean(missing, 'dump missing');
    expect(missing.stderr).toMatch(/missing\\x1b\]0;x\\x07\\nforged: no such file .*\[NOT_FOUND\]/);
  });

  it('restore, copy, check, gc and errors echoing arguments: escaped', () => {
    const target = sb.file(`out\u001b[2J\nforged`);
    for (const args of [['restore', second, target], ['restore', `${second}:${DIR}`, sb.file('out2')], ['-v', 'restore', second, sb.file('out3')], ['check'], ['gc', '--dry-run']]) {
      const r = sb.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      clean(r, args.join(' '));
    }
    expect(fs.readFileSync(`${target}/${NL}`, 'utf8')).toBe(`content of ${NL}`);
    const other = sb.file('other');
    expect(sb.run(['-r', other, 'init', '--insecure-no-encryption']).code).toBe(0);
    for (const args of [
      ['-r', other, 'copy', '--from-repo', sb.repo],
      ['-r', other, '-v', 'copy', '--from-repo', sb.repo],
    ]) {
      const r = sb.run(args);
      clean(r, args.join(' '));
    }
    for (const args of [
      ['restore', 'nope\u001b]0;x\u0007\nforged', sb.file('o4')],
      ['ls', second, 'missing\u009b\nforged'],
      ['snapshot', sb.file('missing\u001b[2J\nforged')],
      ['forget', '--keep-last', 'x\nforged\u001b[2J'],
      ['--json', 'ls', second, 'missing\u009b'],
    ]) {
      const r = sb.run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      clean(r, args.join(' '));
    }
    expect(JSON.parse(sb.run(['--json', 'ls', second, 'missing\u009b']).stderr).error.message).toContain('missing\u009b');
  });
});
