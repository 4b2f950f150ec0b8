/**
 * `mkdir -p` that reports the real reason it failed. Node's recursive mkdir says ENOENT when
 * a folder cannot be created on a read-only file system (or without permission) instead of
 * EROFS or EACCES; here the first missing folder is created on its own then, so its error is
 * the one thrown (and the mappings of util/fs-error.ts and the backends say the right thing).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Creates `dir` and its missing parents; resolves to the first folder created (undefined when it existed). */
export async function mkdirs(dir: string, mode?: number): Promise<string | undefined> {
  const opts = mode === undefined ? { recursive: true as const } : { recursive: true as const, mode };
  try {
    return await fs.mkdir(dir, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // the deepest existing ancestor, then its missing child on its own: that error is the real one
    let missing = path.resolve(dir);
    for (let up = path.dirname(missing); up !== missing; missing = up, up = path.dirname(up)) {
      if (
        await fs.stat(up).then(
          () => true,
          () => false,
        )
      )
        break;
    }
    await fs.mkdir(missing, mode === undefined ? undefined : { mode }); // throws EROFS, EACCES, ENOTDIR, ...
    return fs.mkdir(dir, opts); // it was created after all (a race): go on
  }
}
