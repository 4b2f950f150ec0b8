/**
 * Repository layout, version 1 (the same on every backend):
 *
 * ```
 * config                 format version, repository id, chunker params, hash, compression, encryption
 * keys/<id>              encrypted repositories: KDF params, salt, wrapped master keys
 * data/<2 hex>/<pack id> packs
 * index/<id>             index files
 * snapshots/<id>         snapshot files
 * locks/<id>             lock files
 * ```
 */
import type { FileType, Handle } from './backend.js';

const DIRS: Record<FileType, string> = {
  config: '',
  key: 'keys',
  pack: 'data',
  index: 'index',
  snapshot: 'snapshots',
  lock: 'locks',
};

/** Top-level directory of a type ('' for config). */
export function dirOf(type: FileType): string {
  return DIRS[type];
}

/** Relative path ("/"-separated) of a file in the repository. */
export function pathOf(h: Handle): string {
  if (h.type === 'config') return 'config';
  if (h.type === 'pack') return `data/${h.name.slice(0, 2)}/${h.name}`;
  return `${DIRS[h.type]}/${h.name}`;
}

/** File names must be plain: no separators, no dot files, nothing that escapes the directory. */
export function checkName(h: Handle): void {
  if (h.type === 'config') {
    if (h.name !== 'config') throw new TypeError(`config handle must be named "config", got ${JSON.stringify(h.name)}`);
    return;
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,199}$/.test(h.name)) throw new TypeError(`invalid file name ${JSON.stringify(h.name)}`);
  if (h.type === 'pack' && h.name.length < 2) throw new TypeError(`pack name too short: ${h.name}`);
}
