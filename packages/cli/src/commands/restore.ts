/** `stowage restore <snapshot> <target|->`: restore byte for byte, verified. */
import { StowageError, findLayer, isTreeSnapshot, loadSnapshot, resolveSnapshot, restoreRangeToFile, restoreRangeToStream, restoreToFile, restoreToStream, type Repository } from '@stowage/core';
import { asImageRef, checkRestoreTarget, isImageLocation, shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { collect, sizeArg } from '../args.js';
import { withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { readLock } from '../locking.js';
import { formatBytes, formatRate } from '../format.js';
import { progressFor } from '../progress-bar.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { runTreeRestore, splitSnapshotPath, type TreeRestoreOpts } from './restore-tree.js';
import { restoreImage, type ImageRestoreOpts } from './restore-image.js';
import { jsonText, printable } from '../escape.js';

interface Opts extends TreeRestoreOpts, ImageRestoreOpts, FilterOpts {
  overwrite?: boolean;
  mkdir?: boolean;
  layer?: string;
  /** false with --no-image-check. */
  imageCheck?: boolean;
}

export function registerRestore(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program.command('restore').description('restore a snapshot to a file, or to stdout with "-" ("latest" = the newest snapshot matching --name/--host/--tag/--path; unique id prefixes work)'),
    '"latest" among',
  )
    .argument('<snapshot>', 'snapshot id, unique prefix, "latest", or an image reference (name:tag, name@sha256:...: the newest snapshot holding it)')
    .argument('<target>', 'file to create, - for stdout, docker://<host>/<repo>[:<tag>] (push to a registry) or oci:<dir>[:<tag>] (an OCI image layout)')
    .option('--overwrite', 'replace the target if it exists (a regular file only)')
    .option('--mkdir', "create the target's folder (and its parents) when missing; without it a missing folder is refused")
    .option('--layer <digest>', 'image snapshots: restore only this layer blob (digest, unique digest prefix, or path in the archive), verified against its digest')
    .option('--include <pattern>', 'snapshots of directories: restore only paths matching this gitignore-style pattern (repeatable)', collect)
    .option('--exclude <pattern>', 'snapshots of directories: do not restore paths matching this pattern (repeatable)', collect)
    .option('--format <format>', 'snapshots of directories: dir (default) or tar (a tar stream on stdout, with -)')
    .option('--registry-auth <file>', 'docker://: credentials from a docker config.json ("auths")')
    .option('--registry-insecure', "docker://: do not verify the registry's TLS certificate (loopback registries are spoken to over http)")
    .option('--upload-chunk <size>', 'docker://: upload blobs larger than this in chunks of this size (default 64M)', sizeArg('--upload-chunk'))
    .option('--no-image-check', 'image snapshots: do not recompute the layer, config and manifest digests (the whole sha256 is still verified)')
    .action((ref: string, target: string, o: Opts) =>
      // the codec workers boot and the index cache opens while the key is derived
      run((ctx) => withRepo(ctx, { workers: 'all', index: true, locks: true }, (repo) => restoreCommand(ctx, repo, ref, target, o))),
    );
}

/** The restore command, the repository open. */
async function restoreCommand(ctx: Context, repo: Repository, ref: string, target: string, o: Opts): Promise<number | void> {
  await using _lock = await readLock(ctx, repo); // shared: gc cannot delete what is being read
  repo.prefetchIndex(); // its listing loads while the snapshot is resolved (S3: round trips)
  // "app:v5" is an image reference; "<id or latest>:<path>" a path in a snapshot of directories
  const image = asImageRef(ref) !== undefined && !/^(latest|[0-9a-f]{4,64})$/.test(ref.slice(0, ref.indexOf(':')));
  const [snapRef, subpath] = image ? [ref, undefined] : splitSnapshotPath(ref);
  const id = await resolveSnapshot(repo, snapRef, filterFrom(o));
  if (isImageLocation(target)) return await restoreImage(ctx, repo, ref, id, target, o); // a registry or an OCI layout (restore-image.ts)
  const snap = await loadSnapshot(repo, id);
  if (isTreeSnapshot(snap)) return await runTreeRestore(ctx, repo, snap, subpath, target, o);
  if (subpath !== undefined || o.format !== undefined || o.include || o.exclude)
    throw new StowageError(
      'INVALID_ARGUMENT',
      `snapshot ${shortId(id)} is a single ${snap.format === 'raw' || !snap.format ? 'file' : `${snap.format} archive`}, not a snapshot of directories: <snapshot>:<path>, --format, --include and --exclude do not apply`,
    );
  // a file target: kind, parent folder, writability, before anything is read (--mkdir makes the folder)
  if (target !== '-') {
    const t = await checkRestoreTarget(target, { overwrite: o.overwrite ?? false, mkdir: o.mkdir ?? false });
    if (t.created) ctx.info(`created folder ${printable(t.created)} (--mkdir)`);
  }
  if (o.layer !== undefined) return await restoreLayer(ctx, repo, id, o.layer, target, o.overwrite ?? false); // awaited: the lock is released after it settles
  ctx.verbose(
    `restoring snapshot ${shortId(id)} (${printable(snap.name)}, ${snap.time}, host ${printable(snap.hostname)}, ${snap.format ?? 'raw'}, ${formatBytes(snap.source.size)}) to ${target === '-' ? 'stdout' : printable(target)}`,
  );
  const progress = progressFor(ctx); // on stderr, also while stdout carries the data
  const t0 = performance.now();
  const opts = { overwrite: o.overwrite ?? false, signal: ctx.signal, ...(o.imageCheck === false && { imageCheck: false }), ...(progress.fn && { progress: progress.fn }) };
  let r;
  try {
    r = target === '-' ? await restoreToStream(repo, id, process.stdout, opts) : await restoreToFile(repo, id, target, opts);
  } finally {
    progress.done();
  }
  const secs = (performance.now() - t0) / 1000;
  const images =
    r.imageBlobsVerified !== undefined
      ? `, ${r.imageBlobsVerified} image digest${r.imageBlobsVerified === 1 ? '' : 's'} (layers, config${r.snapshot.image?.manifestDigest ? ', manifest' : ''}) verified`
      : '';
  const summary = {
    id,
    target,
    bytes: r.bytes,
    sha256: r.sha256,
    verified: true,
    seconds: secs,
    ...(r.imageBlobsVerified !== undefined && { imageBlobsVerified: r.imageBlobsVerified }),
    ...(r.warnings && { warnings: r.warnings }),
  };
  for (const w of r.warnings ?? []) ctx.warn(w);
  if (target === '-') {
    if (ctx.opts.json) process.stderr.write(jsonText(summary) + '\n');
    else ctx.info(`restored snapshot ${shortId(id)}: ${formatBytes(r.bytes)}, sha256 verified${images}`);
  } else if (ctx.opts.json) {
    ctx.json(summary);
  } else {
    ctx.say(`restored snapshot ${shortId(id)} to ${printable(target)}: ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s (${formatRate(r.bytes, secs)}), sha256 ${r.sha256} verified${images}`);
  }
  return r.warnings ? EXIT_WARNINGS : undefined;
}

async function restoreLayer(ctx: Context, repo: Repository, id: string, ref: string, target: string, overwrite: boolean): Promise<void> {
  const snap = await loadSnapshot(repo, id);
  if (!snap.image) throw new StowageError('INVALID_ARGUMENT', `snapshot ${shortId(id)} is not an image archive (format ${snap.format ?? 'raw'}): it has no layers`);
  const layer = findLayer(snap.image, ref);
  if (layer === undefined) throw new StowageError('NOT_FOUND', `snapshot ${shortId(id)} has no layer "${ref}" (see stowage ls ${shortId(id)})`);
  if (Array.isArray(layer)) throw new StowageError('AMBIGUOUS_ID', `layer "${ref}" is ambiguous: it matches ${layer.length} layers (${layer.map((l) => l.digest ?? l.path).join(', ')})`);
  const what = `layer ${layer.digest ?? layer.path}`;
  const t = { offset: layer.offset, length: layer.length, what, ...(layer.digest && { digest: layer.digest }) };
  const progress = progressFor(ctx); // on stderr, also while stdout carries the data
  const t0 = performance.now();
  let r;
  try {
    const opts = { signal: ctx.signal, overwrite, ...(progress.fn && { progress: progress.fn }) };
    r = target === '-' ? await restoreRangeToStream(repo, snap, t, process.stdout, opts) : await restoreRangeToFile(repo, snap, t, target, opts);
  } finally {
    progress.done();
  }
  const secs = (performance.now() - t0) / 1000;
  const summary = {
    id,
    target,
    layer: layer.digest ?? null,
    path: layer.path,
    mediaType: layer.mediaType,
    offset: layer.offset,
    bytes: r.bytes,
    digest: r.digest,
    verified: r.verified,
    seconds: secs,
  };
  const check = r.verified ? `${r.digest} verified` : `${r.digest} (the archive states no digest for it: not verified)`;
  if (target === '-') {
    if (ctx.opts.json) process.stderr.write(jsonText(summary) + '\n');
    else ctx.info(`restored ${what} of snapshot ${shortId(id)}: ${formatBytes(r.bytes)}, ${check}`);
  } else if (ctx.opts.json) {
    ctx.json(summary);
  } else {
    ctx.say(`restored ${what} of snapshot ${shortId(id)} to ${printable(target)}: ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s, ${check}`);
  }
}
