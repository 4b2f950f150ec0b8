#!/usr/bin/env bash
# Sets up a fresh machine for Stowage: pnpm 10 (if missing), the workspace's
# packages (zstd-napi builds from source with node-gyp), and the TypeScript build.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  echo "setup: installing pnpm 10" >&2
  npm i -g pnpm@10 >/dev/null
fi
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -v -E '^(Progress|\s*$)' | tail -n 5 >&2 || true
test -e node_modules/.bin/stowage || { echo "setup: pnpm install failed" >&2; exit 1; }
pnpm run -s build
echo "setup: ok (node_modules/.bin/stowage)" >&2
