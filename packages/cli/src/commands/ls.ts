/**
 * `stowage ls <snapshot> [--files] [--layer <digest>]`: what an image snapshot holds:
 * its names, config and manifest digests, and layers (digest, media type, size); with
 * --files the files of each layer (mode, size, path), read from the stored data.
 * A plain tar snapshot lists as one "layer" (the whole archive).
 */
import { StowageError, isTreeSnapshot, allLayers, findLayer, imageNames, listFiles, loadSnapshot, resolveSnapshot, type LayerFact, type Repository, type Snapshot, type TarEntry } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Command } from 'commander';
import { withRepo, type Context } from '../context.js';
import { filterFrom, withFilterOptions, type FilterOpts } from '../filters.js';
import { readLock } from '../locking.js';
import { formatBytes, table } from '../format.js';
import { EXIT_WARNINGS } from '../exit-codes.js';
import { jsonText, oneLine, printable } from '../escape.js';
import { runTreeLs } from './ls-tree.js';

interface Opts extends FilterOpts {
  files?: boolean;
  layer?: string;
}

const KIND: Record<string, string> = { docker: 'docker-archive', oci: 'OCI image archive', tar: 'tar archive', raw: 'byte stream' };

export function registerLs(program: Command, run: (fn: (ctx: Context) => Promise<number | void>) => Promise<void>): void {
  withFilterOptions(
    program
      .command('ls')
      .description(
        'list the layers of an image snapshot (digest, media type, size); --files lists the files of each layer (with --json: JSON lines, one object per file); a snapshot of directories lists its entries (under [path])',
      ),
    '"latest" among',
  )
    .argument('<snapshot>', 'snapshot id, unique prefix, "latest", or an image reference (name:tag, name@sha256:...)')
    .argument('[path]', 'snapshots of directories: list only under this path')
    .option('--files', 'also list the files of each layer (path, size, mode), read from the stored data')
    .option('--layer <digest>', 'only this layer (digest, unique digest prefix, or path in the archive)')
    .action((ref: string, sub: string | undefined, o: Opts) =>
      run((ctx) =>
        withRepo(ctx, async (repo) => {
          await using _lock = await readLock(ctx, repo);
          const snap = await loadSnapshot(repo, await resolveSnapshot(repo, ref, filterFrom(o)));
          if (isTreeSnapshot(snap)) return await runTreeLs(ctx, repo, snap, sub);
          if (sub !== undefined) throw new StowageError('INVALID_ARGUMENT', `a path applies to snapshots of directories; snapshot ${shortId(snap.id)} is ${snap.format ?? 'raw'} (use --files)`);
          const format = snap.format ?? 'raw';
          let layers: LayerFact[] = snap.image ? allLayers(snap.image) : [];
          if (o.layer !== undefined) {
            const l = snap.image ? findLayer(snap.image, o.layer) : undefined;
            if (l === undefined) throw new StowageError('NOT_FOUND', `snapshot ${shortId(snap.id)} has no layer "${o.layer}"`);
            if (Array.isArray(l)) throw new StowageError('AMBIGUOUS_ID', `layer "${o.layer}" is ambiguous: it matches ${l.length} layers`);
            layers = [l];
          }
          if (o.files) {
            if (format === 'raw') throw new StowageError('INVALID_ARGUMENT', `snapshot ${shortId(snap.id)} is a byte stream, not an archive: it has no files to list`);
            // a plain tar (or an incomplete image) lists as a whole
            const units = layers.length ? layers : [undefined];
            return await listLayerFiles(ctx, repo, snap, units); // awaited inside the lock scope
          }
          if (ctx.opts.json) {
            ctx.json({
              id: snap.id,
              name: snap.name,
              format,
              size: snap.source.size,
              sha256: snap.source.sha256,
              ...(snap.image && { image: o.layer === undefined ? snap.image : { ...snap.image, layers } }),
            });
            return;
          }
          header(ctx, snap);
          if (layers.length) {
            ctx.out(
              table(
                ['#', 'Digest', 'Media type', 'Size'],
                layers.map((l, i) => [String(i + 1), l.digest ?? `(unknown; diff_id ${l.diffId ?? '-'})`, l.mediaType, `${l.size} (${formatBytes(l.size)})`]),
              ),
            );
          } else if (format !== 'raw') {
            ctx.out('no image layers (use --files to list the archive)');
          }
        }),
      ),
    );
}

