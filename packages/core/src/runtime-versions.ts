/**
 * What this build is made of, for `stowage version` and bug reports: the repository format
 * version it reads and writes, Node's version, and the versions of the native modules the
 * core loads (zstd-napi with the zstd library it was built with, @napi-rs/blake-hash, and
 * level's classic-level, the LevelDB binding of the index cache).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { FORMAT_VERSION } from './repository/config.js';

export interface RuntimeVersions {
  /** The repository format version this build reads and writes. */
  readonly repositoryFormat: number;
  readonly node: string;
  /** Package name -> version ("unavailable: <why>" when it cannot be loaded). */
  readonly modules: Record<string, string>;
  /** The zstd library inside zstd-napi. */
  readonly zstd?: string;
}

/** The version in the package.json of the package `name` resolves to (from `req`'s location). */
function packageVersion(req: NodeJS.Require, name: string): { version: string; dir: string } | undefined {
  let dir = path.dirname(req.resolve(name));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return { version: pkg.version, dir };
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Versions of the running build; `from` is a module URL to resolve the packages from (default: the core's). */
export function runtimeVersions(from: string = import.meta.url): RuntimeVersions {
  const req = createRequire(from);
  const modules: Record<string, string> = {};
  const look = (r: NodeJS.Require, name: string) => {
    try {
      const v = packageVersion(r, name);
      modules[name] = v?.version ?? 'unknown';
      return v;
    } catch (err) {
      modules[name] = `unavailable: ${(err as Error).message.split('\n')[0]}`;
      return undefined;
    }
  };
  look(req, 'zstd-napi');
  look(req, '@napi-rs/blake-hash');
  look(req, 'sodium-native');
  const level = look(req, 'level');
  if (level) look(createRequire(path.join(level.dir, 'package.json')), 'classic-level');
  let zstd: string | undefined;
  try {
    zstd = (req('zstd-napi/binding') as { versionString(): string }).versionString();
  } catch {
    zstd = undefined;
  }
  return { repositoryFormat: FORMAT_VERSION, node: process.version, modules, ...(zstd && { zstd }) };
}
