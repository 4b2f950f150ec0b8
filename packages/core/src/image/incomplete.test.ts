/** Issue 15 items 1 and 4: an image archive cut short is still recognised; an image's name becomes the snapshot name. */
import { describe, expect, it } from 'vitest';
import type { ArchiveMember } from '../split/events.js';
import { imageFacts, imageRepository, startedAsImage, type ImageFacts } from './facts.js';

const member = (name: string): ArchiveMember => ({ name, type: name.endsWith('/') ? '5' : '0', offset: 0, size: 0, nestedTar: false });
const hex = (c: string) => c.repeat(64);

describe('startedAsImage: an archive recognised by its first members', () => {
  it('docker save (legacy layout), skopeo docker-archive, and OCI layouts', () => {
    expect(startedAsImage([`./`, `./${hex('a')}/`, `./${hex('a')}/VERSION`, `./${hex('a')}/json`, `./${hex('a')}/layer.tar`].map(member))).toBe('docker');
    expect(startedAsImage([`${hex('b')}.tar`, `${hex('c')}.json`].map(member))).toBe('docker');
    expect(startedAsImage(['blobs/', 'blobs/sha256/', `blobs/sha256/${hex('d')}`].map(member))).toBe('oci');
  });

  it('a plain tar is not an image, nor is a lone index.json', () => {
    expect(startedAsImage(['etc/', 'etc/passwd', `${hex('a')}/layer.tar`].map(member))).toBeUndefined();
    expect(startedAsImage(['index.json'].map(member))).toBeUndefined();
    expect(startedAsImage([])).toBeUndefined();
  });

  it('imageFacts of a docker-archive cut before its manifest.json: incomplete, with a warning', () => {
    const f = imageFacts([`${hex('a')}/`, `${hex('a')}/VERSION`, `${hex('a')}/json`, `${hex('a')}/layer.tar`].map(member));
    expect(f?.kind).toBe('docker');
    expect(f?.incomplete).toBe(true);
    expect(f?.warnings?.[0]).toMatch(/starts as a docker-archive but has no manifest.json/);
    expect(imageFacts(['etc/', 'etc/passwd'].map(member))).toBeUndefined();
  });
});

describe('imageRepository: the default snapshot name of an image archive', () => {
  const facts = (...names: string[]): ImageFacts => ({ kind: 'docker', names, layers: [] });
  it('drops tag and digest, and docker.io/library', () => {
    expect(imageRepository(facts('app:v5'))).toBe('app');
    expect(imageRepository(facts('docker.io/library/app:v5'))).toBe('app');
    expect(imageRepository(facts('docker.io/corpus/deb:v1'))).toBe('corpus/deb');
    expect(imageRepository(facts('localhost:5000/team/app:2026-11-28'))).toBe('localhost:5000/team/app');
    expect(imageRepository(facts('ghcr.io/x/y@sha256:' + hex('e')))).toBe('ghcr.io/x/y');
  });
  it('a bare tag (an OCI ref.name such as "v5") or no name gives none', () => {
    expect(imageRepository(facts('v5'))).toBeUndefined();
    expect(imageRepository(facts())).toBeUndefined();
  });
});
