import { describe, expect, it } from 'vitest';
import { StowageError } from '../errors.js';
import { cacheWriteError, errnoCode, isFatalWriteError, targetWriteError } from './fs-error.js';

const sysErr = (code: string, message = `${code}: failed, write`) => Object.assign(new Error(message), { code, syscall: 'write' });

describe('write errors as codes', () => {
  it('reads the errno from Node errors, errno numbers, "(os error N)" and strerror text', () => {
    expect(errnoCode(sysErr('ENOSPC'))).toBe('ENOSPC');
    expect(errnoCode(Object.assign(new Error('x'), { errno: 30 }))).toBe('EROFS'); // the tree helper's
    expect(errnoCode(new Error('No space left on device (os error 28)'))).toBe('ENOSPC'); // @napi-rs/xattr
    expect(errnoCode(new Error('IO error: /c/index-0/000003.log: Read-only file system'))).toBe('EROFS'); // LevelDB
    expect(errnoCode(Object.assign(new Error('outer'), { cause: sysErr('EACCES') }))).toBe('EACCES');
    expect(errnoCode(new TypeError('a bug'))).toBeUndefined();
  });

  it('restore targets: NO_SPACE when full, TARGET_UNWRITABLE for the rest; a bug stays a bug', () => {
    const full = targetWriteError(sysErr('ENOSPC'), 'restore target /t') as StowageError;
    expect([full.code, full.message]).toEqual(['NO_SPACE', 'restore target /t: no space left on the device']);
    for (const [code, why] of [
      ['EROFS', 'read-only file system'],
      ['EACCES', 'permission denied'],
      ['EPIPE', 'the reading end of the pipe was closed'],
      ['ELOOP', 'ELOOP: failed, write'],
    ]) {
      const e = targetWriteError(sysErr(code!), 'cannot restore to /t/x') as StowageError;
      expect([e.code, e.message]).toEqual(['TARGET_UNWRITABLE', code === 'ELOOP' ? 'cannot restore to /t/x: failed, write' : `cannot restore to /t/x: ${why}`]);
    }
    const bug = new TypeError('a bug');
    expect(targetWriteError(bug, 'x')).toBe(bug);
    const coded = new StowageError('CORRUPT', 'bad');
    expect(targetWriteError(coded, 'x')).toBe(coded);
    expect(isFatalWriteError(sysErr('EROFS'))).toBe(true);
    expect(isFatalWriteError(sysErr('ENOTSUP'))).toBe(false);
  });

  it('the cache: NO_SPACE or CACHE_UNWRITABLE, with how to choose another', () => {
    const ro = cacheWriteError(new Error('IO error: LOCK: Read-only file system'), 'index cache /c') as StowageError;
    expect(ro.code).toBe('CACHE_UNWRITABLE');
    expect(ro.message).toMatch(/^index cache \/c: read-only file system \(choose a writable cache with --cache-dir/);
    expect((cacheWriteError(sysErr('EDQUOT'), 'index cache /c') as StowageError).code).toBe('NO_SPACE');
  });
});
