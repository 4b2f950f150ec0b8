/**
 * Errors of writes to the user's own files (restore targets) as stable codes: ENOSPC and
 * EDQUOT are NO_SPACE; EACCES, EPERM and EROFS (cannot write there), EISDIR, ENOTDIR and
 * ENOENT (no such place) are INVALID_ARGUMENT naming the target; anything else stays as it
 * is (a real bug, reported as one). Repository writes map theirs in the backend (BACKEND).
 */
import { StowageError } from '../errors.js';

export function targetWriteError(err: unknown, what: string): unknown {
  if (err instanceof StowageError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StowageError('NO_SPACE', `${what}: no space left on the device`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StowageError('INVALID_ARGUMENT', `${what}: permission denied`, { cause: err });
    case 'EROFS':
      return new StowageError('INVALID_ARGUMENT', `${what}: read-only file system`, { cause: err });
    case 'EISDIR':
    case 'ENOTDIR':
    case 'ENOENT':
      return new StowageError('INVALID_ARGUMENT', `${what}: ${e.message.replace(/^[A-Z]+: /, '')}`, { cause: err });
    default:
      return err;
  }
}
