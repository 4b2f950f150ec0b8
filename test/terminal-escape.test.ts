/**
 * Terminal escape injection (issue 14, item 8): names from the data are printed with their
 * control characters escaped (C0, DEL, C1), never raw: tar member paths and link targets in
 * `ls --files`, image RepoTags, --name and --tag values in `snapshot` and `snapshots`, and
 * arguments echoed in errors. A hostile tar names a member `evil\x1b]0;pwned\x07.txt` (which
 * would set the terminal title).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
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
