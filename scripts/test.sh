#!/usr/bin/env bash
# Runs the whole test suite (unit tests beside the code, end-to-end tests in test/).
# Sets the machine up first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec pnpm exec vitest run "$@"
