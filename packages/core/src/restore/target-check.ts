/**
 * Restore targets are checked before any work (before a byte is read from the repository):
 *
 * - an existing target must be a regular file (or a symlink to one), and is refused unless
 *   `overwrite` (TARGET_EXISTS); a directory, device, FIFO or socket is refused
 *   (TARGET_UNWRITABLE: restoring "onto" /dev/null or a folder is never what was meant; use
 *   "-" and a redirection for a stream);
 * - the parent folder must exist (TARGET_UNWRITABLE naming it, unless `mkdir`: then it is
 *   created, with its parents, and `created` names the first folder made), be a folder, and
 *   be writable (a temp file is created there, then the target appears by rename or link).
 *
 * The restore itself checks again as it puts the file in place (a target may appear meanwhile).
 */
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { StowageError } from '../errors.js';
import { mkdirs } from '../util/mkdirs.js';

export interface TargetCheckOptions {
  /** Replace an existing regular file. */
  readonly overwrite?: boolean;
  /** Create a missing parent folder (and its parents). */
  readonly mkdir?: boolean;
}

export interface TargetCheck {
  /** The absolute target path. */
  readonly target: string;
  /** The first folder `mkdir` created, when it created one. */
  readonly created?: string;
}

const KIND: [(s: import('node:fs').Stats) => boolean, string][] = [
  [(s) => s.isDirectory(), 'a folder'],
  [(s) => s.isCharacterDevice() || s.isBlockDevice(), 'a device'],
  [(s) => s.isFIFO(), 'a FIFO'],
  [(s) => s.isSocket(), 'a socket'],
];

/** Checks (and with `mkdir` prepares) a restore target file. See the module comment. */
export async function checkRestoreTarget(target: string, opts: TargetCheckOptions = {}): Promise<TargetCheck> {
  const abs = path.resolve(target);
  const lst = await fs.lstat(abs).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(unwritable(abs, err))));
  if (lst) {
    const st = lst.isSymbolicLink() ? await fs.stat(abs).catch(() => lst) : lst; // what a link points to (a dangling one: the link)
    const kind = KIND.find(([is]) => is(st))?.[1];
    if (kind) throw new StowageError('TARGET_UNWRITABLE', `restore target ${abs} is ${kind}: give a file path to create (or - to write to stdout)`);
    if (!opts.overwrite) throw new StowageError('TARGET_EXISTS', `target ${abs} exists (use --overwrite to replace it)`);
  }
  const dir = path.dirname(abs);
  let created: string | undefined;
  const dst = await fs.stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(unwritable(abs, err))));
  if (!dst) {
    if (!opts.mkdir) throw new StowageError('TARGET_UNWRITABLE', `cannot restore to ${abs}: folder ${dir} does not exist (create it, or use --mkdir)`);
    try {
      created = await mkdirs(dir);
    } catch (err) {
      throw unwritable(abs, err as NodeJS.ErrnoException);
    }
  } else if (!dst.isDirectory()) {
    throw new StowageError('TARGET_UNWRITABLE', `cannot restore to ${abs}: ${dir} is not a folder`);
  }
  try {
    await fs.access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StowageError('TARGET_UNWRITABLE', `cannot restore to ${abs}: folder ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'denied'})`, { cause: err });
  }
  return { target: abs, ...(created && { created }) };
}

function unwritable(abs: string, err: NodeJS.ErrnoException): StowageError {
  const why = err.code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new StowageError('TARGET_UNWRITABLE', `cannot restore to ${abs}: ${why}`, { cause: err });
}
