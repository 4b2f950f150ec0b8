import { describe, expect, it } from 'vitest';
import { formatImageRef, imageNamesOf, isRepositoryName, parseImageRef, repositoryFromName, sameRepository } from './ref.js';
import { generatedManifest, servedImage, OCI_LAYER } from './served.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it('parses repository, tag and digest as docker does', () => {
    expect(parseImageRef('app:v5')).toEqual({ repository: 'app', tag: 'v5' });
    expect(parseImageRef('127.0.0.1:5000/team/app:1.0')).toEqual({ repository: '127.0.0.1:5000/team/app', tag: '1.0' });
    expect(parseImageRef(`team/app@${D}`)).toEqual({ repository: 'team/app', digest: D });
    expect(parseImageRef(`team/app:v1@${D}`)).toEqual({ repository: 'team/app', tag: 'v1', digest: D });
    expect(parseImageRef('localhost:5000/app')).toEqual({ repository: 'localhost:5000/app' });
    expect(formatImageRef({ repository: 'a/b', tag: 't' })).toBe('a/b:t');
  });
  it('rejects what is not a reference', () => {
    for (const bad of ['', 'App:v1', 'app:', 'app@sha256:12', 'a//b:t', ':t', 'app:-x', 'x y:1']) expect(parseImageRef(bad), bad).toBeUndefined();
    expect(isRepositoryName('sample/app')).toBe(true);
    expect(isRepositoryName('Sample/app')).toBe(false);
  });
  it('docker.io defaults name the same repository', () => {
    expect(sameRepository('docker.io/library/debian', 'debian')).toBe(true);
    expect(sameRepository('docker.io/corpus/deb', 'corpus/deb')).toBe(true);
    expect(sameRepository('example.com/x', 'x')).toBe(false);
  });
  it('names of an archive: bare tags belong to the snapshot name, bare repositories get latest', () => {
    expect(imageNamesOf(['sample/app:v2', 'v2', 'other/app'], 'My Image.tar')).toEqual([
      { repository: 'sample/app', tag: 'v2' },
      { repository: 'my-image.tar', tag: 'v2' },
      { repository: 'other/app', tag: 'latest' },
    ]);
    expect(repositoryFromName('???')).toBe('image');
  });
});

describe('served images', () => {
  it('a docker-archive gets a deterministic OCI manifest: config unchanged, layers the uncompressed tars by diff_id', () => {
    const entry = {
      names: ['a/b:t'],
      configDigest: D,
      config: { path: 'c.json', offset: 512, length: 100 },
      layers: [{ path: 'l/layer.tar', offset: 1024, length: 2048, diffId: `sha256:${'cd'.repeat(32)}`, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: 2048 }],
    };
    const a = servedImage('docker', entry)!;
    const b = servedImage('docker', entry)!;
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(a.manifestBytes!.equals(b.manifestBytes!)).toBe(true);
    const m = JSON.parse(a.manifestBytes!.toString()) as { config: { digest: string; size: number }; layers: { digest: string; mediaType: string; size: number }[] };
    expect(m.config).toMatchObject({ digest: D, size: 100 });
    expect(m.layers).toEqual([{ mediaType: OCI_LAYER, digest: `sha256:${'cd'.repeat(32)}`, size: 2048 }]);
    expect(a.manifestBytes!.toString()).toBe(generatedManifest(a.config, a.layers).toString());
    // a layer without a known digest: not servable
    expect(servedImage('docker', { ...entry, layers: [{ ...entry.layers[0]!, diffId: undefined } as never] })).toBeUndefined();
  });
});
