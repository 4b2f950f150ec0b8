/**
 * A container root filesystem as a volume: the sample image's layers (scripts/make-sample-image.sh)
 * unpacked into a directory with a static busybox as its shell, snapshotted, restored, compared
 * with rsync -naHAXc, then run: chroot into the restored tree, and `podman import` of the
 * restored tar stream run as a container. With the corpus present (/work/corpus/deb), a real
 * Debian root filesystem too (dpkg's database read inside the chroot).
 * Needs root (chroot, owners); the tools are required under CI=true.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, type Sandbox } from './helpers/cli.js';
import { cleanupPodman, podman } from './helpers/registry.js';

const IS_ROOT = process.getuid?.() === 0;
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p) && spawnSync('sh', ['-c', `ldd ${p} 2>&1 | grep -qE 'not a dynamic|statically'`]).status === 0);
const need = [!IS_ROOT && 'root', !BUSYBOX && 'a static busybox (busybox-static)', spawnSync('sh', ['-c', 'command -v rsync']).status !== 0 && 'rsync'].filter(Boolean);
if (need.length && process.env.CI === 'true') throw new Error(`rootfs tests need ${need.join(', ')}`);
if (need.length) console.log(`skipping rootfs tests: need ${need.join(', ')}`);
const d = need.length ? describe.skip : describe;
const PODMAN = spawnSync('sh', ['-c', 'command -v podman']).status === 0;
const CORPUS = '/work/corpus/deb/v1.rootfs.tar';

function sh(cmd: string, cwd?: string): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

function rsyncDiff(a: string, b: string): string {
  return sh(`rsync -naHAXci --numeric-ids "${a}/" "${b}/"`);
}

d('a container root filesystem as a volume', () => {
  let sb: Sandbox;
  let rootfs: string;
  let snap = '';
  const image = 'localhost/stowage-i11-rootfs:test';
  beforeAll(() => {
    sb = sandbox();
    rootfs = sb.file('rootfs');
    fs.mkdirSync(rootfs);
    sh(`bash ${ROOT}/scripts/make-sample-image.sh ${sb.file('image.tar')} 2`);
    const img = sb.file('img');
    fs.mkdirSync(img);
    sh(`tar -xf ${sb.file('image.tar')} -C ${img}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(img, 'manifest.json'), 'utf8'));
    for (const layer of manifest[0].Layers as string[]) sh(`tar -xpf ${path.join(img, layer)} -C ${rootfs} --numeric-owner`);
    // a shell: the static busybox, its applets as symlinks (as busybox images are built)
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync(BUSYBOX!, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'cat', 'wc', 'sha256sum', 'ls']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    expect(sb.run(['init']).code).toBe(0);
  });
  afterAll(() => {
    if (PODMAN) cleanupPodman(sb.dir);
    sb.cleanup();
  });

  it('snapshot and restore: rsync finds no difference, and the restored tree runs (chroot)', () => {
    // the image first: the volume's files that are in its layers are stored once
    const i = sb.run(['snapshot', sb.file('image.tar'), '--json']);
    expect(i.code, i.stderr).toBe(0);
    const r = sb.run(['snapshot', rootfs, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    snap = j.id;
    const busybox = fs.statSync(BUSYBOX!).size;
    expect(j.size).toBeGreaterThan(busybox + 4_000_000);
    // new: the busybox binary and the tree's metadata, not the files the image layers hold
    expect(j.bytesNew).toBeLessThan(busybox + 200_000);
    const out = sb.file('restored');
    const x = sb.run(['restore', snap, out]);
    expect(x.code, x.stderr).toBe(0);
    expect(rsyncDiff(rootfs, out)).toBe('');
    expect(sh(`chroot ${out} /bin/sh -c 'cat /etc/sample1.conf | wc -l'`).trim()).toBe('20000');
    expect(sh(`chroot ${out} /bin/sha256sum /usr/lib/sample2/lib4.so`).split(' ')[0]).toBe(sh(`sha256sum ${rootfs}/usr/lib/sample2/lib4.so`).split(' ')[0]);
  });

  it('the tar stream imports into podman and runs as a container', () => {
    if (!PODMAN) {
      if (process.env.CI === 'true') throw new Error('podman is needed under CI (scripts/ci-registry-tools.sh installs it)');
      console.log('skipping podman import: podman not installed');
      return;
    }
    const t = sb.run(['restore', snap, '-', '--format', 'tar']);
    expect(t.code, t.stderr).toBe(0);
    fs.writeFileSync(sb.file('rootfs.tar'), t.stdoutBytes);
    const p = podman(sb.dir);
    p(['import', '-q', sb.file('rootfs.tar'), image]);
    const run = p(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', image, '/bin/sh', '-c', 'cat /etc/sample2.conf | wc -l; ls /usr/lib']);
    expect(run.trim().split(/\s+/)).toEqual(['20000', 'sample1', 'sample2']);
  });

  it('a real Debian root filesystem (the corpus, when present) restores and runs dpkg in a chroot', () => {
    if (!fs.existsSync(CORPUS)) {
      console.log(`skipping the Debian root filesystem: ${CORPUS} not present`);
      return;
    }
    const deb = sb.file('debian');
    fs.mkdirSync(deb);
    sh(`tar -xpf ${CORPUS} -C ${deb} --numeric-owner --xattrs --xattrs-include='*'`);
    const r = sb.run(['snapshot', deb, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = sb.file('debian-restored');
    expect(sb.run(['restore', JSON.parse(r.stdout).id, out]).code).toBe(0);
    expect(rsyncDiff(deb, out)).toBe('');
    const count = (root: string) => sh(`chroot ${root} /bin/sh -c 'dpkg-query -W | wc -l'`).trim();
    expect(Number(count(out))).toBeGreaterThan(50);
    expect(count(out)).toBe(count(deb));
  });
});
