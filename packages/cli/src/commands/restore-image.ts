/**
 * `stowage restore <snapshot> docker://<host>/<repo>[:<tag>]` and `... oci:<dir>[:<tag>]`:
 * an image snapshot back into a registry or an OCI layout (core: registry/push.ts,
 * registry/oci-layout.ts). The tag defaults to the one the snapshot reference named, else
 * the image's own, else "latest".
 */
import { StowageError, loadSnapshot, parseImageLocation, pushImage, writeOciLayout, type Repository } from '@stowage/core';
import { asImageRef, imageNamesOf, imagesMatching, shortId } from '@stowage/core/internal';
import type { Context } from '../context.js';
import { formatBytes } from '../format.js';
import { registryCredentials } from '../registry-auth.js';
import { printable } from '../escape.js';

export interface ImageRestoreOpts {
  registryAuth?: string;
  registryInsecure?: boolean;
  uploadChunk?: number;
}

export async function restoreImage(ctx: Context, repo: Repository, ref: string, id: string, target: string, o: ImageRestoreOpts): Promise<void> {
  const loc = parseImageLocation(target);
  const snap = await loadSnapshot(repo, id);
  if (!snap.image) throw new StowageError('INVALID_ARGUMENT', `snapshot ${shortId(id)} is not an image archive (format ${snap.format ?? 'raw'}): it cannot go to ${target}`);
  const wanted = asImageRef(ref);
  const images = imagesMatching(snap, wanted);
  const image = images[0];
  if (!image)
    throw new StowageError(
      'INVALID_ARGUMENT',
      `snapshot ${shortId(id)} has no image that can be pushed${snap.image.warnings ? ' (an incomplete image: stored as a plain tar)' : ' (a layer without a known digest)'}`,
    );
  const ownTag = imageNamesOf(image.names, snap.name).find((n) => n.tag !== undefined)?.tag;
  const t0 = performance.now();
  if (loc.kind === 'docker') {
    if (loc.digest) throw new StowageError('INVALID_ARGUMENT', `push to a tag, not a digest: the digest is the image's own (${image.manifestDigest})`);
    const tag = loc.tag ?? wanted?.tag ?? ownTag ?? 'latest';
    const credentials = registryCredentials(o.registryAuth, loc.host);
    const r = await pushImage(
      repo,
      snap,
      image,
      { host: loc.host, repository: loc.repository, tag },
      { signal: ctx.signal, ...(credentials && { credentials }), ...(o.registryInsecure && { insecureTls: true }), ...(o.uploadChunk && { chunkBytes: o.uploadChunk }) },
    );
    const secs = (performance.now() - t0) / 1000;
    if (ctx.opts.json)
      ctx.json({
        id,
        target: `docker://${loc.host}/${loc.repository}:${tag}`,
        manifestDigest: r.manifestDigest,
        mediaType: r.mediaType,
        blobsPushed: r.blobsPushed,
        blobsSkipped: r.blobsSkipped,
        bytesPushed: r.bytesPushed,
        chunkedUploads: r.chunkedUploads,
        seconds: secs,
      });
    else
      ctx.say(
        `pushed snapshot ${shortId(id)} to ${printable(`docker://${loc.host}/${loc.repository}:${tag}`)} in ${secs.toFixed(2)} s: ${r.blobsPushed} blob${r.blobsPushed === 1 ? '' : 's'} uploaded (${formatBytes(r.bytesPushed)}), ${r.blobsSkipped} already there, manifest ${r.manifestDigest}`,
      );
    return;
  }
  if (loc.kind !== 'oci') throw new StowageError('INVALID_ARGUMENT', `restore writes docker://... and oci:<dir> images; for an archive, restore to a file (stowage restore ${ref} ${loc.file})`);
  const tag = loc.tag ?? wanted?.tag ?? ownTag ?? 'latest';
  const r = await writeOciLayout(repo, snap, image, loc.dir, tag, { signal: ctx.signal });
  const secs = (performance.now() - t0) / 1000;
  if (ctx.opts.json)
    ctx.json({ id, target: `oci:${loc.dir}:${tag}`, manifestDigest: r.manifestDigest, blobsWritten: r.blobsWritten, blobsSkipped: r.blobsSkipped, bytesWritten: r.bytesWritten, seconds: secs });
  else
    ctx.say(
      `restored snapshot ${shortId(id)} to ${printable(`oci:${loc.dir}:${tag}`)} in ${secs.toFixed(2)} s: ${r.blobsWritten} blob${r.blobsWritten === 1 ? '' : 's'} written (${formatBytes(r.bytesWritten)}), ${r.blobsSkipped} already there, manifest ${r.manifestDigest}`,
    );
}
