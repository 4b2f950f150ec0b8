/**
 * Lock files written by hand into a plaintext repository, as another stowage process would
 * write them (named by the BLAKE3 of their bytes, with the holder's start time and boot id
 * read from /proc, so a lock of a live PID counts as that process's).
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { blake3Hex } from '../../packages/core/src/hash/blake3.js';
import { systemProbe, type LockInfo } from '../../packages/core/src/repository/lock-rules.js';

/** Writes a lock file into `${repo}/locks`; returns its name. */
export function writeLock(repo: string, fields: Partial<LockInfo> & { pid: number }): string {
  const t = new Date().toISOString();
  const start = systemProbe.start(fields.pid);
  const boot = systemProbe.bootId();
  const info: LockInfo = { exclusive: true, hostname: hostname(), username: 'test', time: t, refreshed: t, ...(start && { start }), ...(boot && { boot }), ...fields };
  const bytes = Buffer.from(JSON.stringify(info));
  const name = blake3Hex(bytes);
  fs.writeFileSync(`${repo}/locks/${name}`, bytes);
  return name;
}
