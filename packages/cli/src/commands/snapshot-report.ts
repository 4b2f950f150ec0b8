/**
 * What `stowage snapshot` prints about a stored snapshot, whatever it was taken of: the
 * fields and lines every snapshot has (id, name, tags, time, host, bytes read, new, stored,
 * chunks, seconds, parent), for snapshot.ts (a file, stdin, an image) and snapshot-tree.ts
 * (directories), which add their own. Names are escaped for the terminal here.
 */
import type { Snapshot } from '@stowage/core';
import { shortId } from '@stowage/core/internal';
import type { Context } from '../context.js';
import { printable } from '../escape.js';
import { formatBytes, formatRate } from '../format.js';

/** The --json fields every snapshot has (camelCase). */
export function snapshotSummaryJson(s: Snapshot): Record<string, unknown> {
  const sum = s.summary;
  return {
    id: s.id,
    name: s.name,
    tags: s.tags,
    time: s.time,
    hostname: s.hostname,
    bytesRead: sum.bytesRead,
    bytesNew: sum.bytesNew,
    bytesStored: sum.bytesStored,
    chunks: sum.chunks,
    newChunks: sum.newChunks,
    seconds: sum.seconds,
    ...(s.parent && { parent: s.parent }),
  };
}

/** The human summary: "saved" line, `middle` (the caller's lines), read / new / stored, `after` lines, the id. */
export function saySnapshotSummary(ctx: Context, s: Snapshot, parts: { readOf?: string; middle?: readonly string[]; after?: readonly (string | undefined)[] } = {}): void {
  const sum = s.summary;
  ctx.say(`snapshot ${shortId(s.id)} saved (${printable(s.name)}${s.tags.length ? `, tags ${s.tags.map((t) => printable(t)).join(',')}` : ''})`);
  for (const l of parts.middle ?? []) ctx.say(l);
  ctx.say(`  read    ${formatBytes(sum.bytesRead)}${parts.readOf ? ` of ${parts.readOf}` : ''} in ${sum.seconds.toFixed(2)} s (${formatRate(sum.bytesRead, sum.seconds)})`);
  // "new 4.19 MiB after dedup (20 of 27 chunks)" read as a contradiction on a first snapshot: say what the counts are
  const known = sum.chunks - sum.newChunks;
  ctx.say(`  new     ${formatBytes(sum.bytesNew)} to store: ${sum.newChunks} of ${sum.chunks} chunks are new${known ? ` (${known} already stored, or repeated within the input)` : ''}`);
  ctx.say(`  stored  ${formatBytes(sum.bytesStored)} after compression`);
  for (const l of parts.after ?? []) if (l !== undefined) ctx.say(l);
  ctx.say(`  id      ${s.id}`);
}
