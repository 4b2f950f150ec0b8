/**
 * Input format detection and splitter choice.
 *
 * auto: a stream whose first 512 bytes are a valid tar header is split as tar
 * (docker-archive and OCI archives are tars; image/facts.ts tells which from the members);
 * anything else is stored as a byte stream. raw/tar/docker/oci force the choice.
 */
import { StowageError } from '../errors.js';
import { RawSplitter, type Splitter, type TarHooks } from './events.js';
import { BLOCK, parseHeader } from './tar-header.js';
import { TarSplitter } from './tar-splitter.js';

export type InputFormat = 'auto' | 'raw' | 'tar' | 'docker' | 'oci';
export const INPUT_FORMATS: readonly InputFormat[] = ['auto', 'raw', 'tar', 'docker', 'oci'];

/** Bytes needed to decide (fewer at EOF). */
export const SNIFF_BYTES = BLOCK;

/** A splitter for `format`, looking at the first bytes of the input when auto (`hooks` for a tar splitter). */
export function splitterFor(format: InputFormat, head: Uint8Array, hooks?: TarHooks): { splitter: Splitter; tar: boolean } {
  if (!INPUT_FORMATS.includes(format)) throw new StowageError('INVALID_ARGUMENT', `unknown format "${format}" (use ${INPUT_FORMATS.join(', ')})`);
  const tar = format === 'auto' ? head.length >= BLOCK && parseHeader(head.subarray(0, BLOCK)) !== undefined : format !== 'raw';
  return { splitter: tar ? new TarSplitter(0, 0, hooks) : new RawSplitter(), tar };
}
