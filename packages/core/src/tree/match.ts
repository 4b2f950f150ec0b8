/**
 * gitignore-style path patterns (the `ignore` package, as eslint and many tools use it):
 * a pattern without a slash matches a name at any depth, a leading slash anchors it, a
 * trailing slash matches directories only, `**` spans directories, `!` re-includes.
 */
import ignore from 'ignore';

/** A matcher for `patterns`; paths are relative ("etc/hosts"), `dir` for directories. */
export function pathMatcher(patterns: readonly string[]): (path: string, dir: boolean) => boolean {
  const ig = ignore().add([...patterns]);
  return (path, dir) => {
    const p = path
      .split('/')
      .filter((c) => c !== '' && c !== '.')
      .join('/');
    return p !== '' && ig.ignores(dir ? `${p}/` : p);
  };
}
