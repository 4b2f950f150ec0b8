/**
 * The snapshot filter options every command that chooses snapshots takes (snapshots,
 * restore, ls, forget, check, gc --dry-run), with restic's meanings:
 *
 *   --name <name>    repeatable; any of them
 *   --host <host>    repeatable; any of them
 *   --tag <a,b>      repeatable; a snapshot matches when it has all tags of one --tag
 *                    (--tag a,b --tag c = (a and b) or c; --tag "" = snapshots without tags)
 *   --path <path>    repeatable; the snapshot's input path (made absolute; "-" = stdin)
 *
 * "latest" is then the newest snapshot that matches. The matching itself is the core's
 * (matchesFilter, snapshot/filter.ts), so library users get the same rules.
 */
import * as path from 'node:path';
import type { SnapshotFilter } from '@stowage/core';
import type { Command } from 'commander';
import { collect } from './args.js';

export interface FilterOpts {
  name?: string[];
  host?: string[];
  tag?: string[];
  path?: string[];
}

/** Adds --name, --host, --tag and --path to `cmd`; `lead` says what they do, for help ("only", '"latest" among'). */
export function withFilterOptions(cmd: Command, lead = 'only'): Command {
  return cmd
    .option('--name <name>', `${lead} snapshots of this name (repeatable: any of them)`, collect)
    .option('--host <host>', `${lead} snapshots of this host (repeatable: any of them)`, collect)
    .option('--tag <tag[,tag...]>', `${lead} snapshots with all of these tags (repeatable: any of the lists; "" = no tags)`, collect)
    .option('--path <path>', `${lead} snapshots of this input path (repeatable: all of them; "-" = stdin)`, collect);
}

/** The filter the options give (undefined when none was given). */
export function filterFrom(o: FilterOpts): SnapshotFilter | undefined {
  const f: SnapshotFilter = {
    ...(o.name?.length && { names: o.name }),
    ...(o.host?.length && { hosts: o.host }),
    ...(o.tag?.length && {
      tags: o.tag.map((t) =>
        t
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      ),
    }),
    ...(o.path?.length && { paths: o.path.map((p) => (p === '-' ? '-' : path.resolve(p))) }),
  };
  return Object.keys(f).length ? f : undefined;
}
