/**
 * User and group names of numeric ids, from this system's /etc/passwd and /etc/group
 * (read once; Node has no getpwuid). Unknown ids have no name.
 */
import { readFileSync } from 'node:fs';

function readIds(file: string): Map<number, string> {
  const out = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && !out.has(id)) out.set(id, f[0]!);
  }
  return out;
}

export class OwnerNames {
  private users: Map<number, string> | undefined;
  private groups: Map<number, string> | undefined;

  constructor(private readonly root = '/etc') {}

  user(uid: number): string | undefined {
    this.users ??= readIds(`${this.root}/passwd`);
    return this.users.get(uid);
  }

  group(gid: number): string | undefined {
    this.groups ??= readIds(`${this.root}/group`);
    return this.groups.get(gid);
  }
}
