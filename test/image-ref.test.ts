/**
 * Naming images, not snapshots (issue 12 item 5): wherever a snapshot is expected, an image
 * reference (`name:tag`, `name@sha256:...`) selects the newest snapshot holding that image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, sha256File, type Sandbox } from './helpers/cli.js';
import { needTools, sh } from './helpers/registry.js';
import type { ImageFacts } from '../packages/core/src/index.js';
import { servedImages } from '../packages/core/src/internal.js';

const tools = needTools('image-ref.test.ts', ['tar', 'openssl']);

describe.skipIf(!tools)('image references select snapshots', () => {
  let sb: Sandbox;
  const ids: Record<string, string> = {};
  const files: Record<string, string> = {};
  let configDigest = '';

  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    for (const v of ['1', '2']) {
      files[v] = sb.file(`app-v${v}.tar`);
      sh('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), files[v]!, v]);
    }
    // sample/app:v1 twice: the second snapshot (of a rebuilt v1: v2's content retagged) is newer
    const retagged = sb.file('app-v1-rebuilt.tar');
    const x = sb.file('x');
    fs.mkdirSync(x);
    sh('tar', ['-C', x, '-xf', files['2']!]);
    const m = fs.readFileSync(path.join(x, 'manifest.json'), 'utf8').replace('sample/app:v2', 'sample/app:v1');
    fs.writeFileSync(path.join(x, 'manifest.json'), m);
    configDigest = `sha256:${(JSON.parse(m) as { Config: string }[])[0]!.Config.replace('.json', '')}`;
    sh('tar', ['--sort=name', '-C', x, '-cf', retagged, '.']);
    files.rebuilt = retagged;
    for (const k of ['1', '2', 'rebuilt']) {
      const r = sb.run(['--json', 'snapshot', files[k]!]);
      expect(r.code, r.stderr).toBe(0);
      ids[k] = (JSON.parse(r.stdout) as { id: string }).id;
    }
  });
  afterAll(() => sb.cleanup());

  it('restore name:tag restores the newest snapshot holding the tag, byte for byte', () => {
    const r = sb.run(['restore', 'sample/app:v1', '-']);
    expect(r.code, r.stderr).toBe(0);
    fs.writeFileSync(sb.file('out.tar'), r.stdoutBytes);
    expect(sha256File(sb.file('out.tar'))).toBe(sha256File(files.rebuilt!));
    expect(r.stderr).toContain(ids.rebuilt!.slice(0, 8));
    // docker.io defaults: docker.io/sample/app:v2 is sample/app:v2
    const r2 = sb.run(['restore', 'docker.io/sample/app:v2', sb.file('v2.tar')]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(sha256File(sb.file('v2.tar'))).toBe(sha256File(files['2']!));
  });

  it('name@sha256: selects by the image id (config digest) or the manifest digest', () => {
    const r = sb.run(['--json', 'ls', `sample/app@${configDigest}`]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { id: string }).id).toBe(ids.rebuilt);
    // the generated manifest digest of a docker-archive (what serve and a push give it)
    const snap = JSON.parse(fs.readFileSync(path.join(sb.repo, 'snapshots', ids['1']!), 'utf8')) as { image: ImageFacts };
    const manifestDigest = servedImages(snap.image)[0]!.manifestDigest;
    const byManifest = sb.run(['--json', 'ls', `sample/app@${manifestDigest}`]);
    expect(byManifest.code, byManifest.stderr).toBe(0);
    expect((JSON.parse(byManifest.stdout) as { id: string }).id).toBe(ids['1']);
    expect(sb.run(['ls', `other/app@${manifestDigest}`]).code).toBe(1);
  });

  it('an image no snapshot holds: NOT_FOUND, exit 1; a malformed one: INVALID_ARGUMENT', () => {
    const r = sb.run(['restore', 'sample/app:v9', '-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no snapshot holds image sample\/app:v9 \[NOT_FOUND\]/);
    expect(r.stdout).toBe('');
    const bad = sb.run(['restore', 'Sample/App:v1', '-']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[INVALID_ARGUMENT\]/);
  });
});
