#!/usr/bin/env bash
# Runs the whole test suite (unit tests beside the code, end-to-end tests in test/).
# Sets the machine up first if needed. Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
results=.vitest-results.json
rm -f "$results"
rc=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || rc=$?
if [ -f "$results" ]; then
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' "$results"
fi
exit "$rc"
