/**
 * Issue 15 item 4: the right snapshot. --name, --tag, --host and --path filter `snapshots`,
 * `restore`, `ls`, `forget`, `check` and `gc --dry-run` with restic's semantics; "latest" is
 * the newest matching snapshot; image archives are named after their image, so date-stamped
 * `docker save` files group together for retention; forget says which grouping it used.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox, seededBytes, type Sandbox } from './helpers/cli.js';

interface Row {
  id: string;
  name: string;
  tags: string[];
  hostname: string;
}

describe('snapshot filters and latest', () => {
  let sb: Sandbox;
  const data: Record<string, Buffer> = {};
  const ids: Record<string, string> = {};
  const list = (...args: string[]) => JSON.parse(sb.run(['--json', 'snapshots', ...args]).stdout) as Row[];

  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
    // oldest first: db (host h1), web (h2), db (h2), web (h1)
    const plan: [string, string, string, string[]][] = [
      ['db1', 'db', 'h1', ['daily', 'prod']],
      ['web1', 'web', 'h2', ['daily']],
      ['db2', 'db', 'h2', ['weekly', 'prod']],
      ['web2', 'web', 'h1', []],
    ];
    for (const [key, name, host, tags] of plan) {
      data[key] = seededBytes(key, 200_000);
      const r = sb.run(['--json', 'snapshot', '-', '--name', name, '--host', host, ...tags.flatMap((t) => ['--tag', t])], { input: data[key] });
      expect(r.code, r.stderr).toBe(0);
      ids[key] = JSON.parse(r.stdout).id;
    }
    fs.writeFileSync(sb.file('file.bin'), seededBytes('file', 100_000));
    const r = sb.run(['--json', 'snapshot', sb.file('file.bin'), '--host', 'h1']);
    expect(r.code, r.stderr).toBe(0);
    ids.file = JSON.parse(r.stdout).id;
  });
  afterAll(() => sb.cleanup());

  it('snapshots: --name and --host are "any of", --tag a,b is "all of", repeated --tag is "any of"', () => {
    expect(list('--name', 'db').map((s) => s.id)).toEqual([ids.db1, ids.db2]);
    expect(list('--name', 'db', '--name', 'web')).toHaveLength(4);
    expect(list('--host', 'h2').map((s) => s.id)).toEqual([ids.web1, ids.db2]);
    expect(list('--tag', 'daily,prod').map((s) => s.id)).toEqual([ids.db1]);
    expect(list('--tag', 'weekly', '--tag', 'daily').map((s) => s.id)).toEqual([ids.db1, ids.web1, ids.db2]);
    expect(list('--tag', '', '--host', 'h1').map((s) => s.id)).toEqual([ids.web2, ids.file]); // no tags at all
    expect(list('--name', 'db', '--host', 'h1').map((s) => s.id)).toEqual([ids.db1]);
    expect(list('--path', sb.file('file.bin')).map((s) => s.id)).toEqual([ids.file]);
    expect(list('--path', '-')).toHaveLength(4);
    const human = sb.run(['snapshots', '--name', 'db']);
    expect(human.stdout).toMatch(/2 snapshots matching name "db"/);
  });

  it('restore latest is the newest matching snapshot, not the newest of the repository', () => {
    const r = sb.run(['restore', 'latest', '-', '--name', 'db']);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(r.stdoutBytes, data.db2!)).toBe(0);
    const h = sb.run(['restore', 'latest', '-', '--name', 'web', '--host', 'h2']);
    expect(Buffer.compare(h.stdoutBytes, data.web1!)).toBe(0);
    const none = sb.run(['restore', 'latest', '-', '--name', 'nope']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no snapshot matches name "nope" \[NOT_FOUND\]/);
  });

  it('ls latest --tag picks the newest match', () => {
    const j = JSON.parse(sb.run(['--json', 'ls', 'latest', '--tag', 'daily']).stdout);
    expect(j.id).toBe(ids.web1);
  });

  it('forget: the policy applies to matching snapshots only and says how it grouped them', () => {
    const r = sb.run(['forget', '--keep-last', '1', '--name', 'db', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/policy applied per name \(--group-by name\), to snapshots matching name "db"/);
    expect(r.stdout).toMatch(/would remove 1 snapshot/);
    const j = JSON.parse(sb.run(['--json', 'forget', '--keep-last', '1', '--host', 'h1', '--group-by', '', '--dry-run']).stdout);
    expect(j.groupBy).toEqual([]);
    expect(j.filter).toEqual({ hosts: ['h1'] });
    expect(j.groups[0].remove.map((x: { id: string }) => x.id).sort()).toEqual([ids.db1, ids.web2].sort());
    expect(j.kept).toBe(3);
  });

  it('check and gc --dry-run take the filters; a real gc refuses them', () => {
    const c = sb.run(['check', '--name', 'db']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/checked 2 snapshots/);
    const g = JSON.parse(sb.run(['--json', 'gc', '--dry-run', '--name', 'db']).stdout);
    expect(g.plan.snapshots).toBe(2);
    expect(g.plan.filtered).toBe(true);
    expect(g.plan.stats.freeBytes).toBeGreaterThan(0); // the others' data would be freed once they were forgotten
    const real = sb.run(['gc', '--name', 'db']);
    expect(real.code).toBe(1);
    expect(real.stderr).toMatch(/dry run only.*\[INVALID_ARGUMENT\]/);
    expect(fs.readdirSync(`${sb.repo}/snapshots`)).toHaveLength(5);
  });
});

describe('image archives are named after their image, so date-stamped files group together', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = sandbox();
    expect(sb.run(['init', '--insecure-no-encryption']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('two docker save files of one image: one group for --keep-last', () => {
    for (const [v, day] of [
      ['1', '27'],
      ['2', '28'],
    ] as const) {
      const file = sb.file(`app-2026-11-${day}.tar`);
      const m = spawnSync('bash', [path.join(ROOT, 'scripts/make-sample-image.sh'), file, v]);
      expect(m.status, m.stderr.toString()).toBe(0);
      const r = sb.run(['snapshot', file, '-q']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(''); // -q: no summary
    }
    const names = (JSON.parse(sb.run(['--json', 'snapshots']).stdout) as Row[]).map((s) => s.name);
    expect(names).toEqual(['sample/app', 'sample/app']);
    const f = sb.run(['forget', '--keep-last', '1', '--dry-run']);
    expect(f.stdout).toMatch(/name "sample\/app": keep 1, remove 1/);
  });
});
