/**
 * Restore into an OCI image layout directory (`oci:<dir>[:<tag>]`, what skopeo, podman,
 * umoci and containerd read): `oci-layout`, `blobs/<alg>/<hex>` for the manifest, config
 * and layers, and `index.json` naming the manifest with an
 * `org.opencontainers.image.ref.name` annotation.
 *
 * Contract:
 * - An existing layout is added to: blobs already there (by name, with the right size)
 *   are not written again; an index entry with the same ref.name is replaced, others kept.
 * - Each blob is written to a temp file beside its place and renamed in only once complete
 *   and verified against its digest; index.json is replaced the same way, last, so an
 *   interrupted restore leaves the layout as it was plus some unnamed blobs.
 * - The digests are the original's (as pushImage).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StowageError } from '../errors.js';
import { targetWriteError } from '../util/fs-error.js';
import type { Repository } from '../repository/repository.js';
import { OCI_INDEX, manifestMediaTypeOf, type ServedImage } from '../image/served.js';
import type { Snapshot } from '../snapshot/manifest.js';
import { blobPieces, readBlob } from './blob-reader.js';
import { mkdirs } from '../util/mkdirs.js';

export interface LayoutResult {
  readonly dir: string;
  readonly tag: string;
  readonly manifestDigest: string;
  readonly blobsWritten: number;
  readonly blobsSkipped: number;
  readonly bytesWritten: number;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

export async function writeOciLayout(repo: Repository, snap: Snapshot, image: ServedImage, dir: string, tag: string, opts: { signal?: AbortSignal } = {}): Promise<LayoutResult> {
  try {
    return await writeLayout(repo, snap, image, dir, tag, opts);
  } catch (err) {
    throw targetWriteError(err, `cannot write the OCI layout ${dir}`); // full, read-only, not writable: a code, not a bug
  }
}

async function writeLayout(repo: Repository, snap: Snapshot, image: ServedImage, dir: string, tag: string, opts: { signal?: AbortSignal }): Promise<LayoutResult> {
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  const existing = readIndex(dir);
  await mkdirs(blobsDir);
  const layoutFile = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layoutFile)) await fs.promises.writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  let written = 0;
  let skipped = 0;
  let bytes = 0;
  const readOpts = opts.signal ? { signal: opts.signal } : {};
  const seen = new Set<string>();
  for (const b of [...image.layers, image.config]) {
    if (seen.has(b.digest)) continue;
    seen.add(b.digest);
    const file = blobFile(dir, b.digest);
    if (sizeOf(file) === b.size) {
      skipped++;
      continue;
    }
    await writeAtomically(file, async (fd) => {
      for await (const pieces of blobPieces(repo, { snapshot: snap, place: b }, readOpts)) for (const p of pieces) await fd.write(p);
    });
    written++;
    bytes += b.size;
  }
  const manifest =
    image.manifestBytes ?? (await readBlob(repo, { snapshot: snap, place: { digest: image.manifestDigest, size: image.manifestRange!.length, range: image.manifestRange!, mediaType: '' } }, readOpts));
  const mfile = blobFile(dir, image.manifestDigest);
  if (sizeOf(mfile) !== manifest.length) {
    await writeAtomically(mfile, (fd) => fd.write(manifest).then(() => undefined));
    written++;
    bytes += manifest.length;
  }
  const mediaType = image.manifestMediaType ?? manifestMediaTypeOf(manifest);
  const platform = image.platform?.split('/');
  const desc = {
    mediaType,
    digest: image.manifestDigest,
    size: manifest.length,
    annotations: { [REF_NAME]: tag },
    ...(platform && platform.length >= 2 && { platform: { architecture: platform[1], os: platform[0], ...(platform[2] && { variant: platform[2] }) } }),
  };
  const manifests = [...(existing?.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] !== tag), desc];
  const index = { ...(existing ?? {}), schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  await writeAtomically(path.join(dir, 'index.json'), (fd) => fd.write(JSON.stringify(index)).then(() => undefined));
  return { dir, tag, manifestDigest: image.manifestDigest, blobsWritten: written, blobsSkipped: skipped, bytesWritten: bytes };
}

interface IndexDoc {
  manifests?: { annotations?: Record<string, string> }[];
  [k: string]: unknown;
}

function readIndex(dir: string): IndexDoc | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'index.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
        throw new StowageError('TARGET_EXISTS', `${dir} exists and is not an OCI image layout (no index.json): choose an empty or new directory`);
      return undefined;
    }
    throw new StowageError('INVALID_ARGUMENT', `${dir}: cannot read index.json: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as IndexDoc;
    if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.manifests)) throw new Error('no manifests list');
    return doc;
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `${dir}/index.json is not an OCI image index: ${(err as Error).message}`);
  }
}

function blobFile(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return path.join(dir, 'blobs', alg!, hex!);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

async function writeAtomically(file: string, fill: (fd: fs.promises.FileHandle) => Promise<void>): Promise<void> {
  await mkdirs(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = await fs.promises.open(tmp, 'wx');
  try {
    await fill(fd);
    await fd.sync();
  } catch (err) {
    await fd.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fd.close();
  await fs.promises.rename(tmp, file);
}
