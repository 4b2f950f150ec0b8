/**
 * Image locations as skopeo users write them:
 * - `docker://<host>[:port]/<repository>[:<tag>|@<digest>]` (no host: docker.io, as docker)
 * - `oci:<dir>[:<tag>]` (an OCI image layout directory)
 * - `docker-archive:<file>`, `oci-archive:<file>` (archives: snapshot them as files)
 * INVALID_ARGUMENT for a malformed location.
 */
import { StowageError } from '../errors.js';
import { isTag, parseImageRef } from '../image/ref.js';

export type ImageLocation =
  | { readonly kind: 'docker'; readonly host: string; readonly repository: string; readonly tag?: string; readonly digest?: string }
  | { readonly kind: 'oci'; readonly dir: string; readonly tag?: string }
  | { readonly kind: 'docker-archive' | 'oci-archive'; readonly file: string };

/** True when `s` starts with a transport this module knows. */
export function isImageLocation(s: string): boolean {
  return /^(docker:\/\/|oci:|docker-archive:|oci-archive:)/.test(s);
}

export function parseImageLocation(s: string): ImageLocation {
  if (s.startsWith('docker://')) {
    const rest = s.slice('docker://'.length);
    const first = rest.split('/')[0] ?? '';
    const hasHost = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
    const host = hasHost ? first : 'registry-1.docker.io';
    let path = hasHost ? rest.slice(first.length + 1) : rest;
    if (!hasHost && !path.includes('/')) path = `library/${path}`;
    const ref = parseImageRef(path);
    if (!ref) throw new StowageError('INVALID_ARGUMENT', `invalid image location "${s}": expected docker://<host>[:<port>]/<repository>[:<tag>|@sha256:<hex>]`);
    return { kind: 'docker', host, repository: ref.repository, ...(ref.tag !== undefined && { tag: ref.tag }), ...(ref.digest !== undefined && { digest: ref.digest }) };
  }
  if (s.startsWith('oci:')) {
    const rest = s.slice(4);
    const colon = rest.lastIndexOf(':');
    const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined;
    const dir = tag !== undefined ? rest.slice(0, colon) : rest;
    if (!dir) throw new StowageError('INVALID_ARGUMENT', `invalid image location "${s}": expected oci:<dir>[:<tag>]`);
    if (tag !== undefined && !isTag(tag)) throw new StowageError('INVALID_ARGUMENT', `invalid tag "${tag}" in "${s}"`);
    return { kind: 'oci', dir, ...(tag !== undefined && { tag }) };
  }
  for (const kind of ['docker-archive', 'oci-archive'] as const) {
    if (s.startsWith(`${kind}:`)) {
      const file = s.slice(kind.length + 1);
      if (!file) throw new StowageError('INVALID_ARGUMENT', `invalid image location "${s}": expected ${kind}:<file>`);
      return { kind, file };
    }
  }
  throw new StowageError('INVALID_ARGUMENT', `unknown image location "${s}": expected docker://..., oci:<dir>, docker-archive:<file> or oci-archive:<file>`);
}

/** Credentials for `host` from a docker config.json (`auths` entries: `auth` = base64 user:pass, or username/password). */
export function credentialsFromDockerConfig(text: string, host: string, file = 'config.json'): { username: string; password: string } | undefined {
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new StowageError('INVALID_ARGUMENT', `${file}: not valid JSON (expected a docker config.json with "auths")`);
  }
  const auths = doc.auths ?? {};
  const keys = host === 'registry-1.docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'] : [host, `https://${host}`, `http://${host}`];
  for (const k of keys) {
    const e = auths[k] ?? auths[`${k}/`];
    if (!e) continue;
    if (e.auth) {
      const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    if (e.username !== undefined && e.password !== undefined) return { username: e.username, password: e.password };
  }
  return undefined;
}
