#!/usr/bin/env node
/**
 * Compiles sha256_pair.c into build/sha256_pair.node with the system's C compiler and
 * Node's own headers (the ones node-gyp builds zstd-napi against), skipped when the addon
 * is newer than its source. Nothing else is needed: a Node-API addon resolves its napi_*
 * symbols from the node binary that loads it.
 *
 * Never fails the build: without a compiler or headers it says so and leaves no addon;
 * index.cjs then exports null and Stowage hashes with node:crypto (two passes) as before.
 * (The test hash/sha256-pair.test.ts fails under CI=true when the addon is missing.)
 *
 * Usage: node packages/sha256-pair/build.mjs [--force]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'sha256_pair.c');
const out = join(here, 'build', 'sha256_pair.node');
if (process.arch !== 'x64') {
  console.error(`sha256-pair: no SHA-NI addon on ${process.arch} (SHA-256 through node:crypto)`);
  process.exit(0);
}
if (!process.argv.includes('--force') && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
const includes = [process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'), join(dirname(process.execPath), '..', 'include', 'node')].filter(
  (d) => d && existsSync(join(d, 'node_api.h')),
);
if (!includes.length) {
  console.error("sha256-pair: Node's headers (node_api.h) not found: addon not built (SHA-256 through node:crypto)");
  process.exit(0);
}
mkdirSync(join(here, 'build'), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
try {
  execFileSync(process.env.CC || 'cc', ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', '-Wall', '-I', includes[0], '-o', tmp, src], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, out);
} catch (err) {
  console.error(`sha256-pair: addon not built (${err.message.split('\n')[0]}): SHA-256 through node:crypto`);
}
