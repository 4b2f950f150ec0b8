/** `stowage snapshot <file|->`: store a snapshot of a file or of stdin. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { imageNames, snapshotFile, snapshotStream, TreeScan, type InputFormat, type Snapshot } from '@stowage/core';
import { SNAPSHOT_INLINE_BELOW, UNCOMPRESSED_LAYERS_HINT, compressedLayers, isImageLocation, shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { collect } from '../args.js';
import { cacheRoot, withRepo, type Context } from '../context.js';
import { inputStat, looksUnchanged, rememberInput } from '../input-hints.js';
import { formatBytes } from '../format.js';
import { saySnapshotSummary, snapshotSummaryJson } from './snapshot-report.js';
import { progressFor } from '../progress-bar.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { oneLine, printable } from '../escape.js';
import { runTreeSnapshot, type TreeOpts } from './snapshot-tree.js';
import { snapshotImageLocation, type ImageSnapshotOpts } from './snapshot-image.js';

interface Opts extends TreeOpts, ImageSnapshotOpts {
  allowEmpty?: boolean;
  format?: InputFormat;
  tag?: string[];
  name?: string;
  host?: string;
  force?: boolean;
  delta?: boolean;
  basis?: string;
}

export function registerSnapshot(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  program
    .command('snapshot')
    .description('store a snapshot of a file, of stdin with "-", or of directories (with every file\'s metadata)')
    .argument('<input...>', 'file to snapshot, - for stdin, one or more directories, or an image: docker://<host>/<repo>:<tag>, oci:<dir>[:<tag>], docker-archive:<file>, oci-archive:<file>')
    .option('--tag <tag>', 'add a tag (repeatable)', collect)
    .option('--name <name>', 'snapshot name (default: an image archive\'s image, e.g. "app" for app:v5; else the input file name; "stdin" for -)')
    .option('--allow-empty', 'store an empty input (0 bytes) as a snapshot; without it an empty input is refused (EMPTY_INPUT)')
    .option('--host <hostname>', 'override the host name recorded')
    .option('--force', 're-read the input even if it is unchanged since its last snapshot')
    .option('--format <format>', 'auto (detect tar, docker-archive, OCI archive), raw, tar, docker or oci', 'auto')
    .option('--basis <snapshot>', 'store changed files as deltas against their version in this snapshot (default: the latest snapshot of the same name, else the latest)')
    .option('--no-delta', 'store changed files whole, not as deltas against an earlier version')
    .option('--registry-auth <file>', 'docker://: credentials from a docker config.json ("auths")')
    .option('--registry-insecure', "docker://: do not verify the registry's TLS certificate (loopback registries are spoken to over http)")
    .option('--platform <os/arch>', "docker://, oci: multi-platform images: the platform to store (default the host's)")
    .option('--exclude <pattern>', 'directories: leave out paths matching this gitignore-style pattern (repeatable)', collect)
    .option('--exclude-file <file>', 'directories: read exclude patterns from a file, one per line (repeatable)', collect)
    .option('--exclude-if-present <name>', 'directories: leave out directories holding an entry of this name, e.g. CACHEDIR.TAG (repeatable)', collect)
    .option('--one-file-system', 'directories: do not descend into other file systems (mount points are stored empty)')
    .option('--parent <snapshot>', 'directories: reuse unchanged files from this snapshot (default: the latest of the same paths on this host)')
    .action((inputs: string[], o: Opts) =>
      run(async (ctx) => {
        // directories: their listings and lstats are read while the repository opens (the
        // password's key derivation runs on another thread meanwhile); the walk takes them
        const scan = isTree(inputs) ? new TreeScan(inputs, o.oneFileSystem ? { oneFileSystem: true } : {}) : undefined;
        try {
          // directories: the index cache opens while the key is derived (the walk looks up the
          // parent's trees first thing); no codec worker is started ahead (an unchanged tree needs none).
          // A file: the index cache and its first codec worker (SHA-256, ids, zstd) too (fileOpening),
          // and the snapshot files are read then (the unchanged-input check and the delta basis need
          // them; a tree snapshot's parent is looked for in them while its lock is taken)
          return await withRepo(ctx, { index: scan !== undefined, locks: true, snapshots: true, ...(!scan && fileOpening(ctx, inputs)) }, async (repo) => {
            const progress = progressFor(ctx);
            const common = {
              ...(o.name !== undefined && { name: o.name }),
              ...(o.host !== undefined && { hostname: o.host }),
              tags: o.tag ?? [],
              ...(o.allowEmpty && { allowEmpty: true }),
              ...(o.format !== undefined && { format: o.format }),
              ...(o.delta === false && { delta: false }),
              ...(o.basis !== undefined && { basis: o.basis }),
              signal: ctx.signal,
              ...(progress.fn && { progress: progress.fn }),
            };
            if (!scan && inputs.length === 1 && isImageLocation(inputs[0]!)) {
              let r;
              try {
                r = await snapshotImageLocation(repo, inputs[0]!, o, { ...common, force: o.force ?? false });
              } finally {
                progress.done();
              }
              report(ctx, r.snap, r.reused, r.extra, r.line);
              return undefined;
            }
            if (scan) {
              try {
                return await runTreeSnapshot(ctx, repo, inputs, o, { ...common, force: o.force ?? false, scan });
              } finally {
                progress.done();
              }
            }
            const input = inputs[0]!;
            let snap: Snapshot;
            let reused = false;
            try {
              if (input === '-') {
                snap = await snapshotStream(repo, process.stdin, { kind: 'stdin', path: '-' }, common);
              } else {
                const r = await snapshotFile(repo, input, { ...common, force: o.force ?? false });
                snap = r.snapshot;
                reused = r.reused;
                if (snap.source.stat && !snap.changedWhileRead) rememberInput(cacheRoot(ctx), snap.source.path, snap.source.stat);
              }
            } finally {
              progress.done();
            }
            report(ctx, snap, reused);
            if (snap.changedWhileRead) {
              ctx.warn(
                `${printable(snap.source.path)}: file changed while it was read (${snap.changedWhileRead}): the snapshot holds what was read, which may be no consistent version of it; \`stowage snapshots\` marks it`,
              );
              if (!snap.image?.warnings) return EXIT_WARNINGS;
            }
            // an archive that looks like an image but is not a complete one: stored as a plain tar
            for (const w of snap.image?.warnings ?? []) ctx.warn(oneLine(w));
            if (snap.image?.warnings) {
              ctx.warn('stored as a plain tar (byte for byte), without image checks on restore; `stowage snapshots` marks it incomplete');
              return EXIT_WARNINGS;
            }
            return undefined;
          });
        } finally {
          scan?.close();
        }
      }),
    );
}

/**
 * How a snapshot of one file opens the repository: a file of SNAPSHOT_INLINE_BELOW or more is
 * hashed and encoded on codec workers, so the first one boots while the password's key is
 * derived (on the core scrypt leaves free once the CLI is loaded) instead of after it, unless
 * the file looks unchanged since its last snapshot on this machine (input-hints.ts): a repeat
 * reuses the content unread and needs neither a worker nor the index cache (opening LevelDB
 * costs CPU beside the key derivation, and closing it, or waiting for an open still under way,
 * comes at the end of the command). A file that looks unchanged but is not opens the index on
 * first use.
 */
