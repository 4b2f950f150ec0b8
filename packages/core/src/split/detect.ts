/**
 * Input format detection and splitter choice.
 *
 * auto: a stream whose first 512 bytes are a valid tar header is split as tar
 * (docker-archive and OCI archives are tars; which one is told by their members);
 * anything else is stored as a byte stream. raw/tar/docker/oci force the choice.
 */
import { StowageError } from '../errors.js';
import { RawSplitter, type ArchiveMember, type Splitter } from './events.js';
import { BLOCK, parseHeader } from './tar-header.js';
import { TarSplitter } from './tar-splitter.js';

export type InputFormat = 'auto' | 'raw' | 'tar' | 'docker' | 'oci';
export const INPUT_FORMATS: readonly InputFormat[] = ['auto', 'raw', 'tar', 'docker', 'oci'];

/** Bytes needed to decide (fewer at EOF). */
export const SNIFF_BYTES = BLOCK;

/** A splitter for `format`, looking at the first bytes of the input when auto. */
export function splitterFor(format: InputFormat, head: Uint8Array): { splitter: Splitter; tar: boolean } {
  if (!INPUT_FORMATS.includes(format)) throw new StowageError('INVALID_ARGUMENT', `unknown format "${format}" (use ${INPUT_FORMATS.join(', ')})`);
  const tar = format === 'auto' ? head.length >= BLOCK && parseHeader(head.subarray(0, BLOCK)) !== undefined : format !== 'raw';
  return { splitter: tar ? new TarSplitter() : new RawSplitter(), tar };
}

/** What kind of archive the members describe: a docker-archive, an OCI image archive, or a plain tar. */
export function archiveKind(members: readonly ArchiveMember[]): 'docker' | 'oci' | 'tar' {
  const names = new Set(members.map((m) => m.name.replace(/^\.\//, '')));
  if (names.has('oci-layout') && names.has('index.json')) return 'oci';
  if (names.has('manifest.json')) return 'docker';
  return 'tar';
}