function header(ctx: Context, snap: Snapshot): void {
  const f = snap.image;
  const format = snap.format ?? 'raw';
  ctx.out(`snapshot ${shortId(snap.id)} (${printable(snap.name)}): ${KIND[format] ?? format}, ${formatBytes(snap.source.size)}${f?.platform ? `, ${printable(f.platform)}` : ''}`);
  if (!f) return;
  const names = imageNames(f);
  if (names.length) ctx.out(`names:    ${names.map((n) => printable(n)).join(', ')}`);
  if (f.manifestDigest) ctx.out(`manifest: ${f.manifestDigest}`);
  if (f.configDigest) ctx.out(`config:   ${f.configDigest}`);
  if (f.others?.length) ctx.out(`images:   ${f.others.length + 1} in the archive (layers of all are listed)`);
  for (const w of f.warnings ?? []) ctx.out(`warning:  ${oneLine(w)}`);
}

async function listLayerFiles(ctx: Context, repo: Repository, snap: Snapshot, units: (LayerFact | undefined)[]): Promise<number | void> {
  let problems = 0;
  if (!ctx.opts.json) header(ctx, snap);
  for (const [i, layer] of units.entries()) {
    const range = layer ?? { offset: 0, length: snap.source.size };
    const label = printable(layer ? (layer.digest ?? layer.path) : 'archive');
    if (!ctx.opts.json) ctx.out(`\n${layer ? `layer ${i + 1} ${label} (${printable(layer.mediaType)}, ${formatBytes(layer.size)})` : 'files of the archive'}`);
    const onEntry = (e: TarEntry) => {
      if (ctx.opts.json) {
        ctx.out(jsonText({ layer: layer ? (layer.digest ?? null) : null, path: e.path, type: e.type, size: e.size, mode: e.mode, ...(e.linkname !== undefined && { linkname: e.linkname }) }));
      } else {
        const link = e.linkname !== undefined ? ` ${e.type === 'symlink' ? '->' : 'link to'} ${printable(e.linkname)}` : '';
        ctx.out(`${modeString(e)} ${String(e.size).padStart(10)}  ${printable(e.path)}${link}`);
      }
    };
    const r = await listFiles(repo, snap, range, onEntry, { signal: ctx.signal });
    if (r.problem) {
      problems++;
      ctx.warn(`${label}: ${r.problem} (listed ${r.entries} entries)`);
    } else if (!ctx.opts.json) {
      ctx.out(`${r.entries} entries${r.compression ? ` (${r.compression}-compressed layer)` : ''}`);
    }
  }
  return problems ? EXIT_WARNINGS : undefined;
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p', other: '?' };

/** "drwxr-xr-x" */
function modeString(e: TarEntry): string {
  const m = e.mode;
  const bit = (b: number, c: string) => (m & b ? c : '-');
  let s = TYPE_CHAR[e.type] ?? '?';
  s += bit(0o400, 'r') + bit(0o200, 'w') + (m & 0o4000 ? (m & 0o100 ? 's' : 'S') : bit(0o100, 'x'));
  s += bit(0o040, 'r') + bit(0o020, 'w') + (m & 0o2000 ? (m & 0o010 ? 's' : 'S') : bit(0o010, 'x'));
  s += bit(0o004, 'r') + bit(0o002, 'w') + (m & 0o1000 ? (m & 0o001 ? 't' : 'T') : bit(0o001, 'x'));
  return s;
}