function fileOpening(ctx: Context, inputs: readonly string[]): { workers?: number; index?: boolean } {
  const input = inputs[0]!;
  if (inputs.length !== 1 || input === '-' || isImageLocation(input)) return {};
  const abs = resolve(input);
  let st;
  try {
    st = statSync(abs, { bigint: true });
  } catch {
    return {}; // the snapshot reports it
  }
  if (!st.isFile() || st.size < BigInt(SNAPSHOT_INLINE_BELOW)) return {};
  return looksUnchanged(cacheRoot(ctx), abs, inputStat(st)) ? {} : { workers: 1, index: true };
}

/** True when the inputs are a tree snapshot's: several paths, or one directory (not an image location). */
function isTree(inputs: readonly string[]): boolean {
  if (inputs.length > 1) return true;
  const p = inputs[0]!;
  if (p === '-' || isImageLocation(p)) return false;
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function report(ctx: Context, s: Snapshot, reused: boolean, extra: Record<string, unknown> = {}, line?: string): void {
  const sum = s.summary;
  const packed = s.image && !s.image.warnings ? compressedLayers(s.image) : undefined;
  const mbps = sum.seconds > 0 ? sum.bytesRead / 1e6 / sum.seconds : 0;
  if (ctx.opts.json) {
    ctx.json({
      ...snapshotSummaryJson(s),
      size: s.source.size,
      sha256: s.source.sha256,
      mbPerSec: Number(mbps.toFixed(1)),
      reused,
      ...(s.basis && { basis: s.basis, deltaBlobs: sum.deltaBlobs ?? 0, deltaBytesStored: sum.deltaBytesStored ?? 0 }),
      ...(sum.deltaCandidates && { deltaCandidates: sum.deltaCandidates }),
      ...(s.format && { format: s.format }),
      ...(packed && { compressedLayers: { ...packed, hint: UNCOMPRESSED_LAYERS_HINT } }),
      ...(s.image && {
        image: {
          kind: s.image.kind,
          names: imageNames(s.image),
          ...(s.image.configDigest && { configDigest: s.image.configDigest }),
          ...(s.image.manifestDigest && { manifestDigest: s.image.manifestDigest }),
          layers: s.image.layers.length,
          ...(s.image.warnings && { warnings: s.image.warnings }),
        },
      }),
      ...(Object.keys(extra).length && { pull: extra }),
    });
    return;
  }
  const names = s.image && !s.image.warnings ? imageNames(s.image) : undefined;
  saySnapshotSummary(ctx, s, {
    middle: reused ? [`  unchanged since snapshot ${shortId(s.parent ?? '')}: content reused without reading (use --force to re-read)`] : [],
    after: [
      s.basis && sum.deltaBlobs
        ? `  deltas  ${sum.deltaBlobs} changed chunk${sum.deltaBlobs === 1 ? '' : 's'} stored as ${formatBytes(sum.deltaBytesStored ?? 0)} of deltas against snapshot ${shortId(s.basis)}`
        : undefined,
      s.image && names
        ? `  image   ${s.image.kind === 'oci' ? 'OCI image archive' : 'docker-archive'}${names.length ? ` ${names.map((n) => printable(n)).join(', ')}` : ''}, ${s.image.layers.length} layer${s.image.layers.length === 1 ? '' : 's'}`
        : undefined,
      // compressed layers are opaque: say what that cost and how to avoid it
      packed
        ? `  layers  ${packed.layers} of ${packed.ofLayers} layer${packed.ofLayers === 1 ? ' is' : 's are'} ${packed.compressions.join('/')}-compressed: ${formatBytes(packed.bytes)} stored as opaque blobs, not deduplicated by file`
        : undefined,
      packed ? `          to avoid it, ${UNCOMPRESSED_LAYERS_HINT}` : undefined,
      line,
    ],
  });
  // -v: how the input was read and stored
  ctx.verbose(`input:   ${s.source.kind === 'stdin' ? 'stdin' : printable(s.source.path)}, ${formatBytes(s.source.size)}, sha256 ${s.source.sha256}`);
  ctx.verbose(
    `format:  ${s.format ?? 'raw'}${s.image ? ` (${s.image.kind === 'oci' ? 'OCI image archive' : 'docker-archive'}${s.image.platform ? `, ${printable(s.image.platform)}` : ''}, ${s.image.layers.length} layers)` : ''}; name ${JSON.stringify(s.name)}, host ${printable(s.hostname)}`,
  );
  ctx.verbose(
    `chunks:  ${sum.chunks} (${sum.newChunks} new), ${s.content.lists.length} chunk-list blob${s.content.lists.length === 1 ? '' : 's'}${s.content.files?.length ? `, file map in ${s.content.files.length} blob${s.content.files.length === 1 ? '' : 's'}` : ''}`,
  );
  ctx.verbose(`deltas:  ${s.basis ? `basis ${shortId(s.basis)}, ${sum.deltaBlobs ?? 0} delta blobs` : 'no basis'}${sum.deltaCandidates ? `, ${sum.deltaCandidates} candidates` : ''}`);
}
