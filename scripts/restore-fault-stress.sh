#!/usr/bin/env bash
# A long run of the seeded fault-injection restores (packages/core/src/restore/restore-faults.test.ts):
# every restore under injected storage faults must give the bytes as written or a typed error within
# its bound, leave no temp file, and close. The suite runs 6 rounds; this runs many, with a seed.
# usage: bash scripts/restore-fault-stress.sh [rounds (default 120)] [seed (default: random, printed)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-120}
seed=${2:-$RANDOM$RANDOM}
echo "restore fault stress: $rounds rounds, seed $seed (STOWAGE_FAULT_SEED=$seed to run it again)"
STOWAGE_FAULT_ROUNDS=$rounds STOWAGE_FAULT_SEED=$seed exec nice -n 19 pnpm exec vitest run packages/core/src/restore/restore-faults.test.ts -t 'each give the bytes as written'
