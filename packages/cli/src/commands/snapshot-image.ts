/**
 * `stowage snapshot docker://<host>/<repo>:<tag>` and `oci:<dir>[:<tag>]` (core:
 * registry/pull.ts), plus `docker-archive:<file>` / `oci-archive:<file>` (the file itself).
 */
import { parseImageLocation, snapshotFile, snapshotFromLocation, type Repository, type Snapshot, type SnapshotOptions } from '@stowage/core';
import { formatBytes } from '../format.js';
import { registryCredentials } from '../registry-auth.js';
import { printable } from '../escape.js';

export interface ImageSnapshotOpts {
  registryAuth?: string;
  registryInsecure?: boolean;
  platform?: string;
}

export interface ImageSnapshotResult {
  readonly snap: Snapshot;
  readonly reused: boolean;
  /** Added to --json output. */
  readonly extra: Record<string, unknown>;
  /** A line for the text output. */
  readonly line?: string;
}

export async function snapshotImageLocation(repo: Repository, input: string, o: ImageSnapshotOpts, common: SnapshotOptions & { force?: boolean }): Promise<ImageSnapshotResult> {
  const loc = parseImageLocation(input);
  if (loc.kind === 'docker-archive' || loc.kind === 'oci-archive') {
    const r = await snapshotFile(repo, loc.file, { ...common, format: loc.kind === 'docker-archive' ? 'docker' : 'oci' });
    return { snap: r.snapshot, reused: r.reused, extra: {} };
  }
  const credentials = loc.kind === 'docker' ? registryCredentials(o.registryAuth, loc.host) : undefined;
  const { format: _format, force: _force, ...rest } = common;
  const r = await snapshotFromLocation(repo, loc, { ...rest, ...(credentials && { credentials }), ...(o.registryInsecure && { insecureTls: true }), ...(o.platform && { platform: o.platform }) });
  return {
    snap: r.snapshot,
    reused: false,
    extra: {
      source: input,
      manifestDigest: r.manifestDigest,
      ...(r.indexDigest && { indexDigest: r.indexDigest, platform: r.platform }),
      blobsDownloaded: r.blobsDownloaded,
      bytesDownloaded: r.bytesDownloaded,
      blobsFromRepository: r.blobsFromRepository,
    },
    line: `  pulled  ${printable(input)}${r.platform ? ` (${r.platform} of index ${r.indexDigest})` : ''}: ${r.blobsDownloaded} blob${r.blobsDownloaded === 1 ? '' : 's'} downloaded (${formatBytes(r.bytesDownloaded)}), ${r.blobsFromRepository} already in the repository; manifest ${r.manifestDigest}`,
  };
}
