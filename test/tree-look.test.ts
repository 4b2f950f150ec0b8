/**
 * Looking inside snapshots: ls of a tree (escaped names, --json lines), diff of two
 * trees (added, removed, changed, metadata only), find across tree and image snapshots,
 * dump of a file (tree, image layers with whiteouts and symlinks followed) and of a
 * directory as a tar stream.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, type Sandbox } from './helpers/cli.js';

function sh(cmd: string, cwd?: string): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

describe('ls, diff, find and dump', () => {
  let sb: Sandbox;
  let src: string;
  let a = '';
  let b = '';
  let img = '';
  beforeAll(() => {
    sb = sandbox();
    src = sb.file('vol');
    fs.mkdirSync(path.join(src, 'conf/nginx'), { recursive: true });
    fs.writeFileSync(path.join(src, 'conf/nginx/nginx.conf'), 'worker_processes 4;\n');
    fs.writeFileSync(path.join(src, 'conf/keep'), 'same\n');
    fs.writeFileSync(path.join(src, 'gone'), 'bye\n');
    fs.writeFileSync(path.join(src, 'odd\nname'), 'x');
    fs.symlinkSync('nginx/nginx.conf', path.join(src, 'conf/current'));
    expect(sb.run(['init']).code).toBe(0);
    a = JSON.parse(sb.run(['snapshot', src, '--json']).stdout).id;
    fs.writeFileSync(path.join(src, 'conf/nginx/nginx.conf'), 'worker_processes 8;\n');
    fs.rmSync(path.join(src, 'gone'));
    fs.writeFileSync(path.join(src, 'new'), 'hello\n');
    fs.chmodSync(path.join(src, 'conf/keep'), 0o600);
    b = JSON.parse(sb.run(['snapshot', src, '--json']).stdout).id;
    // an image whose second layer deletes a file of the first (a whiteout) and adds a symlink
    const work = sb.file('img');
    sh(`bash ${ROOT}/scripts/make-sample-image.sh ${sb.file('base.tar')} 1`);
    fs.mkdirSync(work);
    sh(`tar -xf ${sb.file('base.tar')}`, work);
    const l2 = sb.file('l2');
    fs.mkdirSync(path.join(l2, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(l2, 'etc/.wh.sample1.conf'), '');
    fs.writeFileSync(path.join(l2, 'etc/nginx.conf'), 'from the image\n');
    fs.symlinkSync('../etc/nginx.conf', path.join(l2, 'etc/link.conf'));
    sh(`tar --owner=0 --group=0 -C ${l2} -cf ${work}/layer2.tar . && gzip -n ${work}/layer2.tar`);
    const manifest = JSON.parse(fs.readFileSync(path.join(work, 'manifest.json'), 'utf8'));
    manifest[0].Layers.push('layer2.tar.gz');
    const cfgPath = path.join(work, manifest[0].Config);
    const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
    fs.rmSync(cfgPath);
    cfg.rootfs.diff_ids.push(`sha256:${sh(`gzip -dc ${work}/layer2.tar.gz | sha256sum`).split(' ')[0]}`);
    const cfgText = JSON.stringify(cfg);
    fs.writeFileSync(sb.file('cfg.json'), cfgText);
    manifest[0].Config = `${sh(`sha256sum ${sb.file('cfg.json')}`).split(' ')[0]}.json`;
    fs.writeFileSync(path.join(work, manifest[0].Config), cfgText);
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify(manifest));
    sh(`tar -C ${work} -cf ${sb.file('image.tar')} .`);
    const r = sb.run(['snapshot', sb.file('image.tar'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    img = JSON.parse(r.stdout).id;
    expect(JSON.parse(r.stdout).format).toBe('docker');
  });
  afterAll(() => sb.cleanup());

  it('ls lists every entry (mode, owner, size, mtime, path); names are escaped; --json gives JSON lines', () => {
    const r = sb.run(['ls', a]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual(['conf', 'conf/current -> nginx/nginx.conf', 'conf/keep', 'conf/nginx', 'conf/nginx/nginx.conf', 'gone', 'odd\\nname']);
    expect(lines[2]).toMatch(/^-rw-r--r-- \S+\/\S+ +5 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} conf\/keep$/);
    const sub = sb.run(['ls', a, 'conf/nginx', '--json']);
    const j = sub.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(j.map((e) => [e.path, e.type, e.size])).toEqual([
      ['conf/nginx', 'dir', 0],
      ['conf/nginx/nginx.conf', 'file', 20],
    ]);
    expect(j[1].mode).toBe(0o644);
    expect(j[1].mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('diff lists added, removed, changed and metadata-only changed paths', () => {
    const r = sb.run(['diff', a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['U    conf/keep  (mode)', 'M    conf/nginx/nginx.conf', '-    gone', '+    new']);
    expect(r.stderr).toMatch(/1 added, 1 removed, 1 changed, 1 metadata only/);
    const j = sb
      .run(['diff', a, b, '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(j[0]).toEqual({ kind: 'metadata', path: 'conf/keep', type: 'file', fields: ['mode'] });
    const same = sb.run(['diff', b, b]);
    expect(same.stdout).toBe('');
    const notTree = sb.run(['diff', a, img]);
    expect(notTree.code).toBe(1);
    expect(notTree.stderr).toMatch(/is docker, not a snapshot of directories.*\[INVALID_ARGUMENT\]/);
  });

  it('find searches trees and image layers', () => {
    const r = sb.run(['find', 'nginx.conf', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const hits = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(hits.map((h) => [h.snapshot, h.path])).toEqual([
      [a, 'conf/nginx/nginx.conf'],
      [b, 'conf/nginx/nginx.conf'],
      [img, './etc/nginx.conf'],
    ]);
    expect(hits[2].layer).toBe('layer2.tar.gz');
    const anchored = sb.run(['find', '/conf/keep', '--snapshot', a]);
    expect(anchored.stdout.trim().split('\n')).toHaveLength(1);
    expect(anchored.stderr).toMatch(/1 match in 1 snapshot/);
  });

  it('dump writes a file of a tree, follows a symlink, and a directory as tar', () => {
    expect(sb.run(['dump', a, 'conf/nginx/nginx.conf']).stdout).toBe('worker_processes 4;\n');
    expect(sb.run(['dump', b, '/conf/current']).stdout).toBe('worker_processes 8;\n');
    const t = sb.run(['dump', b, 'conf']);
    expect(t.code, t.stderr).toBe(0);
    fs.writeFileSync(sb.file('conf.tar'), t.stdoutBytes);
    expect(
      sh(`tar -tf ${sb.file('conf.tar')}`)
        .trim()
        .split('\n'),
    ).toEqual(['./', './current', './keep', './nginx/', './nginx/nginx.conf']);
    const missing = sb.run(['dump', b, 'gone']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/gone: no such file or directory in snapshot .*\[NOT_FOUND\]/);
  });

  it('dump gets a file out of an image: layers applied in order, whiteouts honoured, gzip layers read', () => {
    const conf = sb.run(['dump', img, '/etc/nginx.conf']);
    expect(conf.code, conf.stderr).toBe(0);
    expect(conf.stdout).toBe('from the image\n');
    expect(sb.run(['dump', img, 'etc/link.conf']).stdout).toBe('from the image\n');
    const lib = sb.run(['dump', img, 'usr/lib/sample1/lib2.so']);
    expect(lib.code).toBe(0);
    expect(lib.stdoutBytes.length).toBe(800000);
    const whited = sb.run(['dump', img, '/etc/sample1.conf']);
    expect(whited.code).toBe(1);
    expect(whited.stderr).toMatch(/etc\/sample1.conf: no such file in snapshot .*\(its layers applied in order\) \[NOT_FOUND\]/);
  });
});
