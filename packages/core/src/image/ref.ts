/**
 * Image references, as users write them (`app:v5`, `registry.example/team/app@sha256:...`)
 * and as image archives name their images (RepoTags, OCI ref.name annotations).
 *
 * Contract:
 * - `parseImageRef` accepts `<repository>[:<tag>][@<alg>:<hex>]`; the repository is one or
 *   more `/`-separated path components (the first may be a host with a port). A bare
 *   repository (no tag, no digest) gets no default tag: callers decide what it means.
 * - `sameRepository` compares repositories the way docker does: `docker.io/library/x`,
 *   `docker.io/x` ... and `x` name the same repository.
 * - `imageNamesOf` gives the (repository, tag) pairs an archive's name list stands for; a
 *   bare tag (OCI `ref.name` = `v1`) belongs to a repository named after the snapshot.
 */

/** A parsed image reference. */
export interface ImageRef {
  /** Repository path, e.g. `sample/app`, `127.0.0.1:5000/team/app`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<hex>` (or sha512). */
  readonly digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** True for a valid repository path (lowercase components; a host (with port) may come first). */
export function isRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  const parts = name.split('/');
  return parts.every((p, i) => COMPONENT.test(p) || (i === 0 && parts.length > 1 && (p.includes('.') || p.includes(':') || p === 'localhost') && HOST.test(p)));
}

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isDigest(d: string): boolean {
  return DIGEST.test(d);
}

/** Parses `<repository>[:<tag>][@<digest>]`; undefined when it is not a valid reference. */
export function parseImageRef(s: string): ImageRef | undefined {
  let rest = s.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) return undefined;
  }
  if (!isRepositoryName(rest)) return undefined;
  return { repository: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** `repo:tag`, `repo@digest` or `repo:tag@digest`. */
export function formatImageRef(r: ImageRef): string {
  return `${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The repository with docker's defaults taken off: `docker.io/library/x` -> `x`. */
export function shortRepository(repo: string): string {
  return repo.replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\/(?=[^/]+$)/, '');
}

/** True when two repository paths name the same repository (docker.io defaults aside). */
export function sameRepository(a: string, b: string): boolean {
  return shortRepository(a) === shortRepository(b);
}

/** A repository name made of a free-form snapshot name: lowercase, invalid runs replaced by "-". */
export function repositoryFromName(name: string): string {
  const parts = name
    .toLowerCase()
    .split('/')
    .map((p) =>
      p
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
        .replace(/[._-]{2,}/g, '-'),
    )
    .filter((p) => p.length > 0);
  const r = parts.join('/');
  return r && isRepositoryName(r) ? r : 'image';
}

/**
 * The (repository, tag) pairs an image's names stand for: `sample/app:v2` -> (sample/app, v2);
 * a bare tag `v2` -> (repositoryFromName(fallback), v2); `repo@sha256:..` -> no tag (digest only).
 */
export function imageNamesOf(names: readonly string[], fallback: string): ImageRef[] {
  const out: ImageRef[] = [];
  for (const n of names) {
    if (isTag(n) && !n.includes('/') && !n.includes(':')) {
      out.push({ repository: repositoryFromName(fallback), tag: n });
      continue;
    }
    const r = parseImageRef(n);
    if (r) out.push(r.tag === undefined && r.digest === undefined ? { repository: r.repository, tag: 'latest' } : r);
  }
  return out;
}

/** imageNamesOf, or for an image without names the repository named after the snapshot (no tag). */
export function imageRefsOf(names: readonly string[], fallback: string): ImageRef[] {
  const refs = imageNamesOf(names, fallback);
  return refs.length ? refs : [{ repository: repositoryFromName(fallback) }];
}
